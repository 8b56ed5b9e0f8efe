package control

// SetCrashPoint makes l call f at its crash points (see
// Lifecycle.crashPoint); a test's child process kills itself there.
func SetCrashPoint(l *Lifecycle, f func(point string)) { l.crashPoint = f }
