package input

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// bom is the UTF-8 byte order mark some tools put at the start of a file.
var bom = []byte("\uFEFF")

// A line is one physical line of input.
type line struct {
	n       int    // 1-based line number
	text    []byte // without "\n" or "\r\n"; nil when tooLong
	tooLong bool   // longer than MaxLineBytes; its bytes were skipped
}

// lineReader splits its input into lines of bounded length. Lines given back with unread are
// returned again, in order, before any new one.
type lineReader struct {
	br   *bufio.Reader
	n    int    // number of the last line read from br
	long []byte // a line longer than br's buffer, assembled
	back []line // lines given back, next first
	err  error  // sticky: io.EOF at the end, or the read error
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, 64<<10)}
}

// next returns the next line. Its text is valid until the following call, unless it came
// back from unread. At the end next returns io.EOF; a read error is returned as is, and the
// line it interrupted is lost.
func (l *lineReader) next() (line, error) {
	if len(l.back) > 0 {
		ln := l.back[0]
		l.back = l.back[1:]
		return ln, nil
	}
	if l.err != nil {
		return line{}, l.err
	}
	text, tooLong, err := l.read()
	if err != nil {
		if !errors.Is(err, io.EOF) {
			l.err = fmt.Errorf("read line %d: %w", l.n+1, err)
			return line{}, l.err
		}
		l.err = io.EOF
		if text == nil && !tooLong {
			return line{}, io.EOF
		}
	}
	l.n++
	if l.n == 1 {
		text = bytes.TrimPrefix(text, bom)
	}
	return line{n: l.n, text: text, tooLong: tooLong}, nil
}

// read reads up to the next "\n" or the end. It keeps at most MaxLineBytes of a line and skips
// the rest. At the end it returns io.EOF, with the last line if that has no "\n".
func (l *lineReader) read() (text []byte, tooLong bool, err error) {
	l.long = l.long[:0]
	for {
		chunk, err := l.br.ReadSlice('\n')
		if err == nil && len(l.long) == 0 && !tooLong {
			return trimEOL(chunk), false, nil // the common case: no copy
		}
		if !tooLong {
			if len(l.long)+len(chunk) > MaxLineBytes+len("\r\n") {
				tooLong, l.long = true, l.long[:0]
			} else {
				l.long = append(l.long, chunk...)
			}
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err != nil && !errors.Is(err, io.EOF):
			return nil, false, err
		case tooLong:
			return nil, true, err
		case err != nil && len(l.long) == 0:
			return nil, false, err // the end, after the last line
		}
		if text = trimEOL(l.long); len(text) > MaxLineBytes {
			return nil, true, err
		}
		return text, false, err
	}
}

// trimEOL removes a trailing "\n" or "\r\n".
func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

// unread gives back lines read ahead, which next then returns first, in order. The lines must
// own their text.
func (l *lineReader) unread(lines []line) {
	l.back = append(append(make([]line, 0, len(lines)+len(l.back)), lines...), l.back...)
}

// isBlank reports whether a line holds only spaces, tabs and carriage returns.
func isBlank(b []byte) bool {
	return len(bytes.Trim(b, " \t\r")) == 0
}

// tooLongReason is why a line over MaxLineBytes is invalid.
var tooLongReason = fmt.Sprintf("line too long: over %d bytes", MaxLineBytes)
