package input

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/bulklink/bulklink/schema"
)

// csvReader reads CSV rows. See the package doc for how it reads bad records.
type csvReader struct {
	opt    Options
	src    *byteSource
	rec    csvRecord
	cols   []field  // the request field each column holds, noField for carried ones
	names  []string // each column's name in the report: "" for request fields
	extras []string // the carried columns' names, in header order
	line   int      // the column of a report's line, -1 when the input is not a report
	status int      // the column of a report's status, -1 when the input is not a report
	times  [2]int   // the columns of a report's finished_at and duration_ms, -1 when none
	err    error    // sticky read error
}

// maxHeaderFields bounds the columns of a header.
const maxHeaderFields = 4096

// NewCSV returns a reader of the CSV in r. It reads the header at once, and fails when r is
// empty, the header cannot be read, a column has no name or the name of another, or a required
// column is missing: destination_user, source_provider, source_value, and user_pool_id unless
// opt.UserPoolID is set.
func NewCSV(r io.Reader, opt Options) (Reader, error) {
	if err := opt.check(); err != nil {
		return nil, err
	}
	c := &csvReader{opt: opt, src: newByteSource(r), line: -1, status: -1, times: [2]int{-1, -1}}
	if err := c.src.skipBOM(); err != nil {
		return nil, err
	}
	head := c.src.peek()
	if msg := diagnoseText(head); msg != "" {
		return nil, errors.New(msg)
	}
	if msg := wrongFormat(head, CSV); msg != "" {
		return nil, errors.New(msg)
	}
	c.src.setDelim(sniffDelimiter(firstLine(head)))
	err := c.rec.read(c.src, 0)
	if errors.Is(err, io.EOF) {
		return nil, errors.New("empty input: want a header row")
	}
	if err != nil {
		return nil, err
	}
	if c.rec.problem != "" {
		return nil, fmt.Errorf("header on line %d: %s", c.rec.line, c.rec.problem)
	}
	if c.rec.fields > maxHeaderFields {
		// Its columns past the bound were not kept: reading on would misname every column.
		return nil, fmt.Errorf("header on line %d: %d columns, more than the %d bulklink reads", c.rec.line, c.rec.fields, maxHeaderFields)
	}
	if err := c.header(c.rec.strings()); err != nil {
		return nil, fmt.Errorf("header on line %d: %w", c.rec.line, err)
	}
	return c, nil
}

// Delimiter returns the byte between the fields: a comma, or the semicolon, tab or vertical
// bar of a spreadsheet's export, told by the header (see sniffDelimiter).
func (c *csvReader) Delimiter() byte { return c.src.delim }

// header learns the columns from the header's names.
func (c *csvReader) header(names []string) error {
	c.cols = make([]field, len(names))
	c.names = make([]string, len(names))
	seen := make(map[string]int, len(names))
	var has [numFields]bool
	var carried []string
	for i, name := range names {
		key := strings.ToLower(strings.TrimSpace(name))
		if key == "" {
			return fmt.Errorf("column %d has no name", i+1)
		}
		if strings.ContainsRune(key, '\r') {
			// Most likely a file whose lines end in a carriage return alone: it would be all
			// header, and no row of it would ever be read.
			return fmt.Errorf("column %d's name %q holds a carriage return: are the lines ended by CR alone? end them with LF or CRLF", i+1, name)
		}
		if r, ok := nameControl(name); ok {
			return fmt.Errorf("column %d's name %q holds control character %U: %s", i+1, name, r, namesHold)
		}
		if j, dup := seen[key]; dup {
			return fmt.Errorf("columns %d and %d have the same name %q", j+1, i+1, key)
		}
		seen[key] = i
		f := fieldOf(key)
		c.cols[i], has[f] = f, true
		if f == noField {
			carried = append(carried, name)
		}
		switch line, status := isPrior(key); {
		case line:
			c.line = i
		case status:
			c.status = i
		case key == schema.ColFinishedAt:
			c.times[0] = i
		case key == schema.ColDurationMS:
			c.times[1] = i
		}
	}
	if c.line < 0 || c.status < 0 { // only a header with both is a report's
		c.line, c.status = -1, -1
	}
	c.extras = schema.Rename(carried)
	for i, k := 0, 0; i < len(names); i++ {
		if c.cols[i] == noField {
			c.names[i] = c.extras[k]
			k++
		}
	}
	var missing []string
	for _, f := range [...]field{userPoolID, destinationUser, sourceProvider, sourceValue} {
		if !has[f] && (f != userPoolID || c.opt.UserPoolID == "") {
			missing = append(missing, f.String())
		}
	}
	if len(missing) == 0 {
		return nil
	}
	hint := suggestColumns(missing, names, c.cols)
	if missing[0] == schema.ColUserPoolID && len(missing) < 4 {
		missing[0] += " (or set --user-pool-id)"
	}
	msg := "missing column " + strings.Join(missing, ", ")
	if len(missing) > 1 {
		msg = "missing columns " + strings.Join(missing, ", ")
	}
	switch {
	case hint != "":
		msg += ": " + hint
	case len(missing) == 4 || len(names) == 1:
		msg += fmt.Sprintf(" (is the first line a header? want one such as %s,%s,%s, with %ss between the names)",
			schema.ColDestinationUser, schema.ColSourceProvider, schema.ColSourceValue, delimiterName(c.src.delim))
	}
	return errors.New(msg)
}

