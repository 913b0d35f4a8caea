package emulator

import "time"

// NewServerAt is NewServer with a clock for quotas, dates and the usage counters: a test
// that moves now itself reads CloudWatch's per-minute usage, or refills the quotas,
// without sleeping. The simulated application traffic follows that clock too; its
// goroutine notices a move within a second, AdvanceTraffic at once.
func NewServerAt(opt Options, now func() time.Time) *Server {
	e := New(opt)
	e.now = now
	return startServer(e)
}

// AdvanceTraffic makes the simulated application's calls due by the emulator's clock, as
// its goroutine does when it wakes up: with a clock that moves only when a test says so,
// the test makes them due.
func (e *Emulator) AdvanceTraffic() { e.advanceTraffic(e.clock()) }
