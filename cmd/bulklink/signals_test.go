package main

import (
	"context"
	"errors"
	"os"
	"syscall"
	"testing"
)

// TestSignalHub: a signal no command has claimed ends the process with its code; a claimed
// one stops the command gently, the second aborts it, the third exits; once released, a
// signal ends the process again.
func TestSignalHub(t *testing.T) {
	t.Parallel()
	in := make(chan os.Signal)
	exits := make(chan int, 1)
	hub := newSignalHub(in, func(code int) { exits <- code })
	defer close(in)

	in <- syscall.SIGTERM
	if code := <-exits; code != exitSIGTERM {
		t.Errorf("unclaimed SIGTERM: exit %d, want %d", code, exitSIGTERM)
	}

	stop, kill, release := withSignals(t.Context(), hub)
	in <- os.Interrupt
	<-stop.Done()
	var se signalError
	if !errors.As(context.Cause(stop), &se) || se.sig != os.Interrupt || kill.Err() != nil {
		t.Errorf("first signal: stop's cause %v, kill %v; want SIGINT, kill going on", context.Cause(stop), kill.Err())
	}
	in <- os.Interrupt
	<-kill.Done()
	in <- syscall.SIGTERM
	if code := <-exits; code != exitSIGTERM {
		t.Errorf("third signal: exit %d, want %d", code, exitSIGTERM)
	}
	release()

	in <- os.Interrupt
	if code := <-exits; code != exitSIGINT {
		t.Errorf("SIGINT after release: exit %d, want %d", code, exitSIGINT)
	}
	select {
	case code := <-exits:
		t.Errorf("an exit too many: %d", code)
	default:
	}

	var nilHub *signalHub
	stop, _, release = withSignals(t.Context(), nilHub)
	release()
	if context.Cause(stop) != context.Canceled {
		t.Errorf("a nil hub's stop, released: %v", context.Cause(stop))
	}
}
