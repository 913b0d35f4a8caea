package pace

import (
	"context"
	"errors"
	"math"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time      { return c.t }
func (c *fakeClock) add(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *fakeClock               { return &fakeClock{t: time.Unix(1_700_000_000, 0)} }

func near(got, want, tol float64) bool { return math.Abs(got-want) <= tol*math.Abs(want) }

// drive runs a pacer on a fake clock without a quota: calls go out at the pacer's rate and
// come back accepted a round trip later, unless the test says throttle.
type drive struct {
	t    *testing.T
	c    *fakeClock
	p    *Adaptive
	e    *Estimator // p's
	rtt  time.Duration
	last time.Time // the last answer
}

func newDrive(t *testing.T, ceiling float64) *drive {
	c := newClock()
	return driveOf(t, c, NewAdaptive(ceiling, zap.NewNop(), c.now))
}

func driveOf(t *testing.T, c *fakeClock, p *Adaptive) *drive {
	return &drive{t: t, c: c, p: p, e: p.est, rtt: 30 * time.Millisecond}
}

// accept runs for d, every call accepted.
func (d *drive) accept(dur time.Duration) {
	end := d.c.t.Add(dur)
	for {
		at := d.last.Add(time.Duration(float64(time.Second) / math.Min(d.p.Rate(), 1000)))
		if at.Before(d.c.t) {
			at = d.c.t
		}
		if at.After(end) {
			d.c.t = end
			return
		}
		d.c.t, d.last = at, at
		d.p.Succeeded(d.sent())
	}
}

// sent is the send time of the call answered now.
func (d *drive) sent() time.Time { return d.c.now().Add(-d.rtt) }

// throttle answers the call sent a round trip ago with a throttle.
func (d *drive) throttle() { d.p.Throttled(d.sent()) }

// untilCruise runs until the pause ends: the pacer moves on as answers come.
func (d *drive) untilCruise() {
	d.t.Helper()
	for deadline := d.c.now().Add(5 * time.Second); d.e.phase != phaseCruise; {
		if d.c.now().After(deadline) {
			d.t.Fatalf("phase %v 5 s on, want cruise", d.e.phase)
		}
		d.accept(10 * time.Millisecond)
	}
}

// settled runs the pacer from the ceiling through discovery and a ramp into its first
// cruise, and returns the time of the ramp's throttle (the bucket was empty then).
func (d *drive) settled() time.Time {
	d.t.Helper()
	d.accept(300 * time.Millisecond)
	d.throttle()
	d.accept(3 * time.Second)
	d.throttle()
	empty := d.sent()
	d.untilCruise()
	return empty
}

// paused runs the pacer into its first cruise, then five seconds on to a throttle: the pause.
func (d *drive) paused() {
	d.t.Helper()
	d.settled()
	d.accept(5 * time.Second)
	d.throttle()
	if d.e.phase != phasePause {
		d.t.Fatalf("phase %v after a throttle, want the pause", d.e.phase)
	}
}

func TestHistoryCount(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	var h history
	for i := range 100 { // 100 calls over a second, 10 ms apart
		h.add(t0.Add(time.Duration(i) * 10 * time.Millisecond))
	}
	for _, tc := range []struct {
		from, to time.Duration
		want     float64
	}{
		{0, time.Second, 100},
		{0, 500 * time.Millisecond, 50},
		{-time.Second, 2 * time.Second, 100},
		{62500 * time.Microsecond, 187500 * time.Microsecond, 12.5}, // halves of two bins: 13/2 + 12/2
	} {
		if got := h.count(t0.Add(tc.from), t0.Add(tc.to)); !near(got, tc.want, 1e-9) {
			t.Errorf("count(%v, %v) = %v, want %v", tc.from, tc.to, got, tc.want)
		}
	}
	h.add(t0.Add(70 * time.Second)) // the history holds 64 s
	h.add(t0)                       // too old to count
	if got := h.count(t0, t0.Add(71*time.Second)); got != 1 {
		t.Errorf("after 70 s: count %v, want 1 (only the newest call)", got)
	}
}

func TestPacerFirstThrottleLandsUnderTheLastSecond(t *testing.T) {
	d := newDrive(t, 100)
	d.accept(300 * time.Millisecond) // the bucket's burst: about 30 calls
	sent := d.sent()
	last := d.e.hist.count(sent.Add(-time.Second), sent)
	d.throttle()
	if d.e.phase != phaseDiscover || !near(d.e.land, firstCut*last, 1e-9) {
		t.Fatalf("phase %v, landing %v; want discovery landing at %v of the %v calls of the last second", d.e.phase, d.e.land, firstCut, last)
	}
	if got, want := d.p.Rate(), d.e.land*discoverShare; !near(got, want, 1e-9) {
		t.Errorf("rate %v, want %v: discovery waits under the landing", got, want)
	}
}

// A run that starts on an empty bucket has no second to go by: it lands at firstCut of the ceiling.
func TestPacerFirstCallThrottled(t *testing.T) {
	d := newDrive(t, 40)
	d.c.add(time.Second)
	d.throttle()
	if d.e.phase != phaseDiscover || d.e.land != 40*firstCut {
		t.Errorf("phase %v, landing %v; want discovery landing at %v", d.e.phase, d.e.land, 40*firstCut)
	}
}

// Throttles answering calls sent before a reaction took effect belong to its episode.
func TestPacerReactsOncePerEpisode(t *testing.T) {
	d := newDrive(t, 100)
	d.accept(300 * time.Millisecond)
	before := d.sent()
	d.throttle()
	land := d.e.land
	d.c.add(time.Second) // slow answers of calls sent before the reaction
	d.p.Throttled(before)
	d.p.Throttled(d.e.cutAt.Add(d.e.cooldown() / 2)) // sent while the reaction took effect
	if d.e.land != land || d.e.phase != phaseRamp {
		t.Fatalf("landing %v, phase %v after throttles of the same episode, want %v and the ramp (discovery ended on time)", d.e.land, d.e.phase, land)
	}
	d.p.Throttled(d.c.now()) // a call sent after the reaction: another round
	if want := land * discoverCut; !near(d.e.land, want, 1e-9) {
		t.Errorf("landing %v after a new throttle in discovery, want %v", d.e.land, want)
	}
}

func TestPacerRampSampleThenSettle(t *testing.T) {
	d := newDrive(t, 100)
	d.accept(300 * time.Millisecond)
	d.throttle()
	empty, land := d.sent(), d.e.land
	d.accept(500 * time.Millisecond)
	if d.e.phase != phaseRamp || d.p.Rate() < land {
		t.Fatalf("phase %v at %v/s after a quiet 500 ms, want the ramp from the landing %v", d.e.phase, d.p.Rate(), land)
	}
	d.accept(3 * time.Second)
	if r := d.p.Rate(); r < 1.8*land || r > 2.4*land {
		t.Fatalf("rate %v after 3 s of ramp from %v, want about 25%% more a second", r, land)
	}
	sent := d.sent()
	want := d.e.hist.count(empty, sent) / sent.Sub(empty).Seconds()
	d.throttle()
	if !near(d.e.spare, want, 1e-9) {
		t.Fatalf("estimate %v, want the calls accepted between the two empty buckets per second, %v", d.e.spare, want)
	}
	if d.e.phase != phasePause || d.p.Rate() != d.e.floor {
		t.Fatalf("phase %v at %v/s after the ramp, want a pause at %v/s", d.e.phase, d.p.Rate(), d.e.floor)
	}
	d.accept(pauseTime - 100*time.Millisecond)
	if d.e.phase != phasePause {
		t.Fatalf("phase %v before the pause's end", d.e.phase)
	}
	d.untilCruise()
	if !near(d.p.Rate(), freshSettle*want, 1e-9) {
		t.Fatalf("phase %v at %v/s after the pause, want a cruise at %v (the first one)", d.e.phase, d.p.Rate(), freshSettle*want)
	}
}

func TestPacerThrottlesWhileCruising(t *testing.T) {
	t.Run("soon after settling: a sample, pooled", func(t *testing.T) {
		d := newDrive(t, 100)
		empty := d.settled()
		d.accept(5 * time.Second)
		sent := d.sent()
		n, secs := d.e.hist.count(empty, sent), sent.Sub(empty).Seconds()
		keep := math.Exp(-secs / poolMemory.Seconds())
		want := (d.e.poolN*keep + n) / (d.e.poolT*keep + secs)
		d.throttle()
		if !near(d.e.spare, want, 1e-9) {
			t.Fatalf("estimate %v, want the pool of both samples, %v", d.e.spare, want)
		}
		d.untilCruise()
		if !near(d.p.Rate(), settleShare*want, 1e-9) {
			t.Errorf("cruising at %v, want %v", d.p.Rate(), settleShare*want)
		}
	})
	t.Run("late: trimmed", func(t *testing.T) {
		d := newDrive(t, 100)
		d.settled()
		d.accept(trustTime + time.Second)
		if d.e.probing {
			t.Fatal("probing already")
		}
		want := d.e.spare * trimShare
		d.throttle()
		if !near(d.e.spare, want, 1e-9) || d.e.phase != phasePause {
			t.Errorf("estimate %v, phase %v, want %v and a pause", d.e.spare, d.e.phase, want)
		}
	})
	t.Run("right after the pause: rediscovered", func(t *testing.T) {
		d := newDrive(t, 100)
		d.settled()
		d.accept(time.Second)
		cruise := d.p.Rate()
		d.throttle()
		if d.e.phase != phaseDiscover || !near(d.e.land, cruise*discoverCut, 1e-9) {
			t.Errorf("phase %v landing at %v, want discovery from half the cruise, %v", d.e.phase, d.e.land, cruise*discoverCut)
		}
	})
	t.Run("during the pause: the same episode", func(t *testing.T) {
		d := newDrive(t, 100)
		d.paused()
		est, end := d.e.spare, d.e.pauseEnd
		d.c.t = end.Add(-200 * time.Millisecond)
		d.p.Throttled(end.Add(-300 * time.Millisecond)) // sent and answered in the pause
		if d.e.phase != phasePause || d.e.spare != est {
			t.Fatalf("phase %v, estimate %v; want the pause going on and the estimate %v", d.e.phase, d.e.spare, est)
		}
		d.c.t = end.Add(100 * time.Millisecond)
		d.p.Throttled(end.Add(-50 * time.Millisecond)) // sent in the pause, answered after it
		if d.e.phase != phaseCruise || d.e.spare != est || !near(d.p.Rate(), settleShare*est, 1e-9) {
			t.Errorf("phase %v at %v/s, estimate %v; want the cruise at %v and the estimate %v", d.e.phase, d.p.Rate(), d.e.spare, settleShare*est, est)
		}
	})
}

func TestPacerProbes(t *testing.T) {
	d := newDrive(t, 100)
	d.settled()
	d.accept(trustTime + time.Second) // a late throttle: the next cruise is not the first
	d.throttle()
	d.untilCruise()
	cruise, est := d.p.Rate(), d.e.spare
	doubt := math.Min(probeDoubt, math.Sqrt(doubtSpan.Seconds()/d.e.poolT))
	wait := time.Duration(float64(probeAfter) / doubt)
	d.accept(wait - time.Second)
	if d.p.Rate() != cruise || d.e.probing {
		t.Fatalf("rate %v (probing %v) before the probe's wait of %v, want %v", d.p.Rate(), d.e.probing, wait, cruise)
	}
	d.accept(5 * time.Second)
	if !d.e.probing || d.p.Rate() <= cruise {
		t.Fatalf("rate %v after the wait, want a probe over %v", d.p.Rate(), cruise)
	}
	d.throttle() // the probe found nothing: back to where it started, and wait longer
	if !near(d.e.spare, est, 1e-9) || d.e.probeWait != 2*probeAfter {
		t.Fatalf("after a failed probe: estimate %v, wait %v; want %v, %v", d.e.spare, d.e.probeWait, est, 2*probeAfter)
	}
	for range 3 { // more probes that find nothing: 4×, 8×, and no more
		d.untilCruise()
		for !d.e.probing {
			d.accept(time.Second)
		}
		d.throttle()
	}
	if d.e.probeWait != probeBackoff*probeAfter {
		t.Fatalf("wait %v after many failed probes, want at most %v", d.e.probeWait, probeBackoff*probeAfter)
	}
	d.untilCruise()
	est = d.e.spare
	for !d.e.probing {
		d.accept(time.Second)
	}
	d.accept(sampleSpan + 10*time.Second) // a long probe: the rate climbs well over the estimate
	d.throttle()
	if d.e.spare <= est*1.01 || d.e.probeWait != probeAfter {
		t.Errorf("after a probe that found more: estimate %v (was %v), wait %v; want higher, %v", d.e.spare, est, d.e.probeWait, probeAfter)
	}
}

func TestPacerCeiling(t *testing.T) {
	t.Run("the ramp stops at the ceiling", func(t *testing.T) {
		d := newDrive(t, 20)
		d.accept(300 * time.Millisecond)
		d.throttle()
		d.accept(10 * time.Second)
		if d.p.Rate() != 20 || d.e.phase != phaseRamp {
			t.Errorf("rate %v in phase %v, want 20 in the ramp", d.p.Rate(), d.e.phase)
		}
	})
	t.Run("lowered", func(t *testing.T) {
		d := newDrive(t, 100)
		d.settled()
		d.p.SetCeiling(2)
		if d.p.Rate() != 2 {
			t.Fatalf("rate %v under a ceiling of 2", d.p.Rate())
		}
		d.accept(10 * time.Second)
		if d.p.Rate() != 2 {
			t.Errorf("rate %v after 10 s under a ceiling of 2", d.p.Rate())
		}
	})
	t.Run("raised", func(t *testing.T) {
		d := newDrive(t, 100)
		d.settled()
		d.p.SetCeiling(5)
		d.accept(10 * time.Second)
		d.p.SetCeiling(50)
		if want := d.e.spare * settleShare; !near(d.p.Rate(), want, 1e-9) || !d.e.probing {
			t.Errorf("rate %v (probing %v) once the ceiling is raised, want %v and a probe", d.p.Rate(), d.e.probing, want)
		}
	})
	t.Run("before the first throttle", func(t *testing.T) {
		d := newDrive(t, 10)
		d.p.SetCeiling(30)
		if d.p.Rate() != 30 {
			t.Errorf("rate %v, want the new ceiling 30", d.p.Rate())
		}
	})
	t.Run("removed and set", func(t *testing.T) {
		d := newDrive(t, 0)
		d.throttle()
		d.accept(time.Second)
		if !math.IsInf(d.p.Rate(), 1) {
			t.Fatalf("unlimited pacer: rate %v, want +Inf", d.p.Rate())
		}
		d.p.SetCeiling(12)
		if d.p.Rate() != 12 || float64(d.p.lim.Limit()) != 12 {
			t.Fatalf("rate %v, limiter %v, want 12", d.p.Rate(), d.p.lim.Limit())
		}
		d.p.SetCeiling(0)
		if !math.IsInf(d.p.Rate(), 1) || d.p.Wait(context.Background()) != nil {
			t.Errorf("ceiling removed: rate %v, want +Inf and no wait", d.p.Rate())
		}
	})
}

func TestPacerLogsRateChangesWithTheRightWords(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	c := newClock()
	log := zap.New(core, zap.WithClock(zapClock{c}))
	d := driveOf(t, c, NewAdaptive(100, log, c.now))
	d.settled()
	for range 3 {
		d.accept(5 * time.Second)
		d.throttle()
		d.accept(30 * time.Second)
	}
	entries := logs.All()
	if len(entries) < 3 || entries[0].Message != "rate lowered" {
		t.Fatalf("%d entries, the first %+v; want several, the first the cut of the first throttle", len(entries), entries)
	}
	prev, at := 100.0, time.Time{}
	for _, e := range entries {
		r := e.ContextMap()["rate"].(float64)
		if r <= d.e.floor {
			t.Errorf("logged %v/s, the floor of a pause: it lasts a second, the line %v", r, logEvery)
		}
		want := "rate raised"
		if r < prev {
			want = "rate lowered"
		}
		if e.Message != want {
			t.Errorf("%q from %v to %v, want %q", e.Message, prev, r, want)
		}
		if !at.IsZero() && e.Time.Sub(at) < logEvery {
			t.Errorf("logged %v after the previous one, want at least %v", e.Time.Sub(at), logEvery)
		}
		prev, at = r, e.Time
	}
}

// zapClock gives log entries the fake clock's time.
type zapClock struct{ c *fakeClock }

func (z zapClock) Now() time.Time                         { return z.c.now() }
func (z zapClock) NewTicker(d time.Duration) *time.Ticker { return time.NewTicker(d) }

func TestPacerWaitBooksAgainWhenTheRateChanges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := NewAdaptive(1, zap.NewNop(), time.Now)
		if err := p.Wait(t.Context()); err != nil { // the bucket's one token
			t.Fatal(err)
		}
		start := time.Now()
		done := make(chan error)
		go func() { done <- p.Wait(t.Context()) }()
		synctest.Wait() // booked a second ahead
		p.SetCeiling(100)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 20*time.Millisecond {
			t.Errorf("waited %v once the rate went from 1/s to 100/s, want about 10 ms", d)
		}
	})
}

