package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/bulklink/bulklink/job"
	"github.com/bulklink/bulklink/report"
)

// Exit codes, as README.md (Exit codes) lists them.
const (
	exitOK      = 0   // every row linked or already linked (validate: every row valid)
	exitRows    = 1   // the run finished, and some rows failed or were invalid
	exitUsage   = 2   // bad flags, unreadable input, a report of another input
	exitFatal   = 3   // aborted by a fatal condition; the run can be resumed
	exitLocked  = 75  // another run holds the report's lock
	exitSIGINT  = 130 // stopped by SIGINT after draining; resumable
	exitSIGTERM = 143 // stopped by SIGTERM after draining; resumable
)

// usageError is a mistake in the command line or configuration: exit 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// signalError is the cause of a run's cancellation by a signal.
type signalError struct{ sig os.Signal }

func (e signalError) Error() string { return "stopped by " + signalName(e.sig) }

// signalName names a signal as operators know it: SIGINT (Ctrl-C), SIGTERM.
func signalName(sig os.Signal) string {
	switch sig {
	case os.Interrupt:
		return "SIGINT (Ctrl-C)"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return sig.String()
}

func signalExitCode(sig os.Signal) int {
	if sig == syscall.SIGTERM {
		return exitSIGTERM
	}
	return exitSIGINT
}

// exitCode maps the error that ended a command to its exit code; failed is whether any row
// ended failed or invalid.
func exitCode(ctx context.Context, err error, failed bool) int {
	var (
		ue usageError
		fe *job.FatalError
		se signalError
		le *report.LockedError
	)
	switch {
	case err != nil && errors.As(context.Cause(ctx), &se):
		return signalExitCode(se.sig) // whatever the stop interrupted

	case err == nil && failed:
		return exitRows
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		return exitUsage
	case errors.As(err, &le):
		return exitLocked
	case errors.As(err, &fe):
		return exitFatal
	}
	return exitFatal
}

// stateOf is the summary's state for an exit code.
func stateOf(code int) string {
	switch code {
	case exitOK, exitRows:
		return report.StateFinished
	case exitSIGINT, exitSIGTERM:
		return report.StateStopped
	}
	return report.StateAborted
}
