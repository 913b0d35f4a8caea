package report

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/bulklink/bulklink/input"
)

// startedKind tells a started list by its content: lines of a number, and a step's name.
var startedKind = fileKind{"started list", func(b []byte) bool {
	for _, c := range b {
		if c != '\n' && c != ' ' && (c < '0' || c > '9') && (c < 'a' || c > 'z') {
			return false
		}
	}
	return true
}}

// StartedPath is the file, beside a report, that lists the rows whose first write call has
// been made: <report>.started.
func StartedPath(report string) string { return report + ".started" }

// Started is the journal of the rows a report's runs have begun to send: a line is added, and
// handed to the operating system, before the row's first write call ("N"), and before each
// later step of an operation that takes several ("N delete", "N link": a merge). A row
// without a record whose line is there may have been changed by a process that stopped before
// it recorded the outcome (kill -9, a crash): that is how a resumed run tells "this report's
// earlier run did it" from "it was so before", and from which step a row goes on (a read
// decides what the step did). Records, not this file, say which rows are done.
type Started struct {
	mu    sync.Mutex
	f     *os.File
	buf   []byte
	done  input.LineSet  // the lines the file held when it was opened
	steps map[int]string // and the last step each reached, for those past the first
}

// openStarted opens the started list of a report: anew (fresh), or to go on with it.
func openStarted(report string, fresh bool) (*Started, error) {
	path := StartedPath(report)
	if fresh {
		if err := removeOwned(path, startedKind); err != nil {
			return nil, err
		}
	}
	f, err := openOrCreate(path, os.O_RDWR|os.O_APPEND)
	if err != nil {
		return nil, err // it names the file
	}
	s := &Started{f: f}
	if !fresh {
		r := bufio.NewReader(f)
		for {
			line, err := r.ReadString('\n')
			if errors.Is(err, io.EOF) {
				break // a last line without its newline was cut short: not a line
			}
			if err != nil {
				f.Close()
				return nil, fmt.Errorf("read %s: %w", path, err)
			}
			num, step, _ := strings.Cut(line[:len(line)-1], " ")
			if n, err := strconv.Atoi(num); err == nil && n > 0 {
				s.done.Add(n)
				if step != "" {
					if s.steps == nil {
						s.steps = map[int]string{}
					}
					s.steps[n] = step
				} else {
					delete(s.steps, n)
				}
			}
		}
	}
	return s, nil
}

// Start notes that a row's first write call is about to be made. Safe for concurrent use.
func (s *Started) Start(line int) error { return s.Step(line, "") }

// Step notes that a step of a row is about to be sent: "" for its first write, else the
// step's name (lower-case letters). A named step is fsynced too: it is one of an operation
// that takes several (a merge), whose steps a machine crash must not lose. Safe for
// concurrent use.
func (s *Started) Step(line int, step string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf = strconv.AppendInt(s.buf[:0], int64(line), 10)
	if step != "" {
		s.buf = append(append(s.buf, ' '), step...)
	}
	s.buf = append(s.buf, '\n')
	if _, err := s.f.Write(s.buf); err != nil || step == "" {
		return err
	}
	return s.f.Sync()
}

// Before reports whether an earlier run of the report began to send the row.
func (s *Started) Before(line int) bool { return s != nil && s.done.Has(line) }

// Reached is the last step of a row an earlier run of the report noted: "" for its first
// write (or none: see Before).
func (s *Started) Reached(line int) string {
	if s == nil {
		return ""
	}
	return s.steps[line]
}

func (s *Started) close() error { return s.f.Close() }
