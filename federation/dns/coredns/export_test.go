package coredns

// SetAfterRead makes f run between Apply's read and its writes.
func SetAfterRead(p *Provider, f func()) { p.afterRead = f }

// UnitBatches cuts names into Apply's batches.
var UnitBatches = unitBatches
