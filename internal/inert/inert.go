// Package inert makes text safe to show on a terminal: whatever an input file, a report or a
// Cognito endpoint put in it, a terminal shows it and acts on none of it. An escape sequence
// could clear the screen (ESC [2J), hide what follows (ESC [8m), move the cursor back over a
// line (CR, BS) or retitle the window; a C1 control (U+009B is a CSI of its own) does the same
// on terminals that take them; invisible formatting characters (zero-width characters, tags)
// and bidi marks, overrides and isolates (U+202E) change what a person reads. kubectl escapes
// such text since CVE-2021-25743; bulklink escapes more of it.
//
// What is escaped: every rune that strconv.IsPrint rejects, which is every control character
// (C0, DEL, C1), every format character (Unicode Cf, bidi controls among them), every space
// but U+0020, the line and paragraph separators, private-use and unassigned code points; the
// letters Unicode marks default-ignorable (U+3164 HANGUL FILLER), which terminals draw as
// nothing; and invalid UTF-8, byte by byte. Each is written as Go writes it in a string
// literal: \x1b, \r, \x7f, \u009b, \u202e, \U000e0001, and \xff for a byte that is no UTF-8.
//
// The package is written here rather than taken from a library: kubectl's escaper
// (k8s.io/cli-runtime/pkg/printers.EscapeTerminal) replaces ESC and CR only, and leaves C1
// controls, bidi overrides and invisible characters as they are; the ANSI libraries
// (charmbracelet/x/ansi and its kin) strip escape sequences, which hides the attack rather
// than showing it, and leave the rest. The standard library has the rule, though: which
// runes are printable is strconv.IsPrint's (Go's Unicode tables), and the escapes are Go's
// own, so that a quoted value reads back with strconv.Unquote.
//
// Three shapes of text, three functions:
//   - Value is for a value shown on its own, a table cell: it is shown as it is when nothing
//     in it needs escaping, else quoted as a Go string literal, "\x1b[2Jbob", which marks it.
//     Two different values never look alike: see Value.
//   - Line and Text are for messages that bulklink composed (errors, summaries, log
//     messages), whose values it quotes already (%q, Value): they escape what a terminal
//     acts on and leave backslashes alone, so that a quoted value is not escaped twice.
//     They are inert, not injective: in text bulklink did not quote, an ESC and the four
//     characters \x1b look alike.
//   - JSON is for JSON text: a JSON log line, a JSONL record on a terminal. It writes the
//     runes that a terminal acts on as JSON's \u escapes, so that the values are unchanged.
package inert

import (
	"strconv"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Acts reports whether a terminal acts on r, or shows it as nothing, rather than showing it:
// the runes this package escapes.
func Acts(r rune) bool {
	return !strconv.IsPrint(r) || r >= utf8.RuneSelf && unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r)
}

// Value returns v as it is when every rune of it is shown as itself, it does not start with
// a double quote, and it neither starts nor ends with a space; else v as a Go string
// literal, in double quotes, with every rune a terminal acts on escaped, and " and \ too.
// So a value shown unquoted is exactly the value, and a value shown quoted is exactly what
// strconv.Unquote gives back: "bob " and "bob", an ESC and a literal \x1b, never look alike.
func Value(v string) string {
	if !needsQuotes(v) {
		return v
	}
	b := make([]byte, 0, len(v)+8)
	b = append(b, '"')
	for i := 0; i < len(v); {
		r, n := utf8.DecodeRuneInString(v[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b = appendByteEscape(b, v[i])
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case Acts(r):
			b = appendEscape(b, r)
		default:
			b = append(b, v[i:i+n]...)
		}
		i += n
	}
	return string(append(b, '"'))
}

func needsQuotes(v string) bool {
	if v == "" {
		return false
	}
	if v[0] == '"' || v[0] == ' ' || v[len(v)-1] == ' ' {
		return true
	}
	return index(v, "") >= 0
}

// Line returns s, one line of text, with every rune a terminal acts on escaped, tabs and
// line feeds included. Backslashes are left as they are.
func Line(s string) string { return escape(s, "") }

// Text returns s, lines of text, with every rune a terminal acts on escaped but the line
// feeds that end its lines. Backslashes are left as they are.
func Text(s string) string { return escape(s, "\n") }

// escape escapes in s the runes a terminal acts on, but those of keep.
func escape(s, keep string) string {
	i := index(s, keep)
	if i < 0 {
		return s
	}
	b := make([]byte, 0, len(s)+8)
	b = append(b, s[:i]...)
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b = appendByteEscape(b, s[i])
		case Acts(r) && !contains(keep, r):
			b = appendEscape(b, r)
		default:
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return string(b)
}

// index returns the index in s of the first rune a terminal acts on, but those of keep, or
// of the first byte that is not UTF-8; -1 when there is none.
func index(s, keep string) int {
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || Acts(r) && !contains(keep, r) {
			return i
		}
		i += n
	}
	return -1
}

