package call

import (
	"errors"
	"fmt"
)

// FatalError stops a run: a condition no call can succeed under, such as a missing pool or
// credentials that are refused. The report stays consistent and the run can be resumed.
type FatalError struct {
	Line    int    // the row whose call revealed it; 0 when none did
	Code    string // Cognito's error code, or one of bulklink's (CredentialsError, ConfigError...)
	Message string
	Err     error
}

func (e *FatalError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.Code, e.Message)
	}
	return fmt.Sprintf("%s: %s (row at line %d)", e.Code, e.Message, e.Line)
}

func (e *FatalError) Unwrap() error { return e.Err }

// ErrCancelled reports a call given up without an outcome: its context ended before it was
// sent, or while it was (the answer is lost). A row given up so yields no record, and a
// resumed run settles it.
var ErrCancelled = errors.New("call cancelled")
