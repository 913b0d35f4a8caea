package report

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"os"

	"github.com/bulklink/bulklink/input"
	"github.com/bulklink/bulklink/schema"
)

// Layout fixes what a report holds beyond its own columns.
type Layout struct {
	Format Format
	// ExtraColumns are the carried-through columns of a CSV input, in order.
	ExtraColumns []string
	// ExtraJSON adds schema.ExtraColumn to a CSV report, for inputs (JSONL) whose carried
	// keys are not known up front: it holds them as one JSON object.
	ExtraJSON bool
	// Merge adds schema.MergeColumns after the report's own (run --merge-signed-in).
	Merge bool
}

// header is the CSV header of a report with this layout.
func (l Layout) header() []string {
	h := schema.ColumnNames()
	if l.Merge {
		for _, c := range schema.MergeColumns {
			h = append(h, c.Name)
		}
	}
	h = append(h, l.ExtraColumns...)
	if l.ExtraJSON {
		h = append(h, schema.ExtraColumn)
	}
	return h
}

// Writer encodes records to a report. It is not safe for concurrent use: one goroutine
// owns the report.
type Writer struct {
	layout Layout
	bw     *bufio.Writer
	csv    *csv.Writer
	file   *os.File // nil when writing to a plain io.Writer
	fields []string
	buf    bytes.Buffer
	enc    *json.Encoder // encodes into buf
}

// NewWriter returns a Writer that encodes to w. When header is true, a CSV report starts
// with its header line.
func NewWriter(w io.Writer, l Layout, header bool) (*Writer, error) {
	rw := &Writer{layout: l, bw: bufio.NewWriterSize(w, 64<<10)}
	rw.enc = json.NewEncoder(&rw.buf)
	rw.enc.SetEscapeHTML(false)
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

// Write encodes one record. Records are buffered: Flush or Sync make them durable.
func (w *Writer) Write(r *Record) error {
	if w.layout.Format == CSV {
		return w.writeCSV(r)
	}
	w.buf.Reset()
	if err := w.appendJSON(r); err != nil {
		return err
	}
	w.buf.WriteByte('\n')
	_, err := w.bw.Write(w.buf.Bytes())
	return err
}

func (w *Writer) writeCSV(r *Record) error {
	f := w.fields[:0]
	for _, c := range schema.Columns {
		f = append(f, r.column(c.Name))
	}
	if w.layout.Merge {
		m := r.merge()
		f = append(f, m.Username, m.Sub, m.DestinationSub)
	}
	f = appendExtraCells(f, w.layout.ExtraColumns, r.Extra)
	if w.layout.ExtraJSON {
		cell := ""
		if len(r.Extra) > 0 {
			w.buf.Reset()
			w.buf.WriteByte('{')
			if err := w.appendFields(r.Extra, false); err != nil {
				return err
			}
			w.buf.WriteByte('}')
			cell = w.buf.String()
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

// jsonRecord is a JSONL record's own keys, in the order of schema.Columns (a test holds it
// to the table). Recovery reads the first three by position: {"line":N,"status":"S",
// "error_code":"C", so that no carried key is ever taken for them.
type jsonRecord struct {
	Line                int    `json:"line"`
	Status              Status `json:"status"`
	ErrorCode           string `json:"error_code"`
	ErrorMessage        string `json:"error_message"`
	Attempts            int    `json:"attempts"`
	UserPoolID          string `json:"user_pool_id"`
	DestinationProvider string `json:"destination_provider"`
	DestinationUser     string `json:"destination_user"`
	SourceProvider      string `json:"source_provider"`
	SourceAttribute     string `json:"source_attribute"`
	SourceValue         string `json:"source_value"`
	DurationMS          int64  `json:"duration_ms"`
	FinishedAt          string `json:"finished_at"`
}

// appendJSON encodes r as one JSON object into w.buf: its own keys, then its carried ones.
func (w *Writer) appendJSON(r *Record) error {
	q := &r.Request
	if err := w.enc.Encode(jsonRecord{
		r.Line, r.Status, r.ErrorCode, r.ErrorMessage, r.Attempts,
		q.UserPoolID, q.DestinationProvider, q.DestinationUser, q.SourceProvider, q.SourceAttribute, q.SourceValue,
		r.Duration.Milliseconds(), formatTime(r.FinishedAt),
	}); err != nil {
		return err
	}
	w.buf.Truncate(w.buf.Len() - len("}\n")) // Encode ends the object and the line
	if w.layout.Merge {
		m := r.merge()
		if err := w.appendFields([]input.Field{{Name: schema.ColMergedUsername, Value: m.Username},
			{Name: schema.ColMergedSub, Value: m.Sub}, {Name: schema.ColDestinationSub, Value: m.DestinationSub}}, true); err != nil {
			return err
		}
	}
	if err := w.appendFields(r.Extra, true); err != nil {
		return err
	}
	w.buf.WriteByte('}')
	return nil
}

// appendFields encodes fields as the members of a JSON object into w.buf, after a comma when
// more is true: names and string values through encoding/json, JSON values as they came.
func (w *Writer) appendFields(fields []input.Field, more bool) error {
	for i, f := range fields {
		if more || i > 0 {
			w.buf.WriteByte(',')
		}
		if err := w.encode(f.Name); err != nil {
			return err
		}
		w.buf.WriteByte(':')
		if f.JSON && json.Valid([]byte(f.Value)) {
			w.buf.WriteString(f.Value)
			continue
		}
		if err := w.encode(f.Value); err != nil {
			return err
		}
	}
	return nil
}

// encode appends v's JSON to w.buf, without the newline Encode adds.
func (w *Writer) encode(v any) error {
	if err := w.enc.Encode(v); err != nil {
		return err
	}
	w.buf.Truncate(w.buf.Len() - 1)
	return nil
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
