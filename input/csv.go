package input

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// csvReader reads CSV rows. See the package doc for how it recovers from bad records.
type csvReader struct {
	nopCloser
	opt    Options
	lines  *lineReader
	p      csvParser
	cols   []column // what each field holds, in header order
	names  []string // each field's name in the header
	extras []string // names of the extra columns, in header order
	prior  bool     // the header has a line or status column
}

// NewCSV returns a reader of the CSV in r. It reads the header at once, and fails when r is
// empty, the header cannot be read, a column has no name or the name of another, or a required
// column is missing: destination_user, source_provider, source_value, and user_pool_id unless
// opt.UserPoolID is set.
func NewCSV(r io.Reader, opt Options) (Reader, error) {
	if err := opt.check(); err != nil {
		return nil, err
	}
	c := &csvReader{opt: opt, lines: newLineReader(r)}
	n, names, reason, err := c.record(0)
	if errors.Is(err, io.EOF) {
		return nil, errors.New("empty input: want a header row")
	}
	if err != nil {
		return nil, err
	}
	if reason != "" {
		return nil, fmt.Errorf("header on line %d: %s", n, reason)
	}
	if err := c.header(names); err != nil {
		return nil, fmt.Errorf("header on line %d: %w", n, err)
	}
	return c, nil
}

// header learns the columns from the header's names.
func (c *csvReader) header(names []string) error {
	c.names = names
	c.cols = make([]column, len(names))
	seen := make(map[string]int, len(names))
	var has [reportOnly + 1]bool
	for i, name := range names {
		key := strings.ToLower(strings.TrimSpace(name))
		if key == "" {
			return fmt.Errorf("column %d has no name", i+1)
		}
		if j, dup := seen[key]; dup {
			return fmt.Errorf("columns %d and %d have the same name %q", j+1, i+1, key)
		}
		seen[key] = i
		c.cols[i] = columnOf(key)
	}
	// Only a header with both line and status is a bulklink report's: elsewhere, columns
	// that happen to share a report column's name are the user's, carried through.
	_, hasLine := seen[priorLine.String()]
	_, hasStatus := seen[priorStatus.String()]
	c.prior = hasLine && hasStatus
	for i, col := range c.cols {
		if !c.prior && col >= priorLine {
			col, c.cols[i] = extraColumn, extraColumn
		}
		has[col] = true
		if col == extraColumn {
			c.extras = append(c.extras, names[i])
		}
	}
	var missing []string
	for _, col := range [...]column{userPoolID, destinationUser, sourceProvider, sourceValue} {
		if !has[col] && (col != userPoolID || c.opt.UserPoolID == "") {
			missing = append(missing, col.String())
		}
	}
	switch {
	case len(missing) == 4:
		return fmt.Errorf("missing columns %s (is the first line a header?)", strings.Join(missing, ", "))
	case len(missing) > 0 && missing[0] == "user_pool_id":
		return fmt.Errorf("missing columns %s (or set --user-pool-id)", strings.Join(missing, ", "))
	case len(missing) > 0:
		return fmt.Errorf("missing columns %s", strings.Join(missing, ", "))
	}
	return nil
}

func (c *csvReader) Columns() []string { return c.extras }

func (c *csvReader) Next() (Row, error) {
	n, fields, reason, err := c.record(len(c.cols))
	if err != nil {
		return Row{}, err
	}
	if reason != "" {
		return Row{Line: n, Invalid: reason}, nil
	}
	row := Row{Line: n}
	if len(c.extras) > 0 {
		row.Extra = make([]Field, 0, len(c.extras))
	}
	if c.prior {
		row.Prior = new(Prior)
	}
	for i, col := range c.cols {
		v := fields[i]
		switch {
		case col.isRequest():
			*col.in(&row.Request) = v
		case col == extraColumn:
			row.Extra = append(row.Extra, Field{Name: c.names[i], Value: v})
		case col == priorLine:
			line, err := parsePriorLine(v)
			if err != nil && row.Invalid == "" {
				row.Invalid = err.Error()
			}
			row.Prior.Line = line
		case col == priorStatus:
			row.Prior.Status = strings.TrimSpace(v)
		}
	}
	complete(&row, c.opt)
	return row, nil
}

