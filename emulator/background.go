package emulator

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Schedule changes the rate of the simulated application traffic over time, from when the
// emulator starts serving. Its changes come in the order of their At, each later than the
// one before.
type Schedule []RateChange

// RateChange is a change of the background rate at a time.
type RateChange struct {
	At   time.Duration // after the emulator started serving
	Rate float64       // write calls per second from At on
	// For makes the change a burst: the rate holds for this long, or until the next
	// change, then the rate before the burst comes back. 0 is a step: the rate holds until
	// the next change.
	For time.Duration
}

// ParseSchedule reads a Schedule written as comma-separated changes AT:RATE, for a step
// to RATE calls per second at AT, or AT:RATE/FOR, for a burst of RATE calls per second
// that lasts FOR; AT and FOR are Go durations. "0s:5,30s:15,2m:60/10s" runs at 5/s from
// the start, at 15/s from 30 seconds on, and at 60/s from 2 minutes to 2 minutes 10
// seconds, then at 15/s again. An empty string is an empty schedule.
func ParseSchedule(s string) (Schedule, error) {
	var sched Schedule
	if strings.TrimSpace(s) == "" {
		return sched, nil
	}
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		at, rest, ok := strings.Cut(item, ":")
		if !ok {
			return nil, fmt.Errorf("schedule %q: want AT:RATE or AT:RATE/FOR, e.g. 30s:15 or 2m:60/10s", item)
		}
		var c RateChange
		var err error
		if c.At, err = time.ParseDuration(at); err != nil {
			return nil, fmt.Errorf("schedule %q: time: %w", item, err)
		}
		rate, burst, isBurst := strings.Cut(rest, "/")
		if c.Rate, err = strconv.ParseFloat(rate, 64); err != nil {
			return nil, fmt.Errorf("schedule %q: rate %q is not a number of calls per second", item, rate)
		}
		if isBurst {
			if c.For, err = time.ParseDuration(burst); err != nil || c.For <= 0 {
				return nil, fmt.Errorf("schedule %q: a burst lasts a positive duration, e.g. 10s, not %q", item, burst)
			}
		}
		sched = append(sched, c)
	}
	if err := sched.validate(); err != nil {
		return nil, err
	}
	return sched, nil
}

// String writes s as ParseSchedule reads it.
func (s Schedule) String() string {
	var b strings.Builder
	for i, c := range s {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%v:%s", c.At, strconv.FormatFloat(c.Rate, 'f', -1, 64))
		if c.For > 0 {
			fmt.Fprintf(&b, "/%v", c.For)
		}
	}
	return b.String()
}

func (s Schedule) validate() error {
	for i, c := range s {
		switch {
		case c.At < 0:
			return fmt.Errorf("schedule: change %d at %v: before the start", i+1, c.At)
		case i > 0 && c.At <= s[i-1].At:
			return fmt.Errorf("schedule: change %d at %v: not after the change before it, at %v", i+1, c.At, s[i-1].At)
		case !validRate(c.Rate):
			return fmt.Errorf("schedule: change %d at %v: rate %v: want a number of calls per second, 0 or more", i+1, c.At, c.Rate)
		case c.For < 0:
			return fmt.Errorf("schedule: change %d at %v: a burst of %v", i+1, c.At, c.For)
		}
	}
	return nil
}

func validRate(r float64) bool { return r >= 0 && !math.IsInf(r, 0) }

// forever is the end of a rate that holds to the end.
const forever = time.Duration(math.MaxInt64)

// rateAt returns the background rate at t after the start, given base before the first
// change, and how long after the start that rate holds.
func (s Schedule) rateAt(base float64, t time.Duration) (rate float64, until time.Duration) {
	rate, until = base, forever
	for _, c := range s {
		if c.At > t {
			return rate, min(until, c.At)
		}
		if c.For == 0 {
			base = c.Rate
			rate, until = base, forever
			continue
		}
		if end := c.At + c.For; t < end {
			rate, until = c.Rate, end
		} else {
			rate, until = base, forever
		}
	}
	return rate, until
}

