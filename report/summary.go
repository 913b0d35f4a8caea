package report

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bulklink/bulklink/schema"
)

// Summary is a run's totals: printed at the end and written beside the report as
// <report>.summary.json. Add and Resume may run while another goroutine reads the counts
// with Counts or writes the file (progress, metrics); the other fields are set by the
// goroutine that owns the summary.
type Summary struct {
	mu sync.Mutex // guards ByStatus, ByErrorCode and Rows while the command runs

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
	Checks      int64            `json:"verifications"` // AdminGetUser calls: to settle an answer, or to read a row first
	// CallsByKind counts every call this command made, by operation (AdminLinkProviderForUser,
	// AdminGetUser, DescribeUserPool...), every attempt counted.
	CallsByKind map[string]int64 `json:"calls_by_kind,omitempty"`
	// ReadFirst counts the rows read before their write (--read-first).
	ReadFirst int64 `json:"read_first_rows,omitempty"`
	Resumed   int64 `json:"resumed_rows"` // rows the report held when this run started
	Skipped   int64 `json:"skipped_rows"` // rows --only left out
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
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Rows++
	s.ByStatus[r.Status]++
	if r.ErrorCode != "" {
		s.ByErrorCode[r.ErrorCode]++
	}
}

// Resume starts the summary from the records a resumed report holds: the summary is of
// the whole report.
func (s *Summary) Resume(j *Journal) {
	s.mu.Lock()
	defer s.mu.Unlock()
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
func (s *Summary) Count(st Status) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ByStatus[st]
}

// Counts returns copies of the records counted so far, by status and by error code; it may
// be called while records are added.
func (s *Summary) Counts() (rows int64, byStatus map[Status]int64, byErrorCode map[string]int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Rows, maps.Clone(s.ByStatus), maps.Clone(s.ByErrorCode)
}

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