func TestPacerWaitGivesBackACancelledBooking(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := NewAdaptive(1, zap.NewNop(), time.Now)
		if err := p.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- p.Wait(ctx) }()
		synctest.Wait()
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("Wait = %v, want context.Canceled", err)
		}
		if err := p.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d != time.Second {
			t.Errorf("next send %v after the last, want 1s: the cancelled booking is given back", d)
		}
	})
}

// While cruising, one send in pairEvery goes right after the previous one, at the same
// average rate.
func TestPacerPairsSends(t *testing.T) {
	d := newDrive(t, 100)
	d.settled()
	d.p.book(d.c.now()) // the idle limiter's token
	d.p.sends = 0
	start, r := d.c.now(), d.p.Rate()
	pairs := 0
	for range 8 * pairEvery {
		wait, _, _ := d.p.book(d.c.now())
		d.p.sent()
		if wait == 0 {
			pairs++
		}
		d.c.add(wait)
	}
	if pairs != 8 {
		t.Errorf("%d sends of %d went at once, want 8", pairs, 8*pairEvery)
	}
	if got, want := d.c.now().Sub(start).Seconds(), float64(8*pairEvery-1)/r; math.Abs(got-want) > 2/r {
		t.Errorf("%d sends took %.3f s, want about %.3f at %v/s", 8*pairEvery, got, want, r)
	}
}

