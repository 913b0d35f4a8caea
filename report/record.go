// Package report owns bulklink's report files: the per-row results a command writes, the
// files beside them (lock, meta, summary), and their whole life: creating a report in an order
// that survives a crash at any step, resuming one (its records read back, a torn last one cut
// off), refusing one that belongs to another input or target, and selecting the rows a run
// still has to do. run, validate and undo share it; the format is in docs/report.md.
//
// A report holds exactly one record per input row, in the order rows finish. Its columns
// (CSV) or keys (JSONL) are schema.Columns; carried-through input columns follow them. A report
// is itself a valid input file for bulklink.
package report

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/bulklink/bulklink/input"
	"github.com/bulklink/bulklink/schema"
)

// Status is a row's final outcome (schema.Status).
type Status = schema.Status

// The statuses, as the schema declares them.
const (
	Linked        = schema.Linked
	Merged        = schema.Merged
	AlreadyLinked = schema.AlreadyLinked
	Failed        = schema.Failed
	Invalid       = schema.Invalid
	Valid         = schema.Valid
	Unlinked      = schema.Unlinked
	NotLinked     = schema.NotLinked
)

// Record is one row's result.
type Record struct {
	Line         int
	Status       Status
	ErrorCode    string
	ErrorMessage string
	Attempts     int
	Request      input.Request
	Duration     time.Duration
	FinishedAt   time.Time
	// Merge is what a merged row deleted and linked to (run --merge-signed-in); nil on
	// other rows.
	Merge *Merge
	Extra []input.Field
}

// Merge is what a merged row changed: the profile it deleted, and the user the identity is
// linked to now.
type Merge struct {
	Username       string // the profile deleted, <Provider>_<id>
	Sub            string // its sub, gone with it
	DestinationSub string // the destination's sub
}

// merge is r's Merge, or the zero Merge.
func (r *Record) merge() Merge {
	if r.Merge == nil {
		return Merge{}
	}
	return *r.Merge
}

// column returns the value of one of the report's own columns, as a CSV report writes it.
func (r *Record) column(name string) string {
	q := &r.Request
	switch name {
	case schema.ColLine:
		return strconv.Itoa(r.Line)
	case schema.ColStatus:
		return string(r.Status)
	case schema.ColErrorCode:
		return r.ErrorCode
	case schema.ColErrorMessage:
		return r.ErrorMessage
	case schema.ColAttempts:
		return strconv.Itoa(r.Attempts)
	case schema.ColUserPoolID:
		return q.UserPoolID
	case schema.ColDestinationProvider:
		return q.DestinationProvider
	case schema.ColDestinationUser:
		return q.DestinationUser
	case schema.ColSourceProvider:
		return q.SourceProvider
	case schema.ColSourceAttribute:
		return q.SourceAttribute
	case schema.ColSourceValue:
		return q.SourceValue
	case schema.ColDurationMS:
		return strconv.FormatInt(r.Duration.Milliseconds(), 10)
	case schema.ColFinishedAt:
		return formatTime(r.FinishedAt)
	}
	panic("report: no column " + name)
}

// Format is a report's encoding.
type Format string

// Report formats.
const (
	CSV   Format = "csv"
	JSONL Format = "jsonl"
)

// FormatOf infers a report's format from its file name.
func FormatOf(path string) (Format, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		return CSV, nil
	case ".jsonl", ".ndjson":
		return JSONL, nil
	}
	return "", fmt.Errorf("report %q: cannot tell the format from its extension: use .csv, .jsonl or .ndjson", path)
}

// timeLayout is how finished_at is written: UTC, millisecond precision.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeLayout)
}
