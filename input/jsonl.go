package input

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/bulklink/bulklink/schema"
)

// jsonlReader reads JSONL rows.
type jsonlReader struct {
	opt   Options
	count *countingReader
	lines *lineReader
}

// NewJSONL returns a reader of the JSONL in r: one JSON object per line, blank lines skipped.
// An object has either the CSV column names as keys or the AWS request's shape:
//
//	{"UserPoolId": "...",
//	 "DestinationUser": {"ProviderName": "...", "ProviderAttributeName": "...", "ProviderAttributeValue": "..."},
//	 "SourceUser": {"ProviderName": "...", "ProviderAttributeName": "...", "ProviderAttributeValue": "..."}}
//
// on one line. Keys match case-insensitively; null stands for a missing value. Cognito ignores
// the destination's ProviderAttributeName, and so does the reader. Other keys are carried
// through in the order they appear (reserved ones renamed, see the package doc), string
// values as they are and other values as compact JSON. A string with an unpaired surrogate
// escape ("\ud800") makes the row invalid: decoding would silently turn it into U+FFFD.
// Unlike NewCSV and Open, NewJSONL does not refuse an invalid opt.UserPoolID: the rows that
// take it are invalid.
func NewJSONL(r io.Reader, opt Options) Reader {
	c := &countingReader{r: r, n: new(atomic.Int64)}
	return &jsonlReader{opt: opt, count: c, lines: newLineReader(c)}
}

func (j *jsonlReader) Columns() []string { return nil }

func (j *jsonlReader) Position() (int64, int64) { return j.count.n.Load(), -1 }

func (j *jsonlReader) Close() error { return nil }

func (j *jsonlReader) Next() (Row, error) {
	for {
		ln, err := j.lines.next()
		if err != nil {
			return Row{}, err
		}
		switch {
		case ln.tooLong:
			return Row{Line: ln.n, Code: schema.RecordTooLong, Invalid: tooLongReason}, nil
		case isBlank(ln.text):
			continue
		case !utf8.Valid(ln.text):
			return Row{Line: ln.n, Code: schema.UnreadableRow, Invalid: notUTF8(ln.text, func(i int) string {
				return fmt.Sprintf("column %d", utf8.RuneCount(ln.text[:i])+1)
			}, JSONL)}, nil
		}
		if esc := unpairedSurrogate(ln.text); esc != "" {
			return Row{Line: ln.n, Code: schema.UnreadableRow, Invalid: fmt.Sprintf(
				`unpaired surrogate %s in a JSON string: it stands for no character, and decoding would turn it into U+FFFD`, esc)}, nil
		}
		o := jsonRow{row: Row{Line: ln.n}}
		if err := eachKey(ln.text, o.key); err != nil {
			return Row{Line: ln.n, Code: schema.UnreadableRow, Invalid: "bad JSON: " + err.Error()}, nil
		}
		o.settle()
		complete(&o.row, j.opt)
		return o.row, nil
	}
}

// jsonRow builds a row from the keys of a JSON object.
type jsonRow struct {
	row     Row
	set     [numFields]bool // the request fields given so far
	carried []jsonKey       // the keys carried through, in order
}

type jsonKey struct {
	name string
	v    json.RawMessage
}

// fail makes the row invalid, unless it is already.
func (o *jsonRow) fail(format string, args ...any) {
	o.row.Reject(schema.UnreadableRow, fmt.Sprintf(format, args...))
}

// key takes in one key of the object.
func (o *jsonRow) key(key string, v json.RawMessage) {
	switch k := strings.ToLower(strings.TrimSpace(key)); k {
	case "userpoolid":
		o.field(userPoolID, key, v)
	case "destinationuser":
		o.user(key, v, destinationProvider, noField, destinationUser)
	case "sourceuser":
		o.user(key, v, sourceProvider, sourceAttribute, sourceValue)
	default:
		if f := fieldOf(k); f != noField {
			o.field(f, key, v)
			return
		}
		if r, ok := nameControl(key); ok {
			o.fail("key %q holds control character %U: %s", key, r, namesHold)
			return // not carried: a report's header must not hold it
		}
		for _, c := range o.carried {
			if strings.EqualFold(strings.TrimSpace(c.name), strings.TrimSpace(key)) {
				o.fail("key %q given twice", key)
				return
			}
		}
		o.carried = append(o.carried, jsonKey{key, v})
	}
}

// settle makes the carried keys the row's extras, once the whole object is read, and its
// Prior when it has a report's line and status.
func (o *jsonRow) settle() {
	names := make([]string, len(o.carried))
	var line, status *jsonKey
	var finishedAt, duration string
	for i := range o.carried {
		k := &o.carried[i]
		names[i] = k.name
		switch l, s := isPrior(k.name); {
		case l:
			line = k
		case s:
			status = k
		default:
			switch strings.ToLower(strings.TrimSpace(k.name)) {
			case schema.ColFinishedAt:
				if kindOf(k.v) == "string" {
					finishedAt = unquote(k.v)
				}
			case schema.ColDurationMS:
				duration = string(k.v)
			}
		}
	}
	if line != nil && status != nil {
		o.row.Prior = &Prior{}
		o.priorLine(line.name, line.v)
		if s, ok := o.stringOf(status.name, status.v); ok {
			o.row.Prior.Status = schema.Status(strings.TrimSpace(s))
		}
		o.row.Prior.parseTimes(finishedAt, duration)
	}
	for i, name := range schema.Rename(names) {
		o.extra(name, o.carried[i].v)
	}
}

