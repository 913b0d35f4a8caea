package job

import (
	"math"
	"testing"
	"time"

	"go.uber.org/zap"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time      { return c.t }
func (c *fakeClock) add(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *fakeClock               { return &fakeClock{t: time.Unix(1_700_000_000, 0)} }
func near(got, want float64) bool        { return math.Abs(got-want) < 1e-9 }
func (p *pacer) limit() float64          { return float64(p.lim.Limit()) }

func TestPacerCutsOncePerCooldown(t *testing.T) {
	c := newClock()
	p := newPacer(100, zap.NewNop(), c.now)
	p.Throttled(c.now())
	cut := 100 * cutFactor
	if got := p.Rate(); !near(got, cut) {
		t.Fatalf("after one throttle: rate %v, want %v", got, cut)
	}
	// Throttles answering calls sent before the cut must not cut again.
	for range 10 {
		c.add(cutCooldown / 20)
		p.Throttled(c.now())
	}
	if got := p.Rate(); !near(got, cut) {
		t.Fatalf("throttles within the cooldown: rate %v, want %v", got, cut)
	}
	c.add(cutCooldown)
	p.Throttled(c.now())
	if got, want := p.Rate(), cut*cutFactor; !near(got, want) {
		t.Fatalf("throttle after the cooldown: rate %v, want %v", got, want)
	}
	if got := p.limit(); !near(got, p.Rate()) {
		t.Fatalf("limiter at %v, pacer at %v", got, p.Rate())
	}
}

// With round trips longer than the cooldown, the throttles of one burst arrive after it:
// only a throttle of a call sent after the last cut cuts again.
func TestPacerIgnoresThrottlesOfCallsSentBeforeTheCut(t *testing.T) {
	c := newClock()
	p := newPacer(100, zap.NewNop(), c.now)
	sent := c.now()
	c.add(time.Second) // a slow round trip
	p.Throttled(sent)
	c.add(time.Second)
	p.Throttled(sent) // same burst, answered late
	if got, want := p.Rate(), 100*cutFactor; !near(got, want) {
		t.Fatalf("rate %v, want one cut: %v", got, want)
	}
	p.Throttled(c.now()) // a call sent after the cut
	if got, want := p.Rate(), 100*cutFactor*cutFactor; !near(got, want) {
		t.Fatalf("rate %v, want a second cut: %v", got, want)
	}
}

func TestPacerFloorAndCeiling(t *testing.T) {
	c := newClock()
	p := newPacer(20, zap.NewNop(), c.now)
	for range 100 {
		c.add(time.Second)
		p.Throttled(c.now())
	}
	if got := p.Rate(); !near(got, 1) {
		t.Fatalf("after many throttles: rate %v, want the floor 1", got)
	}
	// Increase: about max(0.5, 4% of the rate) calls/s per second of successes.
	for range 10_000 {
		p.Succeeded()
	}
	if got := p.Rate(); !near(got, 20) {
		t.Fatalf("after many successes: rate %v, want the ceiling 20", got)
	}
}

func TestPacerAdditiveIncrease(t *testing.T) {
	c := newClock()
	p := newPacer(100, zap.NewNop(), c.now)
	p.Throttled(c.now()) // 70/s
	// One second's worth of successes at 70/s raises the rate by about 4% (2.8/s).
	for range 70 {
		p.Succeeded()
	}
	if got := p.Rate(); got < 72.7 || got > 72.9 {
		t.Fatalf("after a second of successes: rate %v, want about 72.8", got)
	}
}

func TestPacerUnlimitedIgnoresThrottles(t *testing.T) {
	p := newPacer(0, zap.NewNop(), time.Now)
	p.Throttled(time.Now())
	p.Succeeded()
	if got := p.Rate(); !math.IsInf(got, 1) {
		t.Fatalf("unlimited pacer: rate %v, want +Inf", got)
	}
}