func (c *csvReader) Columns() []string { return c.extras }

func (c *csvReader) Position() (int64, int64) { return c.src.read.Load(), -1 }

func (c *csvReader) Close() error { return nil }

func (c *csvReader) Next() (Row, error) {
	if c.err != nil {
		return Row{}, c.err
	}
	if err := c.rec.read(c.src, len(c.cols)); err != nil {
		c.err = err
		return Row{}, err
	}
	r := &c.rec
	row := Row{Line: r.line}
	if r.problem != "" {
		row.Code, row.Invalid = r.code, r.problem
		return row, nil
	}
	fields := r.strings()
	if len(c.extras) > 0 {
		row.Extra = make([]Field, 0, len(c.extras))
	}
	if c.line >= 0 {
		row.Prior = &Prior{Status: schema.Status(strings.TrimSpace(fields[c.status]))}
		n, err := parsePriorLine(fields[c.line])
		if err != nil {
			row.Reject(schema.InvalidValue, err.Error())
		}
		row.Prior.Line = n
		row.Prior.parseTimes(column(fields, c.times[0]), column(fields, c.times[1]))
	}
	for i, f := range c.cols {
		if f == noField {
			row.Extra = append(row.Extra, Field{Name: c.names[i], Value: fields[i]})
		} else {
			*f.in(&row.Request) = fields[i]
		}
	}
	complete(&row, c.opt)
	return row, nil
}

// column returns field i, or "" when i is -1.
func column(fields []string, i int) string {
	if i < 0 {
		return ""
	}
	return fields[i]
}

// byteSource hands out the bytes of a reader one at a time, counting lines.
type byteSource struct {
	delim byte      // the byte between fields: ',' unless the header says otherwise
	plain [256]bool // the bytes that end a run of plain bytes in an unquoted field
	r     io.Reader
	buf   []byte
	i, n  int
	err   error        // sticky: io.EOF at the end, or the read error
	line  int          // the line of the next byte, from 1
	read  atomic.Int64 // bytes taken from r
}

func newByteSource(r io.Reader) *byteSource {
	s := &byteSource{r: r, buf: make([]byte, headSize), line: 1}
	s.setDelim(',')
	return s
}

// peek returns the bytes ahead, reading until the buffer is full or the input ends, for the
// header to be judged before it is read. A read error is kept for when the bytes before it
// have been read.
func (s *byteSource) peek() []byte {
	for s.n < len(s.buf) && s.err == nil {
		if s.i > 0 {
			s.n = copy(s.buf, s.buf[s.i:s.n])
			s.i = 0
		}
		n, err := s.r.Read(s.buf[s.n:])
		s.read.Add(int64(n))
		s.n += n
		s.err = err
	}
	return s.buf[s.i:s.n]
}

// fill reads more bytes into the buffer; it reports false at the end or on an error.
func (s *byteSource) fill() bool {
	if s.err != nil {
		return false
	}
	for {
		n, err := s.r.Read(s.buf)
		s.read.Add(int64(n))
		s.i, s.n = 0, n
		if err != nil {
			s.err = err
		}
		if n > 0 {
			return true
		}
		if err != nil {
			return false
		}
	}
}

// skipBOM skips a UTF-8 byte order mark at the very start.
func (s *byteSource) skipBOM() error {
	for s.n-s.i < len(bom) && s.err == nil {
		// Gather the first three bytes, however the reader hands them out.
		keep := copy(s.buf, s.buf[s.i:s.n])
		n, err := s.r.Read(s.buf[keep:])
		s.read.Add(int64(n))
		s.i, s.n, s.err = 0, keep+n, err
	}
	if bytes.HasPrefix(s.buf[s.i:s.n], bom) {
		s.i += len(bom)
	}
	if s.err != nil && !errors.Is(s.err, io.EOF) {
		return s.err
	}
	return nil
}