// user takes in a DestinationUser or SourceUser object. Its ProviderAttributeName goes to
// the attribute field, or nowhere when that is noField.
func (o *jsonRow) user(name string, v json.RawMessage, provider, attribute, value field) {
	if kind := kindOf(v); kind != "object" {
		if kind != "null" {
			o.fail("%s: want an object, got %s", name, kind)
		}
		return
	}
	_ = eachKey(v, func(key string, v json.RawMessage) { // v is valid JSON: no error
		path := name + "." + key
		switch strings.ToLower(strings.TrimSpace(key)) {
		case "providername":
			o.field(provider, path, v)
		case "providerattributename":
			if attribute == noField {
				o.stringOf(path, v) // type-checked, then ignored as Cognito does
				return
			}
			o.field(attribute, path, v)
		case "providerattributevalue":
			o.field(value, path, v)
		default:
			o.fail("%s: unknown key %q", name, key)
		}
	})
}

// field sets a request field, once.
func (o *jsonRow) field(f field, key string, v json.RawMessage) {
	s, ok := o.stringOf(key, v)
	if !ok {
		return
	}
	if o.set[f] {
		o.fail("%s given twice", f)
		return
	}
	o.set[f] = true
	*f.in(&o.row.Request) = s
}

// stringOf decodes a string value. It reports false for null, and for other kinds after failing
// the row.
func (o *jsonRow) stringOf(key string, v json.RawMessage) (string, bool) {
	switch kind := kindOf(v); kind {
	case "string":
		return unquote(v), true
	case "null":
		return "", false
	default:
		o.fail("%s: want a string, got %s", key, kind)
		return "", false
	}
}

// priorLine takes in a report's line: a number, or a string holding one.
func (o *jsonRow) priorLine(key string, v json.RawMessage) {
	text := string(v)
	switch kind := kindOf(v); kind {
	case "null":
		return
	case "string":
		text = unquote(v)
	case "number":
	default:
		o.row.Reject(schema.InvalidValue, fmt.Sprintf("%s: want a number, got %s", key, kind))
		return
	}
	n, err := parsePriorLine(text)
	if err != nil {
		o.row.Reject(schema.InvalidValue, err.Error())
	}
	o.row.Prior.Line = n
}

// extra carries a key bulklink does not use through to the report.
func (o *jsonRow) extra(name string, v json.RawMessage) {
	value := string(v)
	if kindOf(v) == "string" {
		value = unquote(v)
	} else if bytes.ContainsAny(v, " \t\r\n") {
		var b bytes.Buffer
		if err := json.Compact(&b, v); err == nil {
			value = b.String()
		}
	}
	o.row.Extra = append(o.row.Extra, Field{Name: name, Value: value, JSON: kindOf(v) != "string"})
}

// eachKey calls fn with each key of the JSON object in data and its value, in order. It fails
// when data is not exactly one valid JSON object.
func eachKey(data []byte, fn func(key string, v json.RawMessage)) error {
	err := decodeObject(data, fn)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("unexpected end of line") // the object goes on past its line
	}
	return err
}

// decodeObject does the work of eachKey, with the decoder's errors.
func decodeObject(data []byte, fn func(key string, v json.RawMessage)) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok != json.Delim('{') {
		return fmt.Errorf("want an object, got %s", kindOf(data))
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string) // the decoder takes nothing else for a key
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return err
		}
		fn(key, v)
	}
	if _, err := dec.Token(); err != nil { // the }
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("unexpected data after the object")
	}
	return nil
}

// kindOf returns the kind of the JSON value v: object, array, string, number, boolean or null.
func kindOf(v []byte) string {
	v = bytes.TrimLeft(v, " \t\r\n")
	if len(v) == 0 {
		return "nothing"
	}
	switch v[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

// unquote decodes a JSON string literal, known to be valid.
func unquote(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	if bytes.IndexByte(v, '\\') < 0 {
		return string(v[1 : len(v)-1])
	}
	var s string
	_ = json.Unmarshal(v, &s)
	return s
}

// unpairedSurrogate returns the first \u escape in the JSON text that is half of a surrogate
// pair without its other half, or "". Backslashes outside strings are not valid JSON, so
// scanning escapes from the first backslash on finds only those inside strings.
func unpairedSurrogate(text []byte) string {
	high := "" // a high surrogate escape waiting for its low half
	for i := 0; i < len(text); i++ {
		if text[i] != '\\' || i+1 >= len(text) {
			if high != "" && text[i] != '\\' {
				return high
			}
			continue
		}
		i++
		if text[i] != 'u' || i+4 >= len(text) {
			if high != "" {
				return high
			}
			continue
		}
		esc := string(text[i-1 : i+5])
		u, err := strconv.ParseUint(string(text[i+1:i+5]), 16, 32)
		if err != nil {
			continue // not hex: the decoder refuses the row anyway
		}
		r := rune(u)
		i += 4
		switch {
		case r >= 0xD800 && r <= 0xDBFF:
			if high != "" {
				return high
			}
			high = esc
		case r >= 0xDC00 && r <= 0xDFFF:
			if high == "" {
				return esc
			}
			high = ""
		default:
			if high != "" {
				return high
			}
		}
	}
	return high
}
