// Package pace spaces calls in time. Adaptive finds the spare share of a quota shared with
// other callers and stays just under it (the write quota; docs/pacing.md): its Estimator
// decides the rate from what the answers say, and Adaptive is the gate that makes callers
// wait for it, over a rate.Limiter. Users keeps the writes to any one user under Cognito's
// per-user limit. Each runs on an injected clock, so that it is tested without sleeping.
// Package call owns the buckets of every quota category and puts each call through them.
package pace

import (
	"context"
	"math"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/time/rate"
)

// Adaptive is the gate of the write calls of one region: it makes each caller wait for its
// turn at the Estimator's rate, through one token bucket (a rate.Limiter), and tells the
// estimator what the answers say. Waiters go one at a time, so that a change of rate applies
// to the very next send.
type Adaptive struct {
	lim  *rate.Limiter
	log  *zap.Logger
	now  func() time.Time
	turn chan struct{} // held by the one waiter whose send is booked

	mu      sync.Mutex
	est     *Estimator
	applied float64       // the rate the limiter has
	changed chan struct{} // closed when the rate changes
	booked  *rate.Reservation
	sends   int
	logged  float64 // the rate last logged
	lastLog time.Time
}

// NewAdaptive returns a gate at ceiling calls per second (≤ 0: unlimited), on the clock now.
func NewAdaptive(ceiling float64, log *zap.Logger, now func() time.Time) *Adaptive {
	p := &Adaptive{log: log, now: now, turn: make(chan struct{}, 1), changed: make(chan struct{}),
		lim: rate.NewLimiter(rate.Inf, 1), applied: math.Inf(1)}
	p.est = NewEstimator(ceiling, now())
	p.logged = ceiling // the starting rate is no change
	p.sync(now())
	return p
}

// Wait blocks until the next call may be sent. The waiter whose send is booked books again
// when the rate changes while it waits, or when a phase that ends with time ends before its
// send (book's recheck).
func (p *Adaptive) Wait(ctx context.Context) error {
	if p.lim.Limit() == rate.Inf {
		return ctx.Err()
	}
	select {
	case p.turn <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-p.turn }()
	for {
		d, changed, recheck := p.book(p.now())
		if d <= 0 && !recheck {
			p.sent()
			return nil
		}
		t := time.NewTimer(d)
		select {
		case <-t.C:
			if recheck {
				p.unbook(p.now())
				continue
			}
			p.sent()
			return nil
		case <-changed:
			t.Stop()
			p.unbook(p.now())
		case <-ctx.Done():
			t.Stop()
			p.unbook(p.now())
			return ctx.Err()
		}
	}
}

// book reserves the next send at or after now and returns how long to wait for it, a
// channel closed when the rate changes, and whether the wait ends at a change of phase due
// before the send (recheck): the waiter then books again, at the new phase's rate. Phases
// that end with time, not with an answer, so end on time even at a rate of one call a
// second.
func (p *Adaptive) book(now time.Time) (d time.Duration, changed <-chan struct{}, recheck bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.est.Advance(now)
	p.sync(now)
	p.booked = p.lim.ReserveN(now, 1)
	d = p.booked.DelayFrom(now)
	if (p.sends+1)%pairEvery == 0 && p.est.Pairs() {
		p.booked = nil // sent right after the previous one; the next send waits for both
		return 0, p.changed, false
	}
	if due := p.est.Due(); !due.IsZero() && due.Before(now.Add(d)) {
		return max(due.Sub(now), 0), p.changed, true
	}
	return d, p.changed, false
}

// sent counts a send: the booked one went.
func (p *Adaptive) sent() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sends++
}

// unbook gives back the booked send, whose waiter has left or will book again.
func (p *Adaptive) unbook(now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.booked != nil {
		p.booked.CancelAt(now)
		p.booked = nil
	}
}

// Rate is the current send rate in calls per second (+Inf when unlimited).
func (p *Adaptive) Rate() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.est.Rate()
}

// SetCeiling sets the highest rate the gate may use; ≤ 0 or +Inf removes pacing
// (Estimator.SetCeiling).
func (p *Adaptive) SetCeiling(c float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	p.est.SetCeiling(c, now)
	p.sync(now)
}

// Throttled records a TooManyRequestsException answering a call sent at sent.
func (p *Adaptive) Throttled(sent time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	reacted, sample := p.est.Throttled(now, sent)
	p.sync(now)
	if !reacted {
		return
	}
	if ce := p.log.Check(zap.DebugLevel, "pacing: throttled"); ce != nil {
		fields := []zap.Field{zap.String("phase", p.est.Phase()), zap.Float64("rate", round1(p.est.Rate()))}
		if sample > 0 {
			fields = append(fields, zap.Float64("sample", round1(sample)))
		}
		if s := p.est.Spare(); s > 0 {
			fields = append(fields, zap.Float64("spare", round1(s)))
		}
		ce.Write(fields...)
	}
}

// Succeeded records a call the quota let through (whatever Cognito answered), sent at sent.
func (p *Adaptive) Succeeded(sent time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	p.est.Succeeded(now, sent)
	p.sync(now)
}

// sync gives the limiter the estimator's rate when it changed, wakes the waiter booked at
// the old one, and logs the change. The caller holds p.mu.
func (p *Adaptive) sync(now time.Time) {
	r := p.est.Rate()
	if r != p.applied {
		p.applied = r
		if math.IsInf(r, 1) {
			p.lim.SetLimitAt(now, rate.Inf)
		} else {
			p.lim.SetLimitAt(now, rate.Limit(r))
			// Waiters book one at a time, each from the moment it books: one woken late by
			// the timer (a millisecond is common on a busy machine, the gap between sends at
			// 1,000/s) would lose that time for good with a bucket of one. A bucket of
			// catchUp's worth of sends lets the next catch up; at 100/s or less it stays one,
			// as the quota wants.
			if b := max(1, int(r*catchUp.Seconds())); b != p.lim.Burst() {
				p.lim.SetBurstAt(now, b)
			}
		}
		close(p.changed)
		p.changed = make(chan struct{})
	}
	p.maybeLog(now)
}

// maybeLog logs the rate when it moved since the last time it was logged, at most every
// logEvery: "rate lowered" or "rate raised" against the rate last logged. The pause and
// discovery last a second or less: their rate, logged and left standing for logEvery, would
// read as a stop, so the rate that follows them is logged instead (each throttle is at
// debug level).
func (p *Adaptive) maybeLog(now time.Time) {
	r := p.est.Rate()
	if math.IsInf(r, 1) || p.est.Settling() || now.Sub(p.lastLog) < logEvery || math.Abs(r-p.logged) < 0.01*p.logged {
		return
	}
	msg := "rate raised"
	if r < p.logged {
		msg = "rate lowered"
	}
	p.lastLog, p.logged = now, r
	fields := []zap.Field{zap.Float64("rate", round1(r)), zap.Float64("ceiling", p.est.Ceiling())}
	if s := p.est.Spare(); s > 0 {
		fields = append(fields, zap.Float64("spare", round1(s)))
	}
	p.log.Info(msg, fields...)
}

func round1(x float64) float64 { return math.Round(x*10) / 10 }
