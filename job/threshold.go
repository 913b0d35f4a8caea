package job

import (
	"fmt"

	"github.com/bulklink/bulklink/schema"
)

// Threshold is how many failed rows a run tolerates before it stops: a count, or a share of
// the rows finished once at least MinRows have. The zero Threshold tolerates any number.
type Threshold struct {
	Counted bool    // Count is set
	Count   int64   // with Counted, stop once more than Count rows failed (0: at the first)
	Ratio   float64 // stop once more than this share of finished rows failed; 0: no ratio limit
	MinRows int64   // the ratio is judged only after this many rows
}

// DefaultMinRows is how many rows a ratio threshold waits for.
const DefaultMinRows = 100

// exceeded returns the fatal error that stops the run once failed of rows exceed t.
func (t Threshold) exceeded(failed, rows int64) *FatalError {
	switch {
	case t.Counted && failed > t.Count:
		return &FatalError{Code: schema.FailureThreshold, Message: fmt.Sprintf(
			"%d rows failed, more than --max-failures %d: fix the cause (see the report), then run the same command again to resume", failed, t.Count)}
	case t.Ratio > 0 && rows >= max(t.MinRows, 1) && float64(failed) > t.Ratio*float64(rows):
		return &FatalError{Code: schema.FailureThreshold, Message: fmt.Sprintf(
			"%d of %d rows failed, more than --max-failures %g%%: fix the cause (see the report), then run the same command again to resume",
			failed, rows, 100*t.Ratio)}
	}
	return nil
}
