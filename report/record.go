// Package report writes bulklink's per-row results and its run summary.
//
// A report holds exactly one record per input row, in the order rows finish. Its columns
// (CSV) or keys (JSONL) are fixed by SPEC.md; input columns bulklink does not use follow
// them unchanged. A report is itself a valid input file for bulklink.
package report

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/bulklink/bulklink/input"
)

// Status is a row's final outcome.
type Status string

// Statuses of the run, validate and undo commands.
const (
	Linked        Status = "linked"         // this run made the link
	AlreadyLinked Status = "already_linked" // the link already existed, confirmed by reading the user
	Failed        Status = "failed"         // refused for good, or retries ran out
	Invalid       Status = "invalid"        // rejected before any call
	Valid         Status = "valid"          // validate: the row would be sent
	Unlinked      Status = "unlinked"       // undo: this run removed the link
	NotLinked     Status = "not_linked"     // undo: there was no link to remove
)

// OK reports whether the status counts as success for the exit code.
func (s Status) OK() bool {
	switch s {
	case Linked, AlreadyLinked, Valid, Unlinked, NotLinked:
		return true
	}
	return false
}

// Columns are the report's own columns, in order. Carried-through input columns follow.
var Columns = []string{
	"line", "status", "error_code", "error_message", "attempts",
	"user_pool_id", "destination_provider", "destination_user",
	"source_provider", "source_attribute", "source_value",
	"duration_ms", "finished_at",
}

// ExtraColumn holds, in a CSV report of a JSONL input, the input's unknown keys as one
// JSON object: JSONL records need not share keys, so they cannot become CSV columns.
const ExtraColumn = "extra"

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
	Extra        []input.Field
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