// Waiters woken late by their timers still send at the rate, up to catchUp late: at 1,000/s a
// late millisecond is a whole send, and a bucket of one would lose it for good.
func TestPacerCatchesUpLateWakeups(t *testing.T) {
	for _, tc := range []struct {
		rate float64
		late time.Duration
	}{{1000, 700 * time.Microsecond}, {1000, 3 * time.Millisecond}, {400, 2 * time.Millisecond}} {
		at := time.Unix(1e9, 0)
		p := NewAdaptive(tc.rate, zap.NewNop(), func() time.Time { return at })
		start, n := at, int(tc.rate)*5 // five seconds' worth
		for range n {
			d, _, _ := p.book(at)
			at = at.Add(max(d, 0))
			if d > 0 {
				at = at.Add(tc.late) // the timer fires late
			}
		}
		if got := float64(n-1) / at.Sub(start).Seconds(); got < 0.99*tc.rate || got > 1.01*tc.rate {
			t.Errorf("--rate %g, every timer %s late: %.1f sends/s, want the rate within 1%%", tc.rate, tc.late, got)
		}
	}
}

// Pairs are counted in sends, not bookings: a waiter that books again because the rate
// changed under it (every answer changes it in the ramp) makes no extra pair. Each send here
// is booked up to five times, as Wait books: a booking that may go at once is the send.
func TestPacerPairsCountSendsNotBookings(t *testing.T) {
	d := newDrive(t, 100)
	d.settled()
	d.p.book(d.c.now())
	d.p.sends = 0
	pairs := 0
	for range 8 * pairEvery {
		var wait time.Duration
		for range 5 {
			if wait, _, _ = d.p.book(d.c.now()); wait == 0 {
				break
			}
			d.p.unbook(d.c.now()) // the rate changed before the send
		}
		if wait == 0 {
			pairs++
		} else {
			wait, _, _ = d.p.book(d.c.now())
		}
		d.p.sent()
		d.c.add(wait)
	}
	if pairs != 8 {
		t.Errorf("%d sends of %d went at once with rate changes before each, want 8", pairs, 8*pairEvery)
	}
}

