package report

import (
	"strings"
	"testing"
)

// TestUnsafeFileErrorAdvice: a refusal says what to do about it: a planted file is removed
// or avoided; another user's is read as that user (bulklink report run by root on a cron
// user's report, say), not removed.
func TestUnsafeFileErrorAdvice(t *testing.T) {
	for _, tt := range []struct{ reason, advice string }{
		{"is not a regular file (a FIFO)", "remove it or choose another path"},
		{"is a symbolic link", "remove it or choose another path"},
		{"belongs to user 998, not to this one (0)", "run bulklink as that user, or choose another path"},
	} {
		msg := (&UnsafeFileError{"r.csv", tt.reason}).Error()
		if want := "r.csv " + tt.reason + ": bulklink reads and writes only files of its own; " + tt.advice; msg != want {
			t.Errorf("got %q, want %q", msg, want)
		}
		if strings.Count(msg, "r.csv") != 1 {
			t.Errorf("%q names the file more than once", msg)
		}
	}
}