func contains(keep string, r rune) bool {
	for _, k := range keep {
		if k == r {
			return true
		}
	}
	return false
}

// appendEscape appends r as a Go string literal writes it.
func appendEscape(b []byte, r rune) []byte {
	const hex = "0123456789abcdef"
	switch r {
	case '\a':
		return append(b, `\a`...)
	case '\b':
		return append(b, `\b`...)
	case '\f':
		return append(b, `\f`...)
	case '\n':
		return append(b, `\n`...)
	case '\r':
		return append(b, `\r`...)
	case '\t':
		return append(b, `\t`...)
	case '\v':
		return append(b, `\v`...)
	}
	switch {
	case r < utf8.RuneSelf:
		return appendByteEscape(b, byte(r))
	case r <= 0xffff:
		b = append(b, `\u`...)
		for s := 12; s >= 0; s -= 4 {
			b = append(b, hex[r>>uint(s)&0xf])
		}
	default:
		b = append(b, `\U`...)
		for s := 28; s >= 0; s -= 4 {
			b = append(b, hex[r>>uint(s)&0xf])
		}
	}
	return b
}

func appendByteEscape(b []byte, c byte) []byte {
	const hex = "0123456789abcdef"
	return append(b, '\\', 'x', hex[c>>4], hex[c&0xf])
}

// JSON returns the JSON text b (a value, or lines of them) with DEL and every other rune a
// terminal acts on that is not ASCII written as a JSON \u escape (a UTF-16 surrogate pair
// above U+FFFF), and each byte that is no UTF-8 as \ufffd, which is how JSON decoders read
// it. Such runes can only stand inside JSON strings, where the escape decodes to the same
// rune: b keeps its values. The other ASCII bytes are left as they are: JSON encoders escape
// the ASCII control characters inside strings (encoding/json, zap, strconv do), and between
// values JSON allows only spaces, tabs, line feeds and carriage returns. b is returned
// itself when it holds nothing to escape.
func JSON(b []byte) []byte {
	i := jsonIndex(b)
	if i < 0 {
		return b
	}
	out := make([]byte, 0, len(b)+12)
	out = append(out, b[:i]...)
	for i < len(b) {
		c := b[i]
		if c < utf8.RuneSelf && c != 0x7f {
			out = append(out, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			out = append(out, `\ufffd`...)
		case Acts(r):
			if r1, r2 := utf16.EncodeRune(r); r1 != utf8.RuneError {
				out = appendJSONEscape(appendJSONEscape(out, r1), r2)
			} else {
				out = appendJSONEscape(out, r)
			}
		default:
			out = append(out, b[i:i+n]...)
		}
		i += n
	}
	return out
}

// jsonIndex returns the index of the first byte of b that JSON escapes, or -1.
func jsonIndex(b []byte) int {
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			if b[i] == 0x7f {
				return i
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 || Acts(r) {
			return i
		}
		i += n
	}
	return -1
}

func appendJSONEscape(b []byte, r rune) []byte {
	const hex = "0123456789abcdef"
	return append(b, '\\', 'u', hex[r>>12&0xf], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf])
}
