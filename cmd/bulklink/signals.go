package main

import (
	"context"
	"os"
	"sync"
)

// signalHub hands the process's SIGINT and SIGTERM to the command that stops gently on them
// (withSignals claims them: run, validate, undo, emulate). Until a command claims them, and
// once it has released them, a signal ends the process at once with its exit code, 130 or
// 143: a command that only reads and prints (report, version, help) has nothing to drain, and
// no command may go on through a signal, wherever it blocks (a pipe nobody reads, a file
// that does not answer). main makes the hub; a nil hub, in tests, sends no signal.
type signalHub struct {
	mu   sync.Mutex
	to   chan os.Signal // the claiming command's; nil while none has
	exit func(code int)
}

// newSignalHub routes the signals received on in; exit ends the process (os.Exit).
func newSignalHub(in <-chan os.Signal, exit func(code int)) *signalHub {
	h := &signalHub{exit: exit}
	go func() {
		for sig := range in {
			h.mu.Lock()
			select {
			case h.to <- sig: // a nil channel never takes it
			default:
				// No command handles signals, or it has three pending already.
				h.exit(signalExitCode(sig))
			}
			h.mu.Unlock()
		}
	}()
	return h
}

// claim hands the signals to the caller until release; a nil hub's channel never delivers.
func (h *signalHub) claim() (sigs <-chan os.Signal, release func()) {
	if h == nil {
		return nil, func() {}
	}
	ch := make(chan os.Signal, 3)
	h.mu.Lock()
	h.to = ch
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		h.to = nil
		h.mu.Unlock()
	}
}

// withSignals claims the hub's signals: it turns the first SIGINT or SIGTERM into a gentle
// stop (stop ends, with a signalError as its cause: take no more rows, let rows in flight
// finish, flush) and the second into an abort (kill ends: calls in flight are cut, the report
// is still flushed). A third exits at once. stop is derived from kill. After release, a
// signal ends the process at once, as before the claim.
func withSignals(parent context.Context, hub *signalHub) (stop, kill context.Context, release func()) {
	kill, abort := context.WithCancel(parent)
	stop, halt := context.WithCancelCause(kill)
	sigs, unclaim := hub.claim()
	done := make(chan struct{})
	go func() {
		for n := 0; ; n++ {
			var sig os.Signal
			select {
			case sig = <-sigs:
			case <-done:
				return
			}
			switch n {
			case 0:
				halt(signalError{sig})
			case 1:
				abort()
			default:
				hub.exit(signalExitCode(sig))
			}
		}
	}()
	return stop, kill, func() { unclaim(); close(done); abort() }
}
