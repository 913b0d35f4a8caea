package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
)

// Journal is what an existing report says of a run that did not finish: a record on disk
// means its row is done. Recover reads it back for resume.
type Journal struct {
	Done    LineSet          // lines of the input with a record
	Records int64            // records kept
	Torn    int64            // bytes of a half-written last record, cut off
	Summary map[Status]int64 // records by status
	Codes   map[string]int64 // records by error code
}

// Recover reads the report at path, written with layout l, for resume. A half-written last
// record (a crash mid-write) is cut off, so that its row runs again; any other damage is an
// error. A report shorter than its CSV header gets the header again.
func Recover(path string, l Layout) (*Journal, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("open report for resume: %w", err)
	}
	defer f.Close()
	j := &Journal{Summary: map[Status]int64{}, Codes: map[string]int64{}}
	r := bufio.NewReaderSize(f, 256<<10)
	var good int64 // offset after the last complete record
	if l.Format == CSV {
		good, err = j.scanCSV(r, l)
	} else {
		good, err = j.scanJSONL(r)
	}
	if err != nil {
		return nil, fmt.Errorf("report %s: %w", path, err)
	}
	end, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, err
	}
	if end > good {
		j.Torn = end - good
		if err := f.Truncate(good); err != nil {
			return nil, fmt.Errorf("cut the torn record off the report: %w", err)
		}
	}
	if l.Format == CSV && good == 0 {
		// Killed before the header was whole: write it again.
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
		w, err := NewWriter(f, l, true)
		if err == nil {
			err = w.Sync()
		}
		if err != nil {
			return nil, fmt.Errorf("rewrite report header: %w", err)
		}
	}
	return j, f.Sync()
}

// errTorn marks a last record cut short.
var errTorn = errors.New("torn record")

func (j *Journal) add(line int, status, code string, at int64) error {
	st := Status(status)
	switch st {
	case Linked, AlreadyLinked, Failed, Invalid, Valid, Unlinked, NotLinked:
	default:
		return fmt.Errorf("record at byte %d: unknown status %q", at, status)
	}
	if !j.Done.Add(line) {
		return fmt.Errorf("record at byte %d: line %d recorded twice", at, line)
	}
	j.Records++
	j.Summary[st]++
	if code != "" {
		j.Codes[code]++
	}
	return nil
}

// scanCSV reads CSV records; it needs only the first four columns (line, status,
// error_code) and the record's end, found by counting quotes.
func (j *Journal) scanCSV(r *bufio.Reader, l Layout) (good int64, err error) {
	var at int64
	header := true
	want := len(Columns) + len(l.ExtraColumns)
	if l.ExtraJSON {
		want++
	}
	var rec []byte
	for {
		rec, err = readCSVRecord(r, rec[:0])
		if errors.Is(err, errTorn) || err == io.EOF && len(rec) > 0 {
			return good, nil // the tail from good on is cut off
		}
		if err == io.EOF {
			return good, nil
		}
		if err != nil {
			return good, err
		}
		fields := splitCSV(rec[:len(rec)-1])
		if header {
			header = false
			if len(fields) != want || fields[0] != "line" {
				return good, fmt.Errorf("the header does not match this input's report columns")
			}
		} else {
			if len(fields) != want {
				return good, fmt.Errorf("record at byte %d: %d fields, want %d", at, len(fields), want)
			}
			line, err := strconv.Atoi(fields[0])
			if err != nil {
				return good, fmt.Errorf("record at byte %d: bad line %q", at, fields[0])
			}
			if err := j.add(line, fields[1], fields[2], at); err != nil {
				return good, err
			}
		}
		at += int64(len(rec))
		good = at
	}
}

// readCSVRecord appends one CSV record, with its final newline, to buf: newlines inside
// quoted fields do not end it. errTorn means the input ended inside the record.
func readCSVRecord(r *bufio.Reader, buf []byte) ([]byte, error) {
	quoted := false
	for {
		chunk, err := r.ReadSlice('\n')
		buf = append(buf, chunk...)
		if err == bufio.ErrBufferFull {
			continue
		}
		quoted = quoted != (bytes.Count(chunk, []byte{'"'})%2 == 1)
		if err != nil {
			if len(buf) > 0 {
				return buf, errTorn
			}
			return buf, err
		}
		if !quoted {
			return buf, nil
		}
	}
}

// splitCSV splits one record (without its newline) into unquoted fields.
func splitCSV(rec []byte) []string {
	var fields []string
	var f []byte
	quoted := false
	for i := 0; i < len(rec); i++ {
		c := rec[i]
		switch {
		case quoted && c == '"' && i+1 < len(rec) && rec[i+1] == '"':
			f = append(f, '"')
			i++
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			fields = append(fields, string(f))
			f = f[:0]
		case c == '\r' && !quoted && i == len(rec)-1:
		default:
			f = append(f, c)
		}
	}
	return append(fields, string(f))
}

func (j *Journal) scanJSONL(r *bufio.Reader) (good int64, err error) {
	var at int64
	var rec struct {
		Line      *int   `json:"line"`
		Status    string `json:"status"`
		ErrorCode string `json:"error_code"`
	}
	var buf []byte
	for {
		buf = buf[:0]
		for {
			chunk, err := r.ReadSlice('\n')
			buf = append(buf, chunk...)
			if err == bufio.ErrBufferFull {
				continue
			}
			if err == io.EOF {
				return good, nil // a line without its newline is torn: cut off
			}
			if err != nil {
				return good, err
			}
			break
		}
		rec.Line, rec.Status, rec.ErrorCode = nil, "", ""
		if err := json.Unmarshal(buf, &rec); err != nil || rec.Line == nil {
			return good, fmt.Errorf("record at byte %d is not a report record: %q", at, truncate(buf, 80))
		}
		if err := j.add(*rec.Line, rec.Status, rec.ErrorCode, at); err != nil {
			return good, err
		}
		at += int64(len(buf))
		good = at
	}
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

// Append opens the report at path to add records after those Recover kept.
func Append(path string, l Layout) (*Writer, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open report: %w", err)
	}
	return NewWriter(f, l, false)
}
