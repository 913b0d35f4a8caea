package inert

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// hostile are values a terminal would act on, or show as something else.
var hostile = []string{
	"\x1b[2Jbob", "al\x1b[8mice", "\u202eevil", "c\u009b2Jx", "\x1b]0;title\x07", "back\bspace", "car\rriage",
	"del\x7f", "zero\u200bwidth", "tag\U000e0001", "iso\u2066late\u2069", "nbsp\u00a0", "filler\u3164", "line\u2028sep",
	"bad\xffutf8", "nul\x00", "nel\u0085", "bom\ufeff", "private\ue000",
}

// shownAsIs are values that need no escaping, and are shown as they are by every function.
var shownAsIs = []string{"", "bob", "alice@example.com", `CORP\alice`, `lit\x1b[2J`, `a"b`, "Zoë 日本 😀", "e\u0301", "❤\ufe0f"}

// inertRune is the test's own idea of what a terminal acts on, from the Unicode tables.
func inertRune(r rune) bool {
	return !unicode.IsControl(r) && !unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Co) &&
		!(unicode.Is(unicode.Zs, r) && r != ' ')
}

// checkInert fails t if s holds a rune a terminal acts on (but those of keep) or invalid
// UTF-8.
func checkInert(t *testing.T, what, s, keep string) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Errorf("%s: %q is not UTF-8", what, s)
	}
	for _, r := range s {
		if !inertRune(r) && !strings.ContainsRune(keep, r) {
			t.Errorf("%s: %q holds %U", what, s, r)
		}
	}
}

func TestValue(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"\x1b[2Jbob", `"\x1b[2Jbob"`},
		{"al\x1b[8mice", `"al\x1b[8mice"`},
		{"\u202eevil", `"\u202eevil"`},
		{"c\u009b2Jx", `"c\u009b2Jx"`},
		{"tag\U000e0001", `"tag\U000e0001"`},
		{"a\tb\nc\r", `"a\tb\nc\r"`},
		{"del\x7f", `"del\x7f"`},
		{"bad\xff", `"bad\xff"`},
		{"filler\u3164", `"filler\u3164"`},
		{"\x1b" + `\x1b"`, `"\x1b\\x1b\""`}, // an ESC, then a literal \x1b and a quote
		{`"quoted"`, `"\"quoted\""`},        // starts with a quote: quoted, or it would pass for a quoted value
		{" bob", `" bob"`},
		{"bob ", `"bob "`}, // or it would look like bob in a padded table
	}
	for _, tt := range tests {
		if got := Value(tt.in); got != tt.want {
			t.Errorf("Value(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
	for _, v := range shownAsIs {
		if got := Value(v); got != v {
			t.Errorf("Value(%q) = %q, want it as it is", v, got)
		}
	}
	for _, v := range hostile {
		got := Value(v)
		checkInert(t, "Value", got, "")
		if back, err := strconv.Unquote(got); err != nil || back != v {
			t.Errorf("Value(%q) = %s, which unquotes to %q (%v)", v, got, back, err)
		}
	}
}

func TestLineAndText(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, line, text string }{
		{"open \x1b[2J.csv: no such file", `open \x1b[2J.csv: no such file`, `open \x1b[2J.csv: no such file`},
		{"a\tb\nc\r\n", `a\tb\nc\r\n`, "a\\tb\nc\\r\n"},
		{"\u202eevil c\u009b2Jx", `\u202eevil c\u009b2Jx`, `\u202eevil c\u009b2Jx`},
		{`quoted "\x1b[2J" stays`, `quoted "\x1b[2J" stays`, `quoted "\x1b[2J" stays`}, // not escaped twice
		{"bad\xffutf8 \U000e0001", `bad\xffutf8 \U000e0001`, `bad\xffutf8 \U000e0001`},
	}
	for _, tt := range tests {
		if got := Line(tt.in); got != tt.line {
			t.Errorf("Line(%q) = %s, want %s", tt.in, got, tt.line)
		}
		if got := Text(tt.in); got != tt.text {
			t.Errorf("Text(%q) = %s, want %s", tt.in, got, tt.text)
		}
	}
	for _, v := range append(shownAsIs, "two\nlines") {
		if got := Text(v); got != v {
			t.Errorf("Text(%q) = %q, want it as it is", v, got)
		}
	}
	for _, v := range hostile {
		checkInert(t, "Line", Line(v), "")
		checkInert(t, "Text", Text(v), "\n")
	}
}

func TestJSON(t *testing.T) {
	t.Parallel()
	for _, v := range append(hostile, shownAsIs...) {
		enc, _ := json.Marshal(map[string]string{"k" + v: v})
		got := JSON(enc)
		checkInert(t, "JSON", string(got), "")
		var back map[string]string
		if err := json.Unmarshal(got, &back); err != nil || back["k"+strings.ToValidUTF8(v, "\ufffd")] != strings.ToValidUTF8(v, "\ufffd") {
			t.Errorf("JSON(%s) = %s, which decodes to %q (%v)", enc, got, back, err)
		}
	}
	if got := string(JSON([]byte(`{"a":"` + "\u202e\U000e0001\x7f\u009b" + `"}`))); got != `{"a":"\u202e\udb40\udc01\u007f\u009b"}` {
		t.Errorf("JSON: %s", got)
	}
	plain := []byte(`{"a":"b\u001b","c":1}` + "\n")
	if got := JSON(plain); &got[0] != &plain[0] {
		t.Errorf("JSON copied a text that needs no escaping")
	}
}

// FuzzValue: what Value shows is inert, and is the value itself or its Go quoting, which
// gives the value back: two values never show alike.
func FuzzValue(f *testing.F) {
	for _, v := range append(hostile, shownAsIs...) {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		got := Value(v)
		checkInert(t, "Value", got, "")
		if got == v {
			if strings.HasPrefix(v, `"`) {
				t.Errorf("Value(%q) shows it unquoted, though it starts with a quote", v)
			}
			return
		}
		if back, err := strconv.Unquote(got); err != nil || back != v {
			t.Errorf("Value(%q) = %s, which unquotes to %q (%v)", v, got, back, err)
		}
	})
}