// record reads the next record that has want fields (any number when want is 0), skipping
// blank lines. It returns the line the record starts on and either its fields or the reason
// it cannot be read. A record that runs past the end of its first line inside a quoted field
// must end well-formed within the bounds; if it does not, its first line is reported and the
// lines after it are read again as records of their own.
func (c *csvReader) record(want int) (n int, fields []string, reason string, err error) {
	var first line
	for {
		first, err = c.lines.next()
		if err != nil {
			return 0, nil, "", err
		}
		if first.tooLong {
			return first.n, nil, tooLongReason, nil
		}
		if !isBlank(first.text) {
			break
		}
	}
	c.p.reset()
	more, perr := c.p.feed(first.text)
	if perr != nil {
		return first.n, nil, perr.Error(), nil
	}
	if more {
		field := c.p.fields() + 1 // the one left open
		if ok, err := c.continued(len(first.text), want); err != nil || !ok {
			return first.n, nil, fmt.Sprintf("field %d: unterminated quoted field", field), err
		}
	}
	if got := c.p.fields(); want > 0 && got != want {
		return first.n, nil, fmt.Sprintf("wrong number of fields: got %d, want %d", got, want), nil
	}
	if !utf8.Valid(c.p.buf) {
		return first.n, nil, "invalid UTF-8", nil
	}
	return first.n, c.p.strings(), "", nil
}

// continued feeds the parser the lines that continue a record whose first line, size bytes
// long, ended inside a quoted field. It reports whether the record ended well-formed within
// the bounds. When it did not, the lines it read are given back.
func (c *csvReader) continued(size, want int) (ok bool, err error) {
	var held []line
	for len(held) < MaxRecordLines-1 {
		ln, err := c.lines.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return false, err
		}
		held = append(held, line{n: ln.n, text: bytes.Clone(ln.text), tooLong: ln.tooLong})
		if size += len(ln.text) + 1; ln.tooLong || size > MaxLineBytes {
			break
		}
		more, perr := c.p.feed(ln.text)
		if perr != nil {
			break
		}
		if !more {
			if want == 0 || c.p.fields() == want {
				return true, nil
			}
			break
		}
	}
	c.lines.unread(held)
	return false, nil
}

// csvParser parses one record, line by line, as encoding/csv does with LazyQuotes off.
type csvParser struct {
	buf    []byte // the fields' values, back to back
	ends   []int  // where each finished field ends in buf
	quoted bool   // the last line fed ended inside a quoted field
}

func (p *csvParser) reset() {
	p.buf, p.ends, p.quoted = p.buf[:0], p.ends[:0], false
}

// fields returns the number of fields finished so far.
func (p *csvParser) fields() int { return len(p.ends) }

// strings returns the fields parsed.
func (p *csvParser) strings() []string {
	s := string(p.buf) // one allocation for all the values
	fields := make([]string, len(p.ends))
	start := 0
	for i, end := range p.ends {
		fields[i], start = s[start:end], end
	}
	return fields
}

// feed parses one more line of the record. It reports whether the record goes on to the next
// line, inside a quoted field.
func (p *csvParser) feed(text []byte) (more bool, err error) {
	inQuotes := p.quoted
	if inQuotes {
		p.buf = append(p.buf, '\n')
	}
	p.quoted = false
	for i := 0; ; {
		if !inQuotes {
			if i < len(text) && text[i] == '"' {
				inQuotes = true
				i++
				continue
			}
			end := len(text)
			if j := bytes.IndexByte(text[i:], ','); j >= 0 {
				end = i + j
			}
			field := text[i:end]
			if bytes.IndexByte(field, '"') >= 0 {
				return false, fmt.Errorf(`field %d: bare " in unquoted field`, len(p.ends)+1)
			}
			p.buf = append(p.buf, field...)
			p.ends = append(p.ends, len(p.buf))
			if end == len(text) {
				return false, nil
			}
			i = end + 1
			continue
		}
		j := bytes.IndexByte(text[i:], '"')
		if j < 0 {
			p.buf = append(p.buf, text[i:]...)
			p.quoted = true
			return true, nil
		}
		p.buf = append(p.buf, text[i:i+j]...)
		i += j + 1
		switch {
		case i < len(text) && text[i] == '"': // "" stands for "
			p.buf = append(p.buf, '"')
			i++
		case i < len(text) && text[i] == ',':
			p.ends = append(p.ends, len(p.buf))
			inQuotes = false
			i++
		case i == len(text):
			p.ends = append(p.ends, len(p.buf))
			return false, nil
		default:
			return false, fmt.Errorf(`field %d: extraneous or missing " in quoted field`, len(p.ends)+1)
		}
	}
}