// lineEnd reports whether c, just read, ends a line: a "\n", or a "\r" before one, which it
// takes too. It counts the line.
func (s *byteSource) lineEnd(c byte) bool {
	switch {
	case c == '\n':
	case c == '\r' && s.peekLF():
		s.i++
	default:
		return false
	}
	s.line++
	return true
}

// peekLF reports whether the next byte is "\n", reading more if needed.
func (s *byteSource) peekLF() bool {
	if s.i >= s.n && !s.fill() {
		return false
	}
	return s.buf[s.i] == '\n'
}

// csvRecord is one CSV record being read: its fields, back to back, or why it is invalid.
type csvRecord struct {
	line    int    // where it starts
	buf     []byte // the fields' values, back to back, up to MaxRecordBytes
	ends    []int  // where each field ends in buf
	fields  int    // fields seen, even past the bounds of ends
	size    int    // bytes of values seen, even past MaxRecordBytes
	quoted  bool   // a field was quoted
	code    schema.Code
	problem string
}

// read reads the next record from s, skipping blank lines. want is the number of fields a
// row must have; 0 reads the header, whose size is checked at once (a stream of /dev/zero
// fails there, not after the end of time). At the end of the input read returns io.EOF.
func (r *csvRecord) read(s *byteSource, want int) error {
	for {
		if err := r.scan(s, want); err != nil {
			return err
		}
		if !r.blank() {
			r.check(want)
			return nil
		}
	}
}

// blank reports whether the record is a line of spaces and tabs, which is skipped.
func (r *csvRecord) blank() bool {
	return r.problem == "" && r.fields == 1 && !r.quoted && len(bytes.Trim(r.buf, " \t\r")) == 0
}

func (r *csvRecord) fail(code schema.Code, format string, args ...any) {
	if r.problem == "" {
		r.code, r.problem = code, fmt.Sprintf(format, args...)
	}
}

// check judges a record read whole: its size, its number of fields, its encoding.
func (r *csvRecord) check(want int) {
	switch {
	case r.problem != "":
	case r.size > MaxRecordBytes:
		r.fail(schema.RecordTooLong, "%s", tooLongReason)
	case want > 0 && r.fields != want:
		r.fail(schema.UnreadableRow, "wrong number of fields: got %d, want %d", r.fields, want)
	case !utf8.Valid(r.buf):
		r.fail(schema.UnreadableRow, "%s", notUTF8(r.buf, func(i int) string {
			f, _ := slices.BinarySearch(r.ends, i+1)
			return fmt.Sprintf("field %d", f+1)
		}, CSV))
	}
}

// add appends a byte of a value, up to MaxRecordBytes.
func (r *csvRecord) add(c byte) {
	r.size++
	if r.size <= MaxRecordBytes {
		r.buf = append(r.buf, c)
	}
}

// addRun appends bytes of a value, up to MaxRecordBytes.
func (r *csvRecord) addRun(b []byte) {
	if room := MaxRecordBytes - r.size; room > 0 {
		r.buf = append(r.buf, b[:min(len(b), room)]...)
	}
	r.size += len(b)
}

// The bytes that end a run of plain bytes in a field.
var quotedStop = stops("\n\r\"")

// setDelim sets the byte between fields.
func (s *byteSource) setDelim(d byte) {
	s.delim, s.plain = d, stops(string([]byte{d, '\n', '\r', '"'}))
}

func stops(special string) (t [256]bool) {
	for i := range len(special) {
		t[special[i]] = true
	}
	return t
}

// span returns how many bytes of b come before one of stop.
func span(b []byte, stop *[256]bool) int {
	for i, c := range b {
		if stop[c] {
			return i
		}
	}
	return len(b)
}

// end ends a field; beyond limit fields, only their number is kept.
func (r *csvRecord) end(limit int) {
	r.fields++
	if r.fields <= limit {
		r.ends = append(r.ends, len(r.buf))
	}
}

// strings returns the fields parsed.
func (r *csvRecord) strings() []string {
	s := string(r.buf) // one allocation for all the values
	fields := make([]string, len(r.ends))
	start := 0
	for i, end := range r.ends {
		fields[i], start = s[start:end], end
	}
	return fields
}

// The states of scan.
const (
	atFieldStart = iota
	inUnquoted
	inQuoted
	afterQuote // a quote inside a quoted field: an escape, the end of the field, or an error
)