// FuzzLineText: Line and Text are inert, keep what needs no escaping, and change nothing
// else but the runes they escape.
func FuzzLineText(f *testing.F) {
	for _, v := range append(hostile, shownAsIs...) {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, s string) {
		line, text := Line(s), Text(s)
		checkInert(t, "Line", line, "")
		checkInert(t, "Text", text, "\n")
		if strings.Count(text, "\n") != strings.Count(s, "\n") {
			t.Errorf("Text(%q) = %q: its lines changed", s, text)
		}
		if index(s, "") < 0 && (line != s || text != s) {
			t.Errorf("Line(%q) = %q, Text = %q: want it as it is", s, line, text)
		}
	})
}

// FuzzJSON: JSON keeps a JSON text's values and makes it inert; of any text, it leaves
// nothing a terminal acts on but ASCII.
func FuzzJSON(f *testing.F) {
	for _, v := range append(hostile, shownAsIs...) {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, s string) {
		enc, _ := json.Marshal([]string{s})
		got := JSON(enc)
		checkInert(t, "JSON", string(got), "")
		var a, b []string
		json.Unmarshal(enc, &a)
		if err := json.Unmarshal(got, &b); err != nil || len(b) != 1 || a[0] != b[0] {
			t.Errorf("JSON(%s) = %s: decodes to %q (%v), want %q", enc, got, b, err, a)
		}
		raw := JSON([]byte(s))
		if !utf8.Valid(raw) {
			t.Errorf("JSON(%q) = %q: not UTF-8", s, raw)
		}
		if jsonIndex([]byte(s)) < 0 && string(raw) != s {
			t.Errorf("JSON(%q) = %q: want it as it is", s, raw)
		}
		for _, r := range string(raw) {
			if r >= utf8.RuneSelf && !inertRune(r) || r == 0x7f {
				t.Errorf("JSON(%q) = %q holds %U", s, raw, r)
			}
		}
	})
}
