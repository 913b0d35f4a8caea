package main

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// screen replays what a program wrote to a terminal of a given width, as xterm shows it,
// so that a test can look at the screen a person would see rather than at the bytes.
//
// It is a small VT parser rather than a library (none that the module proxy serves fits a
// test's needs without pulling in a terminal UI toolkit), and it models only what bulklink
// and mpb write: printable text with auto-wrap (xterm's: a character in the last column
// leaves the cursor there, and the next one wraps), CR, LF (the pty turns LF into CR LF),
// tab stops every 8 columns, backspace, cursor up/down/column (CSI A, B, G), erase in line
// and in display from the cursor (CSI K, CSI J), and ignores colours (CSI m), modes (CSI ?
// h/l) and other sequences. The screen has no height: it keeps every line, as a scrollback
// would, which is equivalent for programs that only move the cursor up over lines they
// drew.
type screen struct {
	width    int
	rows     [][]rune
	wrapped  []bool // rows[i] began by auto-wrap: the line before it was longer than the width
	row, col int
	pending  bool // xterm's wrap-pending state: the last column was written
}

func newScreen(width int) *screen {
	return &screen{width: width, rows: [][]rune{nil}, wrapped: []bool{false}}
}

func (s *screen) line(i int) string { return strings.TrimRight(string(s.rows[i]), " ") }

// lines returns the screen's lines, trailing blank ones dropped.
func (s *screen) lines() []string {
	var out []string
	for i := range s.rows {
		out = append(out, s.line(i))
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return out
}

func (s *screen) ensureRow(r int) {
	for len(s.rows) <= r {
		s.rows = append(s.rows, nil)
		s.wrapped = append(s.wrapped, false)
	}
}

func (s *screen) put(c rune) {
	if s.pending {
		s.row++
		s.col = 0
		s.pending = false
		s.ensureRow(s.row)
		s.rows[s.row] = nil
		s.wrapped[s.row] = true
	}
	s.ensureRow(s.row)
	line := s.rows[s.row]
	for len(line) <= s.col {
		line = append(line, ' ')
	}
	line[s.col] = c
	s.rows[s.row] = line
	if s.col == s.width-1 {
		s.pending = true
	} else {
		s.col++
	}
}

// Write replays b.
func (s *screen) Write(b []byte) (int, error) {
	for i := 0; i < len(b); {
		c, size := utf8.DecodeRune(b[i:])
		i += size
		switch c {
		case '\r':
			s.col, s.pending = 0, false
		case '\n':
			s.row++
			s.col, s.pending = 0, false // the pty's ONLCR: LF arrives as CR LF
			s.ensureRow(s.row)
		case '\t':
			s.col = min((s.col/8+1)*8, s.width-1)
		case '\b':
			s.col, s.pending = max(s.col-1, 0), false
		case 0x1b:
			i = s.escape(b, i)
		default:
			if c >= ' ' {
				s.put(c)
			}
		}
	}
	return len(b), nil
}

// escape replays the sequence after an ESC at b[i:], and returns where it ends.
func (s *screen) escape(b []byte, i int) int {
	if i >= len(b) || b[i] != '[' {
		return min(i+1, len(b)) // a two-byte sequence: nothing bulklink uses
	}
	i++
	start := i
	for i < len(b) && (b[i] < 0x40 || b[i] > 0x7e) {
		i++
	}
	if i >= len(b) {
		return i
	}
	params, final := string(b[start:i]), b[i]
	n := 1
	if v, err := strconv.Atoi(params); err == nil && v > 0 {
		n = v
	}
	switch final {
	case 'A':
		s.row, s.pending = max(s.row-n, 0), false
	case 'B':
		s.row, s.pending = s.row+n, false
		s.ensureRow(s.row)
	case 'G':
		s.col, s.pending = min(n-1, s.width-1), false
	case 'K':
		if params == "" || params == "0" {
			s.ensureRow(s.row)
			if s.col < len(s.rows[s.row]) {
				s.rows[s.row] = s.rows[s.row][:s.col]
			}
		}
	case 'J':
		if params == "" || params == "0" {
			s.ensureRow(s.row)
			if s.col < len(s.rows[s.row]) {
				s.rows[s.row] = s.rows[s.row][:s.col]
			}
			for r := s.row + 1; r < len(s.rows); r++ {
				s.rows[r], s.wrapped[r] = nil, false
			}
		}
	}
	return i + 1
}
