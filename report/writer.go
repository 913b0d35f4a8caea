package report

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"unicode/utf8"

	"github.com/bulklink/bulklink/input"
)

// Layout fixes what a report holds beyond its own columns.
type Layout struct {
	Format Format
	// ExtraColumns are the carried-through input columns of a CSV input, in order.
	ExtraColumns []string
	// ExtraJSON adds the ExtraColumn to a CSV report, for inputs (JSONL) whose unknown
	// keys are not known up front.
	ExtraJSON bool
}

// Writer encodes records to a report. It is not safe for concurrent use: one goroutine
// owns the report.
type Writer struct {
	layout Layout
	bw     *bufio.Writer
	csv    *csv.Writer
	file   *os.File // nil when writing to a plain io.Writer
	fields []string
	buf    []byte
}

// NewWriter returns a Writer that encodes to w. When header is true, a CSV report starts
// with its header line.
func NewWriter(w io.Writer, l Layout, header bool) (*Writer, error) {
	rw := &Writer{layout: l, bw: bufio.NewWriterSize(w, 64<<10)}
	if f, ok := w.(*os.File); ok {
		rw.file = f
	}
	if l.Format == CSV {
		rw.csv = csv.NewWriter(rw.bw)
		if header {
			if err := rw.csv.Write(l.header()); err != nil {
				return nil, err
			}
		}
	}
	return rw, nil
}

// Create creates (or truncates) the report file at path, readable by its owner only, and
// makes its header and its name durable.
func Create(path string, l Layout) (*Writer, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create report: %w", err)
	}
	if err := f.Chmod(0o600); err != nil { // an existing file keeps its mode through O_TRUNC
		f.Close()
		return nil, fmt.Errorf("create report: %w", err)
	}
	w, err := NewWriter(f, l, true)
	if err == nil {
		err = w.Sync()
	}
	if err == nil {
		err = syncDir(path)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("create report: %w", err)
	}
	return w, nil
}

// syncDir makes a file's creation or renaming durable: the entry lives in its directory.
func syncDir(path string) error {
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// header is the CSV header of a report with this layout.
func (l Layout) header() []string {
	h := append([]string(nil), Columns...)
	h = append(h, l.ExtraColumns...)
	if l.ExtraJSON {
		h = append(h, ExtraColumn)
	}
	return h
}

// Write encodes one record. Records are buffered: Flush or Sync make them durable.
func (w *Writer) Write(r *Record) error {
	if w.layout.Format == CSV {
		return w.writeCSV(r)
	}
	w.buf = appendJSONRecord(w.buf[:0], r)
	w.buf = append(w.buf, '\n')
	_, err := w.bw.Write(w.buf)
	return err
}

func (w *Writer) writeCSV(r *Record) error {
	f := w.fields[:0]
	f = append(f,
		strconv.Itoa(r.Line), string(r.Status), r.ErrorCode, r.ErrorMessage, strconv.Itoa(r.Attempts),
		r.Request.UserPoolID, r.Request.DestinationProvider, r.Request.DestinationUser,
		r.Request.SourceProvider, r.Request.SourceAttribute, r.Request.SourceValue,
		strconv.FormatInt(r.Duration.Milliseconds(), 10), formatTime(r),
	)
	f = appendExtraCells(f, w.layout.ExtraColumns, r.Extra)
	if w.layout.ExtraJSON {
		cell := ""
		if len(r.Extra) > 0 {
			w.buf = appendJSONFields(w.buf[:0], r.Extra)
			cell = string(w.buf)
		}
		f = append(f, cell)
	}
	w.fields = f
	return w.csv.Write(f)
}

// appendExtraCells appends one cell per declared column. Rows of a CSV input carry their
// extras in header order, so the common case is a positional match.
func appendExtraCells(dst []string, cols []string, extra []input.Field) []string {
	for i, name := range cols {
		if i < len(extra) && extra[i].Name == name {
			dst = append(dst, extra[i].Value)
			continue
		}
		v := ""
		for _, e := range extra {
			if e.Name == name {
				v = e.Value
				break
			}
		}
		dst = append(dst, v)
	}
	return dst
}

func formatTime(r *Record) string {
	if r.FinishedAt.IsZero() {
		return ""
	}
	return r.FinishedAt.UTC().Format(timeLayout)
}

// Flush writes buffered records to the file (not necessarily to stable storage).
func (w *Writer) Flush() error {
	if w.csv != nil {
		w.csv.Flush()
		if err := w.csv.Error(); err != nil {
			return err
		}
	}
	return w.bw.Flush()
}

// Sync flushes and, for a file, asks the OS to put the records on stable storage.
func (w *Writer) Sync() error {
	if err := w.Flush(); err != nil {
		return err
	}
	if w.file != nil {
		return w.file.Sync()
	}
	return nil
}

// Close syncs and closes the report file.
func (w *Writer) Close() error {
	err := w.Sync()
	if w.file != nil {
		if cerr := w.file.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

func appendJSONRecord(b []byte, r *Record) []byte {
	b = append(b, `{"line":`...)
	b = strconv.AppendInt(b, int64(r.Line), 10)
	b = appendJSONKey(b, "status")
	b = appendJSONString(b, string(r.Status))
	b = appendJSONKey(b, "error_code")
	b = appendJSONString(b, r.ErrorCode)
	b = appendJSONKey(b, "error_message")
	b = appendJSONString(b, r.ErrorMessage)
	b = append(b, `,"attempts":`...)
	b = strconv.AppendInt(b, int64(r.Attempts), 10)
	q := &r.Request
	for _, kv := range [...]struct{ k, v string }{
		{"user_pool_id", q.UserPoolID},
		{"destination_provider", q.DestinationProvider},
		{"destination_user", q.DestinationUser},
		{"source_provider", q.SourceProvider},
		{"source_attribute", q.SourceAttribute},
		{"source_value", q.SourceValue},
	} {
		b = appendJSONKey(b, kv.k)
		b = appendJSONString(b, kv.v)
	}
	b = append(b, `,"duration_ms":`...)
	b = strconv.AppendInt(b, r.Duration.Milliseconds(), 10)
	b = appendJSONKey(b, "finished_at")
	b = appendJSONString(b, formatTime(r))
	for _, e := range r.Extra {
		b = appendJSONKey(b, e.Name)
		b = appendJSONValue(b, e)
	}
	return append(b, '}')
}

// appendJSONValue appends an extra field's value: JSON text as it came, else a string.
func appendJSONValue(b []byte, f input.Field) []byte {
	if f.JSON {
		return append(b, f.Value...)
	}
	return appendJSONString(b, f.Value)
}

func appendJSONFields(b []byte, fields []input.Field) []byte {
	b = append(b, '{')
	for i, e := range fields {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, e.Name)
		b = append(b, ':')
		b = appendJSONValue(b, e)
	}
	return append(b, '}')
}

func appendJSONKey(b []byte, k string) []byte {
	b = append(b, ',')
	b = appendJSONString(b, k)
	return append(b, ':')
}

const hex = "0123456789abcdef"

// appendJSONString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD, as
// encoding/json does.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
