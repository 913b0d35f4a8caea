package emulator

import "time"

// NewServerAt is NewServer with a clock for quotas and dates.
func NewServerAt(opt Options, now func() time.Time) *Server {
	e := New(opt)
	e.now = now
	return startServer(e)
}

// NewServerLimited is NewServer with other bounds on its connections: read is the time a
// client has to send a request, maxConns how many connections are served at once.
func NewServerLimited(opt Options, read time.Duration, maxConns int) *Server {
	e := New(opt)
	e.limits = connLimits{readHeader: read, read: read, idle: read, maxConns: maxConns}
	return startServer(e)
}

// AdvanceTraffic makes the simulated application's calls due by the emulator's clock, as
// its goroutine does when it wakes up: with a clock that moves only when a test says so,
// the test makes them due.
func (e *Emulator) AdvanceTraffic() { e.advanceTraffic(e.clock()) }
