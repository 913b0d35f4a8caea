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
	tooLong bool   // longer than MaxRecordBytes; its bytes were skipped
}

// lineReader splits its input into lines of bounded length: the JSONL reader's records.
type lineReader struct {
	br   *bufio.Reader
	n    int    // number of the last line read
	long []byte // a line longer than br's buffer, assembled
	err  error  // sticky: io.EOF at the end, or the read error
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, 64<<10)}
}

// next returns the next line. Its text is valid until the following call. At the end next
// returns io.EOF; a read error is returned as is, and the line it interrupted is lost.
func (l *lineReader) next() (line, error) {
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

// read reads up to the next "\n" or the end. It keeps at most MaxRecordBytes of a line and
// skips the rest. At the end it returns io.EOF, with the last line if that has no "\n".
func (l *lineReader) read() (text []byte, tooLong bool, err error) {
	l.long = l.long[:0]
	for {
		chunk, err := l.br.ReadSlice('\n')
		if err == nil && len(l.long) == 0 && !tooLong {
			return trimEOL(chunk), false, nil // the common case: no copy
		}
		if !tooLong {
			if len(l.long)+len(chunk) > MaxRecordBytes+len("\r\n") {
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
		if text = trimEOL(l.long); len(text) > MaxRecordBytes {
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

// isBlank reports whether a line holds only spaces, tabs and carriage returns.
func isBlank(b []byte) bool {
	return len(bytes.Trim(b, " \t\r")) == 0
}

// tooLongReason is why a record over MaxRecordBytes is invalid.
var tooLongReason = fmt.Sprintf("record too long: over %d bytes (1 MiB); its bytes were skipped", MaxRecordBytes)
