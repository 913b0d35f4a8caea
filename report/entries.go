package report

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/bulklink/bulklink/schema"
)

// Entry is one record of a report read back for a person (`bulklink report`): its cells by
// column, in the report's order. A CSV report's entries share its header; a JSONL record has
// its own keys, the report's first, then the carried ones.
type Entry struct {
	Columns []string
	Values  []string
	// JSON marks the values that are JSON text, not strings: a JSONL record's numbers and
	// carried values that were not strings.
	JSON []bool
	// Raw is a JSONL record as it is in the report.
	Raw []byte
}

// Get returns the value of column name, "" when the entry has none.
func (e *Entry) Get(name string) string {
	for i, c := range e.Columns {
		if c == name {
			return e.Values[i]
		}
	}
	return ""
}

// Status is the entry's status.
func (e *Entry) Status() Status { return Status(e.Get(schema.ColStatus)) }

// ReadEntries calls fn with each record of the report at path, in the order of the file. A
// half-written last record (a run writing it now, or killed while it did) is left out: torn
// is set. The entry is only valid during the call. The report is read as bulklink reads its
// own files (a regular file of this user, not a link: see UnsafeFileError), and the reading
// stops, with ctx's cause, once ctx ends.
func ReadEntries(ctx context.Context, path string, fn func(*Entry) error) (torn bool, err error) {
	format, err := FormatOf(path)
	if err != nil {
		return false, err
	}
	f, err := openOwned(path, os.O_RDONLY)
	if err != nil {
		return false, err
	}
	defer f.Close()
	r := &ctxReader{ctx: ctx, r: f}
	if format == JSONL {
		return readJSONLEntries(r, fn)
	}
	return readCSVEntries(r, fn)
}

// ctxReader is a reader of a regular file that stops once its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if c.ctx.Err() != nil {
		return 0, context.Cause(c.ctx)
	}
	return c.r.Read(p)
}

// readCSVEntries reads records as Recover does (readCSVRecord, splitCSV): a last record
// without its line end is torn, wherever it was cut.
func readCSVEntries(r io.Reader, fn func(*Entry) error) (bool, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var buf []byte
	next := func() ([]string, error) {
		var err error
		if buf, err = readCSVRecord(br, buf[:0]); err != nil {
			return nil, err
		}
		return splitCSV(bytes.TrimSuffix(buf, []byte{'\n'})), nil
	}
	header, err := next()
	switch {
	case errors.Is(err, io.EOF):
		return false, nil
	case errors.Is(err, errTorn):
		return true, nil // the header is being written
	case err != nil:
		return false, fmt.Errorf("read the report's header: %w", err)
	}
	if len(header) < 2 || header[0] != schema.ColLine || header[1] != schema.ColStatus {
		return false, errors.New("not a bulklink report: its header does not start with line,status")
	}
	e := &Entry{Columns: header, JSON: make([]bool, len(header))}
	for n := 2; ; n++ {
		rec, err := next()
		switch {
		case errors.Is(err, io.EOF):
			return false, nil
		case errors.Is(err, errTorn):
			return true, nil // the last record, cut short: more may be written to it
		case err != nil:
			return false, fmt.Errorf("read the report: %w", err)
		case len(rec) != len(header):
			return false, fmt.Errorf("read the report: record %d has %d fields, the header %d", n, len(rec), len(header))
		}
		e.Values = rec
		if err := fn(e); err != nil {
			return false, err
		}
	}
}

func readJSONLEntries(r io.Reader, fn func(*Entry) error) (bool, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 && line[len(line)-1] != '\n' {
			return true, nil // no line end: the last record is being written, or was cut off
		}
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		e, err := jsonEntry(line)
		if err != nil {
			return false, fmt.Errorf("read the report: line %d: %w", n, err)
		}
		if err := fn(e); err != nil {
			return false, err
		}
	}
}

// jsonEntry reads one JSONL record, keeping its keys' order. The record must be JSON, whole
// (nothing after the object): AppendJSON writes it back as it is.
func jsonEntry(line []byte) (*Entry, error) {
	if !json.Valid(line) {
		return nil, errors.New("not a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	e := &Entry{Raw: line}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		var s string
		isString := json.Unmarshal(v, &s) == nil
		if !isString {
			s = string(v)
		}
		e.Columns = append(e.Columns, key)
		e.Values = append(e.Values, s)
		e.JSON = append(e.JSON, !isString)
	}
	return e, nil
}

// numeric are the report's columns that a JSONL report holds as numbers.
var numeric = map[string]bool{schema.ColLine: true, schema.ColAttempts: true, schema.ColDurationMS: true}

// AppendJSON appends the entry to dst as one JSONL record: a JSONL report's as it is, a CSV
// report's with its columns as keys (line, attempts and duration_ms as numbers when they are
// whole numbers written plainly, as a JSONL report has them; as strings otherwise). Keys and
// values go through one JSON encoder (appendString), whatever they hold.
func (e *Entry) AppendJSON(dst []byte) []byte {
	if e.Raw != nil {
		return append(dst, bytes.TrimRight(e.Raw, "\r\n")...)
	}
	dst = append(dst, '{')
	for i, c := range e.Columns {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, c)
		dst = append(dst, ':')
		if numeric[c] && isPlainInt(e.Values[i]) || i < len(e.JSON) && e.JSON[i] {
			dst = append(dst, e.Values[i]...)
		} else {
			dst = appendString(dst, e.Values[i])
		}
	}
	return append(dst, '}')
}

// isPlainInt reports whether s is a whole number as JSON writes one: "12", not "+12" or
// "012", which are no JSON.
func isPlainInt(s string) bool {
	n, err := strconv.ParseInt(s, 10, 64)
	return err == nil && strconv.FormatInt(n, 10) == s
}

// appendString appends s to dst as a JSON string, as the report's writer encodes them
// (encoding/json, without HTML escaping): control characters as \u00XX, invalid UTF-8 as
// U+FFFD. It is the only way a key or a string value of an entry is written.
func appendString(dst []byte, s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return append(dst, bytes.TrimSuffix(b.Bytes(), []byte{'\n'})...)
}

// CSVRow returns the entry's cells under the report's own columns and, for a JSONL record,
// its carried keys as one JSON object in the extra column, as a CSV report of a JSONL input
// has them.
func (e *Entry) CSVRow() []string {
	if e.Raw == nil {
		return e.Values
	}
	row := make([]string, 0, len(schema.Columns)+1)
	for _, c := range schema.Columns {
		row = append(row, e.Get(c.Name))
	}
	extra := []byte{'{'}
	for i, c := range e.Columns {
		if schema.Reserved(c) && c != schema.ExtraColumn {
			continue
		}
		if len(extra) > 1 {
			extra = append(extra, ',')
		}
		extra = appendString(extra, c)
		extra = append(extra, ':')
		if e.JSON[i] {
			extra = append(extra, e.Values[i]...)
		} else {
			extra = appendString(extra, e.Values[i])
		}
	}
	extra = append(extra, '}')
	if len(extra) == 2 {
		return append(row, "")
	}
	return append(row, string(extra))
}

// CSVHeader is the header of CSVRow's rows: a CSV report's own, or for a JSONL report, its
// columns and extra.
func CSVHeader(e *Entry) []string {
	if e.Raw == nil {
		return e.Columns
	}
	return append(schema.ColumnNames(), schema.ExtraColumn)
}
