package emulator

import "time"

// NewServerLimited is NewServer with other bounds on its connections: read is the time a
// client has to send a request, maxConns how many connections are served at once.
func NewServerLimited(opt Options, read time.Duration, maxConns int) *Server {
	e := New(opt)
	e.limits = connLimits{readHeader: read, read: read, idle: read, maxConns: maxConns}
	return startServer(e)
}