// scan reads one record as encoding/csv does with LazyQuotes off: a field that starts with a
// quote is quoted, "" in it stands for ", and "\r\n" is read as "\n". A record ends at a line
// break outside quoted fields. A quote inside an unquoted field (O"Brien) makes the record
// invalid but opens nothing. A quoted field whose closing quote is followed by anything but a
// comma or a line break is broken: no one can tell where its text ends, so the record is
// invalid and from there only its quote characters decide where it ends, each one opening or
// closing: text that may belong to the field is never read as a row. A quoted field that
// never closes makes the rest of the input one record. At the end of the input scan returns
// io.EOF.
func (r *csvRecord) scan(s *byteSource, want int) error {
	*r = csvRecord{line: s.line, buf: r.buf[:0], ends: r.ends[:0]}
	limit := want
	if want == 0 {
		limit = maxHeaderFields
	}
	state := atFieldStart
	broken, open := false, false // a misplaced quote; then, whether quotes are open
	quoteLine := 0               // where the open quote opened
	started := false
	raw := 0 // bytes of the record read, quotes and separators included
	for {
		if s.i >= s.n && !s.fill() {
			if !errors.Is(s.err, io.EOF) {
				return fmt.Errorf("read line %d: %w", s.line, s.err)
			}
			switch {
			case !started:
				return io.EOF
			case broken && open, !broken && state == inQuoted:
				r.problem = ""
				r.fail(schema.UnterminatedQuote, "the quoted field that opens on line %d never closes: lines %d to %d, the end of the input, are one unterminated record, and none of them is read as a row",
					quoteLine, r.line, s.line)
			case !broken:
				r.end(limit)
			}
			return nil
		}
		c := s.buf[s.i]
		s.i++
		started = true
		raw++
		// The header's bytes are counted as read, not as values: a broken header whose
		// quotes keep it open (or shut) must fail too, not read an endless input forever.
		if want == 0 && raw > MaxRecordBytes {
			return fmt.Errorf("header on line %d: longer than %d bytes: is this a CSV file?", r.line, MaxRecordBytes)
		}
		if broken {
			switch c {
			case '"':
				if open = !open; open {
					quoteLine = s.line
				}
			case '\n':
				s.line++
				if !open {
					r.spanned(s.line - 1)
					return nil
				}
			}
			continue
		}
		if state != inQuoted {
			if s.lineEnd(c) {
				r.end(limit)
				return nil
			}
			if c == s.delim {
				r.end(limit)
				state = atFieldStart
				continue
			}
		}
		switch state {
		case atFieldStart, inUnquoted:
			if c == '"' {
				if state == atFieldStart {
					state, r.quoted, quoteLine = inQuoted, true, s.line
					continue
				}
				// A quote inside an unquoted field opens nothing, for this reader as for
				// spreadsheets and most others: the record still ends with its line.
				r.fail(schema.UnreadableRow, `field %d: bare " in an unquoted field`, r.fields+1)
			}
			state = inUnquoted
			r.add(c) // c may be a "\r" whose peek refilled the buffer: add it on its own
			if err := r.takeRun(s, &s.plain, &raw, want == 0); err != nil {
				return err
			}
		case inQuoted:
			switch c {
			case '"':
				state = afterQuote
			case '\n':
				s.line++
				r.add('\n')
			case '\r':
				if s.peekLF() {
					s.i++
					s.line++
					c = '\n'
				}
				r.add(c)
			default:
				r.add(c)
				if err := r.takeRun(s, &quotedStop, &raw, want == 0); err != nil {
					return err
				}
			}
		case afterQuote:
			if c == '"' {
				r.add('"')
				state = inQuoted
				continue
			}
			r.fail(schema.UnreadableRow, `field %d: extraneous or missing " in a quoted field (line %d)`, r.fields+1, s.line)
			broken, open = true, false
		}
	}
}

// takeRun adds the plain bytes that follow in s, up to the next one in stop, to r at once: the
// common case. It counts them in raw; past MaxRecordBytes, a header is an error.
func (r *csvRecord) takeRun(s *byteSource, stop *[256]bool, raw *int, header bool) error {
	j := s.i + span(s.buf[s.i:s.n], stop)
	r.addRun(s.buf[s.i:j])
	*raw += j - s.i
	s.i = j
	if header && *raw > MaxRecordBytes {
		return fmt.Errorf("header on line %d: longer than %d bytes: is this a CSV file?", r.line, MaxRecordBytes)
	}
	return nil
}

// spanned notes, on a broken record, the lines it took.
func (r *csvRecord) spanned(last int) {
	if last > r.line {
		r.problem += fmt.Sprintf("; by its quotes the record runs from line %d to line %d, and no line of it is read as a row", r.line, last)
	}
}
