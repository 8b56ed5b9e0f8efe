package coredns

// SetAfterRead makes f run between Apply's read and its writes.
func SetAfterRead(p *Provider, f func()) { p.afterRead = f }