// ReadSummary reads the summary written beside the report at path (SummaryPath), as
// ReadMeta reads the meta: a file of ours, never a link or a FIFO.
func ReadSummary(report string) (*Summary, error) {
	var s Summary
	if err := readJSON(SummaryPath(report), &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// WriteFile writes the summary as JSON to path, atomically and readable by its owner only.
func (s *Summary) WriteFile(path string) error {
	s.mu.Lock()
	b, err := json.MarshalIndent(s, "", "  ")
	s.mu.Unlock()
	if err == nil {
		err = writeFileAtomic(path, append(b, '\n'), summaryKind)
	}
	if err != nil {
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
	return writeFileAtomic(path, append(b, '\n'), k)
}

// writeFileAtomic writes b to path as writeJSON does.
func writeFileAtomic(path string, b []byte, k fileKind) error {
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
	if _, err = tmp.Write(b); err == nil {
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

// Print writes the summary for a person: what was done, how it ended, and what to do next.
func (s *Summary) Print(w io.Writer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	done := s.Rows - s.Resumed
	fmt.Fprintf(w, "%s: %s in %s", s.Command, Plural(done, "row"), HumanDuration(s.Seconds))
	if s.Seconds >= 1 && done > 0 {
		fmt.Fprintf(w, " (%.1f rows/s)", s.RowsPerSec)
	}
	fmt.Fprintln(w)
	if s.Resumed > 0 {
		fmt.Fprintf(w, "  resumed a report that held %s: %s in all\n", Plural(s.Resumed, "row"), Plural(s.Rows, "row"))
	}
	if s.Skipped > 0 {
		if s.Command == string(schema.Undo) {
			fmt.Fprintf(w, "  %s of the run's report left alone: not linked by the run\n", Plural(s.Skipped, "row"))
		} else {
			fmt.Fprintf(w, "  %s left out by --only\n", Plural(s.Skipped, "row"))
		}
	}
	if s.PoolChecks != "" {
		fmt.Fprintf(w, "  pool checks: %s\n", s.PoolChecks)
	}
	WriteCounts(w, "  ", s.ByStatus, s.ByErrorCode, func(n int64) string { return strconv.FormatInt(n, 10) })
	if s.Calls > 0 || s.ReadFirst > 0 {
		fmt.Fprintf(w, "  calls %d, retries %d, throttled %d, verified %d", s.Calls, s.Retries, s.Throttles, s.Checks)
		if s.ReadFirst > 0 {
			fmt.Fprintf(w, " (%d rows read first)", s.ReadFirst)
		}
		fmt.Fprintln(w)
	}
	if s.PredictedCalls > 0 {
		d := "unpaced"
		if s.PredictedSeconds > 0 {
			d = "about " + time.Duration(s.PredictedSeconds*float64(time.Second)).Round(time.Second).String() + " at --rate"
		}
		fmt.Fprintf(w, "  run would make %d write calls (%s), read %d users to tell\n", s.PredictedCalls, d, s.Checks)
	}
	if s.Aborted != "" {
		switch s.State {
		case StateStopped:
			fmt.Fprintf(w, "  %s (exit %d)", s.Aborted, s.ExitCode)
		default:
			fmt.Fprintf(w, "  aborted (exit %d): %s", s.ExitCode, s.Aborted)
		}
		if s.Report != "" {
			fmt.Fprint(w, "; the report is consistent: run the same command to resume")
		}
		fmt.Fprintln(w)
	}
	if s.Report != "" {
		fmt.Fprintf(w, "  report: %s\n", s.Report)
		WriteSeeRows(w, s.Report, s.ByStatus)
	}
}

// WriteCounts writes outcome counts as the summaries show them: a line a status, in the
// schema's order, indented by indent, then the error codes under "  errors:", indented
// by four; num writes a count. Summary.Print and bulklink report both show counts this way.
func WriteCounts(w io.Writer, indent string, byStatus map[Status]int64, byCode map[string]int64, num func(int64) string) {
	for _, st := range StatusOrder(byStatus) {
		fmt.Fprintf(w, "%s%-15s %s\n", indent, st, num(byStatus[st]))
	}
	if len(byCode) > 0 {
		fmt.Fprintf(w, "  errors:\n")
		for _, c := range sortedKeys(byCode) {
			fmt.Fprintf(w, "    %-32s %s\n", c, num(byCode[c]))
		}
	}
}

// WriteSeeRows writes the command that shows the rows of path whose status is not a
// success, when there are any.
func WriteSeeRows(w io.Writer, path string, byStatus map[Status]int64) {
	var bad []string
	for _, st := range StatusOrder(byStatus) {
		if !st.OK() && byStatus[st] > 0 {
			bad = append(bad, string(st))
		}
	}
	if len(bad) > 0 {
		fmt.Fprintf(w, "  see those rows: bulklink report %s --status %s\n", path, strings.Join(bad, ","))
	}
}

// Plural returns n and noun, in the plural unless n is 1: "1 row", "2 rows".
func Plural(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// HumanDuration renders seconds as a person reads them: 3ms, 1.2s, 4m12s.
func HumanDuration(seconds float64) string {
	d := time.Duration(seconds * float64(time.Second))
	switch {
	case d < time.Millisecond:
		return "under 1ms"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// StatusOrder returns the statuses of m in the order of the schema's table, outcomes that
// went well first, then any other alphabetically.
func StatusOrder[V any](m map[Status]V) []Status {
	var out []Status
	for _, ok := range []bool{true, false} {
		for _, i := range schema.Statuses {
			if _, in := m[i.Status]; in && i.OK == ok {
				out = append(out, i.Status)
			}
		}
	}
	for _, st := range sortedKeys(m) {
		if !st.Known() {
			out = append(out, st)
		}
	}
	return out
}

func sortedKeys[K ~string, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b K) int { return strings.Compare(string(a), string(b)) })
	return keys
}
