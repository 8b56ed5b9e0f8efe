package local

// SetCrashAt makes d call f at each point of its operations where a caller
// killed would leave work half done ("create-intent", "create-started",
// "unpark-intent", "unpark-started", "dataplane-started"), so that a test
// can kill the caller exactly there.
func SetCrashAt(d *Driver, f func(point string)) { d.crashAt = f }
