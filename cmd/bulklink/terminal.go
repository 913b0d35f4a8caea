package main

import (
	"go.uber.org/zap/buffer"
	"go.uber.org/zap/zapcore"

	"github.com/bulklink/bulklink/internal/inert"
)

// What bulklink prints for a person passes two choke points on its way out: the redactor
// scrubs the secrets from it (redact.go), then package inert makes it inert, so that
// nothing an input file, a report or a Cognito endpoint put in it reaches the terminal as a
// control sequence. The messages printed to stderr go through env.line and env.text, the
// log through inertEncoder; the values bulklink places in what it prints are quoted with
// inert.Value. Machine outputs are left exact: the reports, and the rows `bulklink report`
// prints as CSV or JSONL into a pipe or a file. docs/terminal.md says what is escaped, how,
// and where.

// asShown is a value as a message shows it: itself, or quoted as a Go string when a terminal
// would act on it (inert.Value).
func asShown(v string) string { return inert.Value(v) }

// line returns one line of text for the operator: scrubbed of secrets, then inert.
func (e env) line(s string) string { return inert.Line(e.red.String(s)) }

// text returns lines of text for the operator, as line does.
func (e env) text(s string) string { return inert.Text(e.red.String(s)) }

// inertEncoder makes the log's lines inert. A console line's message, which zap writes as it
// is, is escaped as bulklink's messages are (inert.Line); the fields, which zap writes as
// JSON in either format, and a JSON line's message get the runes that zap leaves raw (DEL,
// C1 controls, bidi and invisible formatting characters: zap escapes only the ASCII
// controls) as JSON \u escapes, which decode to the same text (inert.JSON). A console line
// holds no other rune to escape: its time, level, colours and separators are bulklink's.
type inertEncoder struct {
	zapcore.Encoder
	console bool
}

func (e inertEncoder) Clone() zapcore.Encoder { return inertEncoder{e.Encoder.Clone(), e.console} }

func (e inertEncoder) EncodeEntry(ent zapcore.Entry, fields []zapcore.Field) (*buffer.Buffer, error) {
	if e.console {
		ent.Message = inert.Line(ent.Message)
	}
	buf, err := e.Encoder.EncodeEntry(ent, fields)
	if err != nil {
		return buf, err
	}
	if escaped := inert.JSON(buf.Bytes()); len(escaped) != buf.Len() { // escapes only lengthen
		buf.Reset()
		buf.Write(escaped)
	}
	return buf, nil
}