// The pause after a throttle ends with time, not with an answer: at its floor of one call a
// second, a waiter booked past the pause's end wakes at the end and books again at the
// cruise's rate.
func TestPacerPauseEndsOnTime(t *testing.T) {
	d := newDrive(t, 100)
	d.paused()
	end := d.e.phaseAt.Add(pauseTime)
	for { // the floor's sends, a second apart, until one would fall after the pause's end
		wait, _, recheck := d.p.book(d.c.now())
		if recheck {
			if !d.c.now().Add(wait).Equal(end) {
				t.Fatalf("booked in the pause: wake %v on, want at the pause's end, %v on", wait, end.Sub(d.c.now()))
			}
			break
		}
		if d.c.now().Add(wait).After(end) {
			t.Fatalf("booked a send %v after the pause's end, without waking at the end", d.c.now().Add(wait).Sub(end))
		}
		d.c.add(wait)
		d.p.sent()
	}
	d.p.unbook(d.c.now())
	d.c.t = end
	wait, _, recheck := d.p.book(d.c.now())
	if d.e.phase != phaseCruise || recheck || wait > time.Duration(float64(time.Second)/d.p.Rate()) {
		t.Errorf("at the pause's end: phase %v, wait %v, recheck %v; want the cruise at %v/s", d.e.phase, wait, recheck, d.p.Rate())
	}
}

func TestPacerWaitWakesAtThePauseEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := NewAdaptive(100, zap.NewNop(), time.Now)
		p.est.rtt = time.Millisecond
		// A ramp's sample: accepted calls at 20/s for 3 s between two throttles.
		p.Throttled(time.Now())
		for range 60 {
			time.Sleep(50 * time.Millisecond)
			p.Succeeded(time.Now())
		}
		p.est.phase = phaseRamp
		p.Throttled(time.Now())
		if p.est.phase != phasePause {
			t.Fatalf("phase %v, want the pause", p.est.phase)
		}
		end := p.est.phaseAt.Add(pauseTime)
		gap := time.Duration(float64(time.Second) / (p.est.spare * settleShare)) // between sends in the cruise
		for time.Now().Before(end) {
			if err := p.Wait(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		if late := time.Since(end); late > gap {
			t.Errorf("the first send after the pause went %v after its end, want within one gap of the cruise's rate, %v", late, gap)
		}
	})
}

// Pacing removed during a pause (SetCeiling(0)) ends the phases: a waiter already booking is
// not woken again and again for a pause that no longer paces anything.
func TestPacerUnlimitedMidPauseBooksNoRecheck(t *testing.T) {
	d := newDrive(t, 100)
	d.paused()
	d.p.SetCeiling(0)
	d.c.t = d.e.pauseEnd.Add(time.Millisecond)
	if wait, _, recheck := d.p.book(d.c.now()); wait != 0 || recheck {
		t.Errorf("unlimited, past the pause's end: wait %v, recheck %v; want 0 and no recheck (Wait would spin)", wait, recheck)
	}
}
