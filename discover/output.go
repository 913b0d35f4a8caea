package discover

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bulklink/bulklink/report"
	"github.com/bulklink/bulklink/schema"
)

// The columns of the output: the request's, in the order a report has them, then what the
// users were matched by. An input's unknown columns are carried through to run's report, so
// that a person reading it sees why each row is there.
const (
	ColEmail          = "email"           // the destination's email, as listed
	ColSourceUsername = "source_username" // Duplicates: the profile the identity signed in as
	// ColUnverified is "true" on a row emitted with an unverified email; only with
	// --allow-unverified-email.
	ColUnverified = "unverified_email"
)

// RefusedColumns are the columns of the refused file.
var RefusedColumns = []string{"user_pool_id", "username", "email", "candidate", "code", "message"}

// requestColumns are the request's columns, in a report's order.
var requestColumns = []string{schema.ColUserPoolID, schema.ColDestinationProvider, schema.ColDestinationUser,
	schema.ColSourceProvider, schema.ColSourceAttribute, schema.ColSourceValue}

// Columns are the columns of the output of a query.
func (q *Query) Columns() []string {
	cols := append(slices.Clone(requestColumns), ColEmail)
	if q.Mode == Duplicates {
		cols = append(cols, ColSourceUsername)
	}
	if q.AllowUnverified {
		cols = append(cols, ColUnverified)
	}
	return cols
}

// table writes rows of strings as CSV, with a header, or as JSON lines keyed by the header,
// in its order.
type table struct {
	format report.Format
	cols   []string
	f      *os.File
	w      *bufio.Writer
	csv    *csv.Writer
	buf    bytes.Buffer
	rows   int64
}

func newTable(f *os.File, format report.Format, cols []string) (*table, error) {
	t := &table{format: format, cols: cols, f: f, w: bufio.NewWriterSize(f, 64<<10)}
	if format == report.CSV {
		t.csv = csv.NewWriter(t.w)
		if err := t.csv.Write(cols); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func (t *table) write(values []string) error {
	t.rows++
	if t.csv != nil {
		return t.csv.Write(values)
	}
	t.buf.Reset()
	t.buf.WriteByte('{')
	enc := json.NewEncoder(&t.buf)
	enc.SetEscapeHTML(false)
	for i, c := range t.cols {
		if i > 0 {
			t.buf.WriteByte(',')
		}
		enc.Encode(c) // strings cannot fail
		t.buf.Truncate(t.buf.Len() - 1)
		t.buf.WriteByte(':')
		enc.Encode(values[i])
		t.buf.Truncate(t.buf.Len() - 1)
	}
	t.buf.WriteString("}\n")
	_, err := t.w.Write(t.buf.Bytes())
	return err
}

// close flushes, syncs and closes the file.
func (t *table) close() error {
	if t.csv != nil {
		t.csv.Flush()
		if err := t.csv.Error(); err != nil {
			t.f.Close()
			return err
		}
	}
	err := t.w.Flush()
	if err == nil {
		err = t.f.Sync()
	}
	return errors.Join(err, t.f.Close())
}

// files writes the output and the refused file of a query: the sink of the matcher.
type files struct {
	q              *Query
	pool           string
	out, refusedTo *table
	counts         Counts
}

func (w *files) row(r *Row) error {
	q := &r.Request
	v := []string{q.UserPoolID, q.DestinationProvider, q.DestinationUser, q.SourceProvider, q.SourceAttribute, q.SourceValue, r.Email}
	if w.q.Mode == Duplicates {
		v = append(v, r.Profile)
	}
	if w.q.AllowUnverified {
		v = append(v, fmt.Sprint(r.Unverified))
	}
	w.counts.Rows++
	if r.Unverified {
		w.counts.Unverified++
	}
	return w.out.write(v)
}

func (w *files) refused(r *Refused) error {
	w.counts.add(r.Code)
	return w.refusedTo.write([]string{w.pool, r.Username, r.Email, r.Candidate, r.Code, r.Message})
}

// Counts are what a match wrote.
type Counts struct {
	Rows       int64                 `json:"rows"`
	Unverified int64                 `json:"rows_unverified_email,omitempty"`
	Refused    int64                 `json:"refused"`
	ByCode     map[schema.Code]int64 `json:"refused_by_code"`
}

func (c *Counts) add(code schema.Code) {
	if c.ByCode == nil {
		c.ByCode = map[schema.Code]int64{}
	}
	c.Refused++
	c.ByCode[code]++
}

// The kinds of discover's files, as report.CheckOurs tells them from anything else.
var (
	// An output starts with the header of one of discover's outputs (CSV), or is JSON lines
	// whose first has an output's keys; a file cut before its first line is ours too (a
	// crash, or a JSONL output without rows).
	outputKind  = report.Kind{Name: "discover output", Ours: tableKind(schema.ColDestinationUser, ColEmail)}
	refusedKind = report.Kind{Name: "discover refused file", Ours: tableKind("username", "candidate", "code")}
	stateKind   = report.JSONKind("discover state", "command", "pagination_token", "spill_bytes")
	summaryKind = report.JSONKind("summary", "command", "by_status")
	spillKind   = report.Kind{Name: "discover spill", Ours: func(b []byte) bool {
		return bytes.HasPrefix(b, []byte(spillMagic)) || bytes.HasPrefix([]byte(spillMagic), b)
	}}
)

// tableKind recognises a CSV file whose header holds every one of cols and nothing but
// names, or JSON lines whose first object has those keys.
func tableKind(cols ...string) func([]byte) bool {
	return func(b []byte) bool {
		first, _, _ := bytes.Cut(b, []byte("\n"))
		if len(bytes.TrimSpace(first)) == 0 {
			return len(bytes.TrimSpace(b)) == 0
		}
		if first[0] == '{' {
			var m map[string]json.RawMessage
			if json.Unmarshal(first, &m) != nil {
				return false
			}
			for _, c := range cols {
				if _, ok := m[c]; !ok {
					return false
				}
			}
			return true
		}
		header := strings.Split(strings.TrimSuffix(string(first), "\r"), ",")
		for _, c := range cols {
			if !slices.Contains(header, c) {
				return false
			}
		}
		return true
	}
}

// spillMagic starts a spill file: it tells one from anything else, and its version.
const spillMagic = "bulklink discover spill 1\n"

// Paths of the files beside a discover's output.
func StatePath(output string) string   { return output + ".discover.json" }
func SpillPath(output string) string   { return output + ".discover.spill" }
func SummaryPath(output string) string { return output + ".summary.json" }
func partialPath(path string) string   { return path + ".partial" }

// RefusedPath is the refused file beside an output when --refused does not name one: the
// output's name with .refused before its extension (links.csv: links.refused.csv).
func RefusedPath(output string) string {
	ext := filepath.Ext(output)
	return strings.TrimSuffix(output, ext) + ".refused" + ext
}

// createTable makes path's .partial file anew (a leftover of a crash is removed) and a table
// writing to it.
func createTable(path string, k report.Kind, cols []string) (*table, error) {
	partial := partialPath(path)
	if err := report.RemoveOwned(partial, k); err != nil {
		return nil, err
	}
	f, err := report.CreateNew(partial, os.O_WRONLY)
	if err != nil {
		return nil, err
	}
	format, _ := report.FormatOf(path) // checked by Config.check
	t, err := newTable(f, format, cols)
	if err != nil {
		f.Close()
		return nil, err
	}
	return t, nil
}

// exists reports whether path is there, a link included.
func exists(path string) bool {
	_, err := os.Lstat(path)
	return !errors.Is(err, fs.ErrNotExist)
}
