package pace

import (
	"math"
	"testing"
	"time"
)

// The estimator alone, as a function of what it is told: each case is the answers it hears,
// in order, and where that leaves it. Calls go out at its rate and are answered a round trip
// later; "throttle" answers the call of a round trip ago with a throttle.
func TestEstimatorTable(t *testing.T) {
	const rtt = 30 * time.Millisecond
	type event struct {
		accept   time.Duration // answers accepted, at the estimator's rate, for this long
		throttle bool          // then one throttle
		ceiling  float64       // then, when set, a new ceiling
	}
	t0 := time.Unix(1_700_000_000, 0)
	for _, tc := range []struct {
		name    string
		ceiling float64
		events  []event
		phase   phase
		// rate is the rate it should send at, from what it holds; nil checks the phase alone.
		rate func(e *Estimator) float64
	}{
		{"no throttle: at the ceiling", 100, []event{{accept: 10 * time.Second}}, phaseStart,
			func(*Estimator) float64 { return 100 }},
		{"first throttle: discovery under the landing", 100, []event{{accept: 300 * time.Millisecond, throttle: true}}, phaseDiscover,
			func(e *Estimator) float64 { return e.land * discoverShare }},
		{"a quiet discovery: the ramp from the landing", 100, []event{{accept: 300 * time.Millisecond, throttle: true}, {accept: 300 * time.Millisecond}}, phaseRamp,
			nil},
		{"the ramp's throttle: a pause at the floor", 100, []event{{accept: 300 * time.Millisecond, throttle: true}, {accept: 3 * time.Second, throttle: true}}, phasePause,
			func(e *Estimator) float64 { return e.floor }},
		{"after the pause: the first cruise, on one sample", 100, []event{{accept: 300 * time.Millisecond, throttle: true}, {accept: 3 * time.Second, throttle: true},
			{accept: 2 * pauseTime}}, phaseCruise, func(e *Estimator) float64 { return freshSettle * e.spare }},
		{"the ramp stops at the ceiling", 20, []event{{accept: 300 * time.Millisecond, throttle: true}, {accept: 15 * time.Second}}, phaseRamp,
			func(*Estimator) float64 { return 20 }},
		{"a lower ceiling caps it", 100, []event{{accept: 300 * time.Millisecond, throttle: true}, {accept: 3 * time.Second, throttle: true},
			{accept: 2 * pauseTime, ceiling: 2}, {accept: 5 * time.Second}}, phaseCruise, func(*Estimator) float64 { return 2 }},
		{"unlimited: throttles change nothing", 0, []event{{accept: time.Second, throttle: true}, {accept: time.Second, throttle: true}}, phaseStart,
			func(*Estimator) float64 { return math.Inf(1) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := t0
			e := NewEstimator(tc.ceiling, now)
			last := now
			for _, ev := range tc.events {
				for end := now.Add(ev.accept); ; {
					at := last.Add(time.Duration(float64(time.Second) / math.Min(e.Rate(), 1000)))
					at = maxTime(at, now)
					if at.After(end) {
						now = end
						break
					}
					now, last = at, at
					e.Advance(now)
					e.Succeeded(now, now.Add(-rtt))
				}
				if ev.throttle {
					e.Throttled(now, now.Add(-rtt))
				}
				if ev.ceiling != 0 {
					e.SetCeiling(ev.ceiling, now)
				}
			}
			e.Advance(now)
			if e.phase != tc.phase {
				t.Fatalf("phase %v, want %v", e.phase, tc.phase)
			}
			if tc.rate != nil {
				if want := tc.rate(e); e.Rate() != want && !near(e.Rate(), want, 1e-9) {
					t.Errorf("rate %v, want %v (spare %v, landing %v)", e.Rate(), want, e.spare, e.land)
				}
			}
		})
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
