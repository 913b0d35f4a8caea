package report

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Summary is a run's totals: printed at the end and written beside the report as
// <report>.summary.json.
type Summary struct {
	Command     string           `json:"command"`
	Input       string           `json:"input"`
	Report      string           `json:"report,omitempty"`
	StartedAt   time.Time        `json:"started_at"`
	FinishedAt  time.Time        `json:"finished_at"`
	Seconds     float64          `json:"duration_seconds"`
	Rows        int64            `json:"rows"`
	ByStatus    map[Status]int64 `json:"by_status"`
	ByErrorCode map[string]int64 `json:"by_error_code"`
	RowsPerSec  float64          `json:"rows_per_second"`
	Calls       int64            `json:"calls"`         // write calls sent, every attempt counted
	Throttles   int64            `json:"throttles"`     // calls answered TooManyRequestsException
	Retries     int64            `json:"retries"`       // attempts beyond each row's first
	Checks      int64            `json:"verifications"` // AdminGetUser calls that settled an ambiguous answer
	Resumed     int64            `json:"resumed_rows"`  // rows the report held when this run started
	Skipped     int64            `json:"skipped_rows"`  // rows --only left out
	// PoolChecks says whether validate read the pools for the trust checks: done, or
	// skipped and why.
	PoolChecks string `json:"pool_checks,omitempty"`
	// With validate --predict: the write calls run would make (one per valid row, retries
	// aside) and how long they would take at --rate.
	PredictedCalls   int64   `json:"predicted_write_calls,omitempty"`
	PredictedSeconds float64 `json:"predicted_seconds,omitempty"`
	Aborted          string  `json:"aborted,omitempty"`
	// State says whether the command is running (the summary is written when it starts, so
	// that a killed run does not leave the previous one's behind) or how it ended.
	State    string `json:"state"`
	ExitCode int    `json:"exit_code"`
}

// The states of a summary.
const (
	StateRunning  = "running"  // the command has not ended (or was killed)
	StateFinished = "finished" // every row has a record (exit 0 or 1)
	StateStopped  = "stopped"  // stopped by a signal; resumable
	StateAborted  = "aborted"  // stopped by a fatal condition or an error
)

// NewSummary starts a summary.
func NewSummary(command string, start time.Time) *Summary {
	return &Summary{
		Command:     command,
		StartedAt:   start.UTC(),
		ByStatus:    map[Status]int64{},
		ByErrorCode: map[string]int64{},
	}
}

// Add counts one record.
func (s *Summary) Add(r *Record) {
	s.Rows++
	s.ByStatus[r.Status]++
	if r.ErrorCode != "" {
		s.ByErrorCode[r.ErrorCode]++
	}
}

// Resume starts the summary from the records a resumed report holds: the summary is of
// the whole report.
func (s *Summary) Resume(j *Journal) {
	s.Resumed = j.Records
	s.Rows += j.Records
	for st, n := range j.Summary {
		s.ByStatus[st] += n
	}
	for c, n := range j.Codes {
		s.ByErrorCode[c] += n
	}
}

// Predict fills in what run would take: a write call per valid row, at rate calls per second
// (≤ 0: unlimited).
func (s *Summary) Predict(rate float64) {
	s.PredictedCalls = s.ByStatus[Valid]
	if rate > 0 {
		s.PredictedSeconds = float64(s.PredictedCalls) / rate
	}
}

// Count returns the number of records with status st.
func (s *Summary) Count(st Status) int64 { return s.ByStatus[st] }

// Finish stamps the end time and derived figures.
func (s *Summary) Finish(end time.Time) {
	s.FinishedAt = end.UTC()
	d := s.FinishedAt.Sub(s.StartedAt)
	s.Seconds = d.Seconds()
	if s.Seconds > 0 {
		s.RowsPerSec = float64(s.Rows-s.Resumed) / s.Seconds
	}
}

// SummaryPath is where the summary of the report at path is written.
func SummaryPath(report string) string { return report + ".summary.json" }

// WriteFile writes the summary as JSON to path, atomically and readable by its owner only.
func (s *Summary) WriteFile(path string) error {
	if err := writeJSON(path, s, summaryKind); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	return nil
}

// writeJSON writes v as indented JSON to path atomically (a synced temporary file renamed
// over it), readable by its owner only. A path that is a link, another user's file or a
// file that is not of kind k is refused, not replaced.
func writeJSON(path string, v any, k fileKind) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := checkReplaceable(path); err != nil {
		return err
	}
	if err := checkOurs(path, k); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if _, err = tmp.Write(append(b, '\n')); err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err == nil {
		err = syncDir(path)
	}
	return err
}

// Print writes the summary for a person.
func (s *Summary) Print(w io.Writer) {
	fmt.Fprintf(w, "%s: %d rows in %s (%.1f rows/s)\n", s.Command, s.Rows-s.Resumed,
		time.Duration(s.Seconds*float64(time.Second)).Round(time.Millisecond), s.RowsPerSec)
	if s.Resumed > 0 {
		fmt.Fprintf(w, "  resumed a report of %d rows: %d rows in all\n", s.Resumed, s.Rows)
	}
	if s.Skipped > 0 {
		fmt.Fprintf(w, "  %d rows left out by --only\n", s.Skipped)
	}
	if s.PoolChecks != "" {
		fmt.Fprintf(w, "  pool checks: %s\n", s.PoolChecks)
	}
	for _, st := range sortedKeys(s.ByStatus) {
		fmt.Fprintf(w, "  %-15s %d\n", st, s.ByStatus[st])
	}
	if len(s.ByErrorCode) > 0 {
		fmt.Fprintf(w, "  errors:\n")
		for _, c := range sortedKeys(s.ByErrorCode) {
			fmt.Fprintf(w, "    %-32s %d\n", c, s.ByErrorCode[c])
		}
	}
	if s.Calls > 0 {
		fmt.Fprintf(w, "  calls %d, retries %d, throttled %d, verified %d\n", s.Calls, s.Retries, s.Throttles, s.Checks)
	}
	if s.PredictedCalls > 0 {
		d := "unpaced"
		if s.PredictedSeconds > 0 {
			d = "about " + time.Duration(s.PredictedSeconds*float64(time.Second)).Round(time.Second).String() + " at --rate"
		}
		fmt.Fprintf(w, "  run would make %d write calls (%s), read %d users to tell\n", s.PredictedCalls, d, s.Checks)
	}
	if s.Aborted != "" {
		fmt.Fprintf(w, "  aborted: %s\n", s.Aborted)
	}
	if s.Report != "" {
		fmt.Fprintf(w, "  report: %s\n", s.Report)
	}
}

func sortedKeys[K ~string, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b K) int { return strings.Compare(string(a), string(b)) })
	return keys
}
