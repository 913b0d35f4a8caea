package input

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// jsonlReader reads JSONL rows.
type jsonlReader struct {
	nopCloser
	opt   Options
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
// through as extras in the order they appear, string values as they are and other values as
// compact JSON. Unlike NewCSV and Open, NewJSONL does not refuse an invalid opt.UserPoolID:
// the rows that take it are invalid.
func NewJSONL(r io.Reader, opt Options) Reader {
	return &jsonlReader{opt: opt, lines: newLineReader(r)}
}

func (j *jsonlReader) Columns() []string { return nil }

func (j *jsonlReader) Next() (Row, error) {
	for {
		ln, err := j.lines.next()
		if err != nil {
			return Row{}, err
		}
		switch {
		case ln.tooLong:
			return Row{Line: ln.n, Invalid: tooLongReason}, nil
		case isBlank(ln.text):
			continue
		case !utf8.Valid(ln.text):
			return Row{Line: ln.n, Invalid: "invalid UTF-8"}, nil
		}
		o := jsonRow{row: Row{Line: ln.n}}
		if err := eachKey(ln.text, o.key); err != nil {
			return Row{Line: ln.n, Invalid: "bad JSON: " + err.Error()}, nil
		}
		o.settle()
		complete(&o.row, j.opt)
		return o.row, nil
	}
}

// jsonRow builds a row from the keys of a JSON object.
type jsonRow struct {
	row Row
	set [sourceValue + 1]bool // the request fields given so far
	// report holds the keys a bulklink report has beside the request's (line, status...):
	// they are the row's Prior only when the object has both line and status, and else
	// the user's own keys, carried through.
	report []jsonKey
}

type jsonKey struct {
	col  column
	name string
	v    json.RawMessage
}

// settle decides the report keys once the whole object is read.
func (o *jsonRow) settle() {
	var line, status bool
	for _, k := range o.report {
		line = line || k.col == priorLine
		status = status || k.col == priorStatus
	}
	for _, k := range o.report {
		switch {
		case !line || !status:
			o.extra(k.name, k.v)
		case k.col == priorLine:
			o.priorLine(k.name, k.v)
		case k.col == priorStatus:
			p := o.prior()
			if s, ok := o.stringOf(k.name, k.v); ok {
				p.Status = strings.TrimSpace(s)
			}
		}
	}
}

// fail makes the row invalid, unless it is already.
func (o *jsonRow) fail(format string, args ...any) {
	if o.row.Invalid == "" {
		o.row.Invalid = fmt.Sprintf(format, args...)
	}
}

// key takes in one key of the object.
func (o *jsonRow) key(key string, v json.RawMessage) {
	switch k := strings.ToLower(strings.TrimSpace(key)); k {
	case "userpoolid":
		o.field(userPoolID, key, v)
	case "destinationuser":
		o.user(key, v, destinationProvider, extraColumn, destinationUser)
	case "sourceuser":
		o.user(key, v, sourceProvider, sourceAttribute, sourceValue)
	default:
		switch col := columnOf(k); {
		case col.isRequest():
			o.field(col, key, v)
		case col >= priorLine:
			o.report = append(o.report, jsonKey{col, key, v})
		default:
			o.extra(key, v)
		}
	}
}

// user takes in a DestinationUser or SourceUser object. Its ProviderAttributeName goes to
// the attribute column, or nowhere when that is extraColumn.
func (o *jsonRow) user(name string, v json.RawMessage, provider, attribute, value column) {
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
			if attribute == extraColumn {
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
func (o *jsonRow) field(col column, key string, v json.RawMessage) {
	s, ok := o.stringOf(key, v)
	if !ok {
		return
	}
	if o.set[col] {
		o.fail("%s given twice", col)
		return
	}
	o.set[col] = true
	*col.in(&o.row.Request) = s
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

// prior returns the row's Prior, made on the first report key.
func (o *jsonRow) prior() *Prior {
	if o.row.Prior == nil {
		o.row.Prior = new(Prior)
	}
	return o.row.Prior
}

// priorLine takes in a report's line: a number, or a string holding one.
func (o *jsonRow) priorLine(key string, v json.RawMessage) {
	p := o.prior()
	text := string(v)
	switch kind := kindOf(v); kind {
	case "null":
		return
	case "string":
		text = unquote(v)
	case "number":
	default:
		o.fail("%s: want a number, got %s", key, kind)
		return
	}
	n, err := parsePriorLine(text)
	if err != nil {
		o.fail("%v", err)
	}
	p.Line = n
}

// extra carries a key bulklink does not use through to the report.
func (o *jsonRow) extra(key string, v json.RawMessage) {
	for _, f := range o.row.Extra {
		if strings.EqualFold(f.Name, key) {
			o.fail("key %q given twice", key)
			return
		}
	}
	value := string(v)
	if kindOf(v) == "string" {
		value = unquote(v)
	} else if bytes.ContainsAny(v, " \t\r\n") {
		var b bytes.Buffer
		if err := json.Compact(&b, v); err == nil {
			value = b.String()
		}
	}
	o.row.Extra = append(o.row.Extra, Field{Name: key, Value: value, JSON: kindOf(v) != "string"})
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
