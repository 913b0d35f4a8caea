package emulator

import "time"

// NewServerAt is NewServer with a clock for quotas and dates.
func NewServerAt(opt Options, now func() time.Time) *Server {
	e := New(opt)
	e.now = now
	return startServer(e)
}
