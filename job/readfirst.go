package job

import (
	"fmt"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"
)

// ReadMode says when Link reads the destination user before it writes (--read-first).
type ReadMode string

// The read-first modes.
const (
	// ReadNever writes every row; a row already linked is refused, then read to settle it:
	// a write and a read.
	ReadNever ReadMode = "never"
	// ReadAlways reads every row first: a row already linked is settled by the read alone,
	// the others cost a read and a write.
	ReadAlways ReadMode = "always"
	// ReadAuto starts as never and reads first while most recent rows were already linked
	// (a nightly file that is mostly the export of the night before), and back.
	ReadAuto ReadMode = "auto"
)

// ParseReadMode reads a --read-first value.
func ParseReadMode(s string) (ReadMode, error) {
	switch m := ReadMode(s); m {
	case ReadNever, ReadAlways, ReadAuto:
		return m, nil
	}
	return "", fmt.Errorf("want auto, always or never, not %q", s)
}

// The window auto judges by, and its hysteresis: it reads first once at least readOn of the
// last readWindow rows settled were already linked, and stops once fewer than readOff were.
// Between the two it keeps what it does. At 60%, reading first saves more writes (60 of 100
// rows) than it adds reads (40): writes are the quota the application shares, and its
// scarcer one (docs/cognito.md, Quotas).
const (
	readWindow = 100
	readOn     = 0.6
	readOff    = 0.4
)

// ReadFirst decides, row by row, whether Link reads the destination before it writes, and
// learns from how rows end. It is safe for concurrent use; nil is ReadNever.
type ReadFirst struct {
	Mode ReadMode
	Log  *zap.Logger

	mu     sync.Mutex
	recent [readWindow]bool // whether each of the last rows settled was already linked
	n, at  int              // rows in recent, and where the next goes
	linked int              // of recent, the already linked
	on     bool             // auto reads first now
	// Read counts the rows read before their write; it may be read while rows go.
	Read atomic.Int64
}

// first says whether the next row is read before it is written.
func (r *ReadFirst) first() bool {
	if r == nil {
		return false
	}
	switch r.Mode {
	case ReadAlways:
		return true
	case ReadAuto:
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.on
	}
	return false
}

// settled tells auto how a row ended: already linked or not (linked, or refused by Cognito
// in a way that says the link was not there).
func (r *ReadFirst) settled(alreadyLinked bool) {
	if r == nil || r.Mode != ReadAuto {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == readWindow {
		if r.recent[r.at] {
			r.linked--
		}
	} else {
		r.n++
	}
	r.recent[r.at] = alreadyLinked
	if alreadyLinked {
		r.linked++
	}
	r.at = (r.at + 1) % readWindow
	if r.n < readWindow/4 {
		return // too few rows to judge
	}
	share := float64(r.linked) / float64(r.n)
	switch {
	case !r.on && share >= readOn:
		r.on = true
		r.log("reading first: most recent rows were already linked, so each row is read before it is written", share)
	case r.on && share < readOff:
		r.on = false
		r.log("writing first: most recent rows were not linked yet, so each row is written without a read first", share)
	}
}

func (r *ReadFirst) log(msg string, share float64) {
	if r.Log != nil {
		r.Log.Info(msg, zap.Float64("already_linked_share", float64(int(share*1000))/1000), zap.Int("of_rows", r.n))
	}
}