// BackgroundStats are the counts of the simulated application traffic
// (Options.BackgroundRate, Options.BackgroundSchedule).
type BackgroundStats struct {
	Calls     int64   `json:"calls"`     // write calls the application made
	Throttled int64   `json:"throttled"` // of those, refused by the account's write quota
	Rate      float64 `json:"rate"`      // calls per second it makes now, by its schedule
}

// Background returns the counts of the simulated application traffic so far.
func (e *Emulator) Background() BackgroundStats {
	t := &e.traffic
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.stats
}

// traffic is the simulated application traffic: write calls at random times (a Poisson
// process whose rate follows the schedule) that draw from the account's write quota. Its
// arrivals are drawn one after the other from a seeded source, so that with
// Options.Seed the same schedule gives the same arrival times; whether each is throttled
// depends on the other calls too.
type traffic struct {
	mu      sync.Mutex
	rng     *rand.Rand
	started time.Time // on the emulator's clock
	plan    trafficPlan
	next    time.Duration // after started: the next arrival, or forever
	stats   BackgroundStats
}

// trafficPlan is what the traffic follows: a rate before any change, and the changes.
type trafficPlan struct {
	base     float64
	schedule Schedule
}

func planOf(opt *Options) trafficPlan {
	return trafficPlan{opt.BackgroundRate, opt.BackgroundSchedule}
}

func (p trafficPlan) equal(q trafficPlan) bool {
	return p.base == q.base && slices.Equal(p.schedule, q.schedule)
}

// start starts the traffic at now, with the options' plan.
func (t *traffic) start(now time.Time, opt *Options) {
	t.mu.Lock()
	defer t.mu.Unlock()
	seed := uint64(opt.Seed)
	if seed == 0 {
		seed = rand.Uint64()
	}
	t.rng = rand.New(rand.NewPCG(seed, 0x6261636b67726e64)) // a stream apart from the fault dice
	t.started = now
	t.plan = planOf(opt)
	t.next = t.arrival(0)
}

// arrival draws the time of the arrival after the one at from: exponential waits, in the
// time scale that the rate stretches, so that the arrivals are a Poisson process whose rate
// changes with the schedule. The caller holds t.mu.
func (t *traffic) arrival(from time.Duration) time.Duration {
	work := t.rng.ExpFloat64() // in calls: the area under the rate until the next arrival
	for at := from; ; {
		rate, until := t.plan.schedule.rateAt(t.plan.base, at)
		if rate > 0 {
			wait := time.Duration(work / rate * float64(time.Second))
			if until == forever || wait < until-at {
				return at + wait
			}
			work -= rate * (until - at).Seconds()
		}
		if until == forever {
			return forever
		}
		at = until
	}
}

// advance makes the calls due by now, each taking a token from the account's write quota
// at now, and returns how long until the next one is due (forever if none is).
func (e *Emulator) advanceTraffic(now time.Time) time.Duration {
	t := &e.traffic
	t.mu.Lock()
	defer t.mu.Unlock()
	opt := e.opt.Load()
	elapsed := now.Sub(t.started)
	if plan := planOf(opt); !plan.equal(t.plan) { // Reconfigure changed it: go on from now
		t.plan = plan
		t.next = t.arrival(elapsed)
	}
	quota := e.quotas.Load().class[classWrite]
	for t.next <= elapsed {
		throttled := !quota.AllowN(now, 1)
		t.stats.Calls++
		if throttled {
			t.stats.Throttled++
		}
		e.usage.record(classWrite, throttled, now)
		t.next = t.arrival(t.next)
	}
	t.stats.Rate, _ = t.plan.schedule.rateAt(t.plan.base, elapsed)
	if t.next == forever {
		return forever
	}
	return t.next - elapsed
}

// runTraffic makes the background calls, from when traffic.start was called, until ctx
// ends. It sleeps until the next call is due, at least a millisecond (calls due meanwhile
// are made together) and at most a second (to notice a Reconfigure).
func (e *Emulator) runTraffic(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		wait := e.advanceTraffic(e.clock())
		timer.Reset(min(max(wait, time.Millisecond), time.Second))
	}
}
