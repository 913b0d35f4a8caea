package job

import (
	"fmt"
	"math"
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
	// ReadAuto starts as never and reads first while enough recent rows were already linked
	// for the reads to cost less than the writes they save (a nightly file that is mostly
	// the export of the night before), and back.
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

// The window auto judges by, and its hysteresis: it weighs the last readWindow rows settled
// (after the first readWindow/4), reads first once the share already linked is readMargin
// over the break-even share (ReadFirst.breakEven), and stops once it is readMargin under it.
// Between the two it keeps what it does. The margin is two standard deviations of the share
// over a window of 100 rows (at most 0.05), so that a file mixed evenly around the break-even
// share does not switch back and forth.
const (
	readWindow = 100
	readMargin = 0.1
)

// ReadFirst decides, row by row, whether Link reads the destination before it writes, and
// learns from how rows end. It is safe for concurrent use; nil is ReadNever.
//
// Auto weighs the two ways to send a row by the time each call takes of its quota's
// bucket: 1/ReadRate for a read, 1/WriteRate for a write. Reading first costs a read on
// every row and a write on the rows not linked; writing first a write on every row and a
// read on those already linked (to settle the refusal). With a share p of rows already
// linked, reading first is cheaper once (1-p)/ReadRate < p/WriteRate: past the break-even
// share WriteRate/(WriteRate+ReadRate). At the default rates (--rate 10, --read-rate 20) a
// write takes twice a read's time, and the break-even is a third; at --read-rate 60, a
// seventh; with the rates alike, or both unpaced, a half. The writes are the quota the
// application shares and its scarcer one (docs/cognito.md, Quotas): a linked row written
// first costs one, where read first it costs none.
type ReadFirst struct {
	Mode ReadMode
	Log  *zap.Logger
	// ReadRate and WriteRate are the paces of the run's reads (AdminGetUser, --read-rate) and
	// writes (--rate; with --rate auto, the ceiling it starts at), in calls per second. 0 is
	// unpaced: such a call takes no bucket's time, and costs nothing against a paced call of
	// the other kind; with both unpaced (the zero value), a read and a write cost a round
	// trip each, alike.
	ReadRate, WriteRate float64

	mu     sync.Mutex
	recent [readWindow]bool // whether each of the last rows settled was already linked
	n, at  int              // rows in recent, and where the next goes
	linked int              // of recent, the already linked
	on     bool             // auto reads first now
	// Read counts the rows read before their write; it may be read while rows go.
	Read atomic.Int64
}

// breakEven is the share of rows already linked over which reading first costs less bucket
// time than writing first: WriteRate/(WriteRate+ReadRate), an unpaced kind costing nothing
// against a paced one.
func (r *ReadFirst) breakEven() float64 {
	read, write := r.ReadRate, r.WriteRate
	switch {
	case read <= 0 && write <= 0, math.IsInf(read, 1) && math.IsInf(write, 1):
		return 0.5 // both unpaced: each call is a round trip
	case read <= 0 || math.IsInf(read, 1):
		return 0 // reads cost nothing against the writes' bucket
	case write <= 0 || math.IsInf(write, 1):
		return 1 // writes cost nothing against the reads' bucket
	}
	return write / (write + read)
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
	share, even := float64(r.linked)/float64(r.n), r.breakEven()
	switch {
	case !r.on && share >= even+readMargin:
		r.on = true
		r.log("reading first: enough recent rows were already linked for reading each row first to cost less than writing it", share, even)
	case r.on && share < even-readMargin:
		r.on = false
		r.log("writing first: too few recent rows were already linked for reading each row first to pay", share, even)
	}
}

func (r *ReadFirst) log(msg string, share, even float64) {
	if r.Log != nil {
		r.Log.Info(msg, zap.Float64("already_linked_share", float64(int(share*1000))/1000), zap.Int("of_rows", r.n),
			zap.Float64("break_even_share", float64(int(even*1000))/1000))
	}
}
