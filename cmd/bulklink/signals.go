package main

import (
	"context"
	"os"
)

// withSignals turns the first SIGINT or SIGTERM into a gentle stop (stop ends, with a
// signalError as its cause: take no more rows, let rows in flight finish, flush) and the
// second into an abort (kill ends: calls in flight are cut, the report is still flushed).
// A third exits at once. stop is derived from kill.
func withSignals(parent context.Context, sigs <-chan os.Signal) (stop, kill context.Context, release func()) {
	kill, abort := context.WithCancel(parent)
	stop, halt := context.WithCancelCause(kill)
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
				os.Exit(signalExitCode(sig))
			}
		}
	}()
	return stop, kill, func() { close(done); abort() }
}
