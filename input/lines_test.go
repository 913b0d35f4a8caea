package input

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestLineReader(t *testing.T) {
	longest := strings.Repeat("m", MaxRecordBytes)
	mid := strings.Repeat("k", 200<<10) // longer than the buffer, shorter than the bound
	type want struct {
		text    string
		tooLong bool
	}
	tests := []struct {
		name string
		in   string
		want []want
	}{
		{"empty", "", nil},
		{"one line", "a\n", []want{{text: "a"}}},
		{"no final newline", "a\nb", []want{{text: "a"}, {text: "b"}}},
		{"CRLF", "a\r\nb\r\n", []want{{text: "a"}, {text: "b"}}},
		{"lone CR kept", "a\rb\n", []want{{text: "a\rb"}}},
		{"empty lines", "\n\r\n\n", []want{{}, {}, {}}},
		{"BOM on the first line only", "\uFEFFa\n\uFEFFb\n", []want{{text: "a"}, {text: "\uFEFFb"}}},
		{"longer than the buffer", mid + "\r\n" + mid, []want{{text: mid}, {text: mid}}},
		{"longest", longest + "\r\nx\n", []want{{text: longest}, {text: "x"}}},
		{"longest at the end", "x\n" + longest, []want{{text: "x"}, {text: longest}}},
		{"too long", longest + "m\nx\n", []want{{tooLong: true}, {text: "x"}}},
		{"too long at the end", "x\n" + longest + "m", []want{{text: "x"}, {tooLong: true}}},
		{"far too long", strings.Repeat(longest, 3) + "\nx", []want{{tooLong: true}, {text: "x"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, wrap := range []func(io.Reader) io.Reader{
				func(r io.Reader) io.Reader { return r },
				iotest.HalfReader,
			} {
				l := newLineReader(wrap(strings.NewReader(tt.in)))
				for i, w := range tt.want {
					got, err := l.next()
					if err != nil {
						t.Fatalf("line %d: got error %v, want a line", i+1, err)
					}
					if got.n != i+1 || string(got.text) != w.text || got.tooLong != w.tooLong {
						t.Errorf("line %d: got n=%d, %d bytes, tooLong=%v; want n=%d, %d bytes, tooLong=%v",
							i+1, got.n, len(got.text), got.tooLong, i+1, len(w.text), w.tooLong)
					}
				}
				for range 2 {
					if got, err := l.next(); !errors.Is(err, io.EOF) {
						t.Errorf("after the last line: got %+v, %v; want io.EOF", got, err)
					}
				}
			}
		})
	}
}
