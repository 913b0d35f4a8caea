package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"

	"github.com/bulklink/bulklink/input"
	"github.com/bulklink/bulklink/schema"
)

// Journal is what an existing report says of a run that did not finish: a record on disk
// means its row is done. Recover reads it back for resume.
type Journal struct {
	Done    input.LineSet    // lines of the input with a record
	Records int64            // records kept
	Torn    int64            // bytes of a half-written last record, cut off
	Summary map[Status]int64 // records by status
	Codes   map[string]int64 // records by error code
	final   []Status         // the statuses a record may hold
}

// MaxTorn is the most Recover cuts off a report: more than one record's worth of bytes that
// do not parse is damage, not a write cut short by a crash.
const MaxTorn = 4 << 20

// Recover reads the report at path, written by cmd with layout l, for resume. A half-written
// last record (a crash mid-write) is cut off, so that its row runs again; any other damage
// is an error. Records must be of lines 1 to maxLine and hold a final status of cmd. A report
// shorter than its CSV header gets the header again.
func Recover(path string, cmd schema.Command, l Layout, maxLine int) (*Journal, error) {
	f, err := openOwned(path, os.O_RDWR)
	if err != nil {
		return nil, fmt.Errorf("open report for resume: %w", err)
	}
	defer f.Close()
	j := &Journal{Summary: map[Status]int64{}, Codes: map[string]int64{}, final: cmd.Final()}
	r := bufio.NewReaderSize(f, 256<<10)
	var good int64 // offset after the last complete record
	if l.Format == CSV {
		good, err = j.scanCSV(r, l, maxLine)
	} else {
		good, err = j.scanJSONL(r, maxLine)
	}
	if err != nil {
		return nil, fmt.Errorf("report %s: %w", path, err)
	}
	end, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, err
	}
	if end-good > MaxTorn {
		return nil, fmt.Errorf("report %s: its last %d bytes, from byte %d, are not whole records: too much to be a write cut short, so it is left as it is", path, end-good, good)
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

// hasRecords reports whether the report at path holds a whole record: a CSV report
// something after its header, a JSONL one a whole line.
func hasRecords(path string, format Format) (bool, error) {
	f, err := openOwned(path, os.O_RDONLY)
	if err != nil {
		return false, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 64<<10)
	if format == JSONL {
		_, err := r.ReadSlice('\n')
		return err == nil || errors.Is(err, bufio.ErrBufferFull), nil
	}
	skip := 1
	var buf []byte
	for i := 0; ; i++ {
		buf, err = readCSVRecord(r, buf[:0])
		if err != nil {
			return false, nil // the end, or a torn record: nothing whole
		}
		if i >= skip {
			return true, nil
		}
	}
}

// looksLikeReport reports whether a file without a meta is empty or starts like a report
// of bulklink's: one that a crash left without its meta may be started over; anything else
// is not bulklink's to truncate.
func looksLikeReport(path string) (bool, error) {
	f, err := openOwned(path, os.O_RDONLY)
	if err != nil {
		return false, err
	}
	defer f.Close()
	head := make([]byte, 64)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return false, err
	}
	head = head[:n]
	csvHead := []byte(schema.ColLine + "," + schema.ColStatus + ",")
	return n == 0 || bytes.HasPrefix(head, []byte(`{"line":`)) ||
		bytes.HasPrefix(head, csvHead) || bytes.HasPrefix(csvHead, head), nil
}

// errTorn marks a last record cut short.
var errTorn = errors.New("torn record")

func (j *Journal) add(line int, status, code string, at int64, maxLine int) error {
	if line < 1 || line > maxLine {
		return fmt.Errorf("record at byte %d: line %d is not a line of the input (1 to %d)", at, line, maxLine)
	}
	st := Status(status)
	if !slices.Contains(j.final, st) {
		return fmt.Errorf("record at byte %d: status %q is not one this report's command writes (%v)", at, status, j.final)
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

// scanCSV reads CSV records; it needs only the first three columns (line, status,
// error_code) and the record's end, found by counting quotes.
func (j *Journal) scanCSV(r *bufio.Reader, l Layout, maxLine int) (good int64, err error) {
	var at int64
	header := true
	wantHeader := l.header()
	want := len(wantHeader)
	var rec []byte
	for {
		rec, err = readCSVRecord(r, rec[:0])
		if errors.Is(err, errTorn) || err == io.EOF {
			return good, nil // the tail from good on is cut off
		}
		if err != nil {
			return good, err
		}
		fields := splitCSV(rec[:len(rec)-1])
		if header {
			header = false
			if !slices.Equal(fields, wantHeader) {
				return good, fmt.Errorf("its header %q is not that of this input's report %q", fields, wantHeader)
			}
		} else {
			if len(fields) != want {
				return good, fmt.Errorf("record at byte %d: %d fields, want %d", at, len(fields), want)
			}
			line, err := strconv.Atoi(fields[0])
			if err != nil {
				return good, fmt.Errorf("record at byte %d: bad line %q", at, fields[0])
			}
			if err := j.add(line, fields[1], fields[2], at, maxLine); err != nil {
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
		quoted = quoted != (bytes.Count(chunk, []byte{'"'})%2 == 1)
		switch {
		case err == bufio.ErrBufferFull:
			continue // a long line: its quotes are counted chunk by chunk
		case err == io.EOF && len(buf) > 0:
			return buf, errTorn
		case err != nil:
			return buf, err
		case !quoted:
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

func (j *Journal) scanJSONL(r *bufio.Reader, maxLine int) (good int64, err error) {
	var at int64
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
		line, status, code, ok := jsonPrefix(buf)
		if !ok || !json.Valid(buf) {
			return good, fmt.Errorf("record at byte %d is not a report record: %q", at, truncate(buf, 80))
		}
		if err := j.add(line, status, code, at, maxLine); err != nil {
			return good, err
		}
		at += int64(len(buf))
		good = at
	}
}

// jsonPrefix reads the fixed start every JSONL record has, as appendJSONRecord writes it:
// {"line":N,"status":"S","error_code":"C",... Reading it by position, not by decoding keys,
// keeps carried-through keys from ever being taken for these.
func jsonPrefix(rec []byte) (line int, status, code string, ok bool) {
	rest, ok := bytes.CutPrefix(rec, []byte(`{"line":`))
	if !ok {
		return 0, "", "", false
	}
	i := bytes.IndexByte(rest, ',')
	if i < 0 {
		return 0, "", "", false
	}
	line, err := strconv.Atoi(string(rest[:i]))
	if err != nil {
		return 0, "", "", false
	}
	rest, ok = bytes.CutPrefix(rest[i:], []byte(`,"status":`))
	if !ok {
		return 0, "", "", false
	}
	status, rest, ok = jsonString(rest)
	if !ok {
		return 0, "", "", false
	}
	rest, ok = bytes.CutPrefix(rest, []byte(`,"error_code":`))
	if !ok {
		return 0, "", "", false
	}
	code, _, ok = jsonString(rest)
	return line, status, code, ok
}

// jsonString reads the JSON string at the start of b.
func jsonString(b []byte) (s string, rest []byte, ok bool) {
	if len(b) == 0 || b[0] != '"' {
		return "", nil, false
	}
	for i := 1; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			if err := json.Unmarshal(b[:i+1], &s); err != nil {
				return "", nil, false
			}
			return s, b[i+1:], true
		}
	}
	return "", nil, false
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}
