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
	p.Throttled()
	cut := 100 * cutFactor
	if got := p.Rate(); !near(got, cut) {
		t.Fatalf("after one throttle: rate %v, want %v", got, cut)
	}
	// Throttles answering calls sent before the cut must not cut again.
	for range 10 {
		c.add(cutCooldown / 20)
		p.Throttled()
	}
	if got := p.Rate(); !near(got, cut) {
		t.Fatalf("throttles within the cooldown: rate %v, want %v", got, cut)
	}
	c.add(cutCooldown)
	p.Throttled()
	if got, want := p.Rate(), cut*cutFactor; !near(got, want) {
		t.Fatalf("throttle after the cooldown: rate %v, want %v", got, want)
	}
	if got := p.limit(); !near(got, p.Rate()) {
		t.Fatalf("limiter at %v, pacer at %v", got, p.Rate())
	}
}

func TestPacerFloorAndCeiling(t *testing.T) {
	c := newClock()
	p := newPacer(20, zap.NewNop(), c.now)
	for range 100 {
		c.add(time.Second)
		p.Throttled()
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
	p.Throttled() // 70/s
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
	p.Throttled()
	p.Succeeded()
	if got := p.Rate(); !math.IsInf(got, 1) {
		t.Fatalf("unlimited pacer: rate %v, want +Inf", got)
	}
}
