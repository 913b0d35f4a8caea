package pace

import (
	"cmp"
	"container/heap"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"golang.org/x/time/rate"
)

// This file is a discrete-event simulation of a run against Cognito's write quota, on a
// fake clock: a token bucket (quota Q, burst B) that bulklink's workers and the
// application's own traffic draw from, as the emulator's quota does; round trips of a given
// latency; and the workers' loop as link.go runs it (pacer wait, call, Succeeded or
// Throttled, backoff and retry). Nothing sleeps: a 100 s run takes milliseconds, and a
// seeded run is the same every time, so the issue's targets can be asserted.

// simController is what the simulation drives: the pacer, or a rival design to compare.
// Sends are booked the way pacer.Wait books them: one waiter at a time, booking again when
// the rate changes while it waits or a phase ends before its send (book's recheck), and
// counted (sent) when they go.
type simController interface {
	book(now time.Time) (time.Duration, <-chan struct{}, bool)
	unbook(now time.Time)
	sent()
	Throttled(sent time.Time)
	Succeeded(sent time.Time)
	Rate() float64
}

// appTraffic is the application's write traffic: next returns the time of its next call
// after t (seconds from the start), mean its nominal rate at t.
type appTraffic interface {
	next(rng *rand.Rand, t float64) float64
	mean(t float64) float64
}

// poisson is application traffic with exponential gaps, its rate changing in steps.
type poisson []step

type step struct{ at, rate float64 } // from at (seconds) on, rate calls/s

func (p poisson) mean(t float64) float64 {
	r := 0.0
	for _, s := range p {
		if t >= s.at {
			r = s.rate
		}
	}
	return r
}

func (p poisson) next(rng *rand.Rand, t float64) float64 {
	for {
		end := math.Inf(1)
		for _, s := range p {
			if s.at > t {
				end = s.at
				break
			}
		}
		if r := p.mean(t); r > 0 {
			if n := t + rng.ExpFloat64()/r; n < end {
				return n
			}
		}
		if math.IsInf(end, 1) {
			return end
		}
		t = end // memoryless: draw again at the step, at its rate
	}
}

// bursty is Poisson traffic at base calls/s plus, every period seconds, a burst of size
// calls spread evenly over spread seconds.
type bursty struct {
	base, period, spread float64
	size                 int
}

func (b bursty) mean(float64) float64 { return b.base + float64(b.size)/b.period }

func (b bursty) next(rng *rand.Rand, t float64) float64 {
	n := t + rng.ExpFloat64()/b.base
	gap := b.spread / float64(b.size)
	for k := math.Floor(t / b.period); ; k++ { // bursts start half way through each period
		start := k*b.period + b.period/2
		i := math.Max(0, math.Floor((t-start)/gap))
		for start+i*gap <= t {
			i++
		}
		if i < float64(b.size) {
			return math.Min(n, start+i*gap)
		}
	}
}

type simScenario struct {
	name     string
	quota    float64 // Q: calls/s the bucket refills at
	burst    int     // B: tokens it holds; 0 is a second's worth, as in the emulator
	ceiling  float64 // --rate
	workers  int     // --concurrency
	latency  time.Duration
	upShare  float64 // share of the latency before the quota is checked; 0 is all of it, as in the emulator
	rows     int
	app      appTraffic
	setCeil  []step // SetCeiling calls: at (seconds), ceiling
	maxTries int    // attempts per row; 0 is 8
}

// simTotals add up runs: rows, calls and throttles of bulklink and of the application, and
// the spare (the quota minus the application's mean rate) integrated over each run.
type simTotals struct {
	rows, failed, calls, throttled, appCalls, appThrottled int
	spare, wall                                            float64
}

func (s simTotals) ofSpare() float64 { return float64(s.rows) / s.spare }
func (s simTotals) throttledShare() float64 {
	return float64(s.throttled) / math.Max(1, float64(s.calls))
}
func (s simTotals) appShare() float64 {
	return float64(s.appThrottled) / math.Max(1, float64(s.appCalls))
}

func (s *simTotals) add(o simTotals) {
	s.rows += o.rows
	s.failed += o.failed
	s.calls += o.calls
	s.throttled += o.throttled
	s.appCalls += o.appCalls
	s.appThrottled += o.appThrottled
	s.spare += o.spare
	s.wall += o.wall
}

func (s simTotals) String() string {
	return fmt.Sprintf("%.1f%% of the spare, %.2f%% of bulklink's calls and %.2f%% of the application's throttled, %d rows failed",
		100*s.ofSpare(), 100*s.throttledShare(), 100*s.appShare(), s.failed)
}

// simulateSeeds runs sc with seeds 1..n and adds the runs up.
func simulateSeeds(sc simScenario, mk func(ceiling float64, now func() time.Time) simController, n int) simTotals {
	var total simTotals
	for seed := range n {
		total.add(simulate(sc, mk, uint64(seed+1)))
	}
	return total
}

type simEventKind int

const (
	evApp     simEventKind = iota // an application call reaches the quota
	evReady                       // a worker is ready to send: a new row, or a retry after backoff
	evSlot                        // the booked send is due
	evArrive                      // a worker's call reaches the quota
	evAnswer                      // its answer reaches the worker
	evCeiling                     // SetCeiling
)

type simEvent struct {
	at       float64 // seconds from the start
	seq      int     // ties go in the order of scheduling
	kind     simEventKind
	worker   int
	sent     float64
	accepted bool
	recheck  bool
	value    float64
}

type simQueue []simEvent

func (q simQueue) Len() int { return len(q) }
func (q simQueue) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}
func (q simQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *simQueue) Push(x any)   { *q = append(*q, x.(simEvent)) }
func (q *simQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

// simulate runs sc once with the controller mk builds on the simulation's clock.
func simulate(sc simScenario, mk func(ceiling float64, now func() time.Time) simController, seed uint64) simTotals {
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	start := time.Unix(1_700_000_000, 0)
	at := func(s float64) time.Time { return start.Add(time.Duration(s * float64(time.Second))) }
	var now float64
	ctl := mk(sc.ceiling, func() time.Time { return at(now) })

	burst := sc.burst
	if burst == 0 {
		burst = max(1, int(math.Ceil(sc.quota)))
	}
	bucket := rate.NewLimiter(rate.Limit(sc.quota), burst)
	maxTries := cmp.Or(sc.maxTries, 8)
	up := sc.upShare
	if up == 0 {
		up = 1
	}

	var q simQueue
	seq := 0
	push := func(e simEvent) { seq++; e.seq = seq; heap.Push(&q, e) }

	var res simTotals
	nextRow, done := 0, 0
	attempts := make([]int, sc.workers)
	var waiting []int // workers waiting for the pacer, in order
	holder := -1      // the worker whose send is booked
	var changed <-chan struct{}
	gen := 0 // bookings made: a slot of an older one is stale
	bookFor := func(w int) {
		var d time.Duration
		var recheck bool
		d, changed, recheck = ctl.book(at(now))
		gen++
		push(simEvent{at: now + d.Seconds(), kind: evSlot, worker: w, value: float64(gen), recheck: recheck})
	}
	next := func() {
		if holder < 0 && len(waiting) > 0 {
			holder, waiting = waiting[0], waiting[1:]
			bookFor(holder)
		}
	}
	rebook := func() { // as Wait does when the rate changes under a booked send
		if holder < 0 {
			return
		}
		select {
		case <-changed:
			ctl.unbook(at(now))
			bookFor(holder)
		default:
		}
	}
	take := func(w int) {
		if nextRow < sc.rows {
			nextRow++
			attempts[w] = 0
			push(simEvent{at: now, kind: evReady, worker: w})
		}
	}
	for w := range sc.workers {
		take(w)
	}
	push(simEvent{at: sc.app.next(rng, 0), kind: evApp})
	for _, s := range sc.setCeil {
		push(simEvent{at: s.at, kind: evCeiling, value: s.rate})
	}
	for q.Len() > 0 && done < sc.rows {
		e := heap.Pop(&q).(simEvent)
		now = e.at
		switch e.kind {
		case evApp:
			res.appCalls++
			if !bucket.AllowN(at(now), 1) {
				res.appThrottled++
			}
			push(simEvent{at: sc.app.next(rng, now), kind: evApp})
		case evCeiling:
			ctl.(interface{ SetCeiling(float64) }).SetCeiling(e.value)
			rebook()
		case evReady:
			waiting = append(waiting, e.worker)
			next()
		case evSlot:
			if int(e.value) != gen {
				continue // booked again since
			}
			if e.recheck { // a phase ended before the send: book again
				ctl.unbook(at(now))
				bookFor(e.worker)
				continue
			}
			holder = -1
			ctl.sent()
			attempts[e.worker]++
			res.calls++
			l := sc.latency.Seconds() * (0.9 + 0.2*rng.Float64())
			push(simEvent{at: now + l*up, kind: evArrive, worker: e.worker, sent: now, value: l * (1 - up)})
			next()
		case evArrive:
			ok := bucket.AllowN(at(now), 1)
			push(simEvent{at: now + e.value, kind: evAnswer, worker: e.worker, sent: e.sent, accepted: ok})
		case evAnswer:
			w := e.worker
			if e.accepted {
				ctl.Succeeded(at(e.sent))
				rebook()
				res.rows++
			} else {
				res.throttled++
				ctl.Throttled(at(e.sent))
				rebook()
				if attempts[w] < maxTries {
					d := simBackoff(attempts[w], rng.Float64()).Seconds()
					push(simEvent{at: now + d, kind: evReady, worker: w})
					continue
				}
				res.failed++
			}
			done++
			res.wall = now
			take(w)
		}
	}
	const dt = 0.01
	for t := 0.0; t < res.wall; t += dt {
		res.spare += (sc.quota - sc.app.mean(t)) * math.Min(dt, res.wall-t)
	}
	return res
}

func simPacer(ceiling float64, now func() time.Time) simController {
	return NewAdaptive(ceiling, zap.NewNop(), now)
}

// The issue's measurement: an application sending 10 writes/s (Poisson) into a 25/s
// quota, 30 ms latency, 1,500 rows, --rate 100, the default eight workers.
var simIssue = simScenario{name: "Poisson 10/s into 25/s", quota: 25, ceiling: 100, workers: 8,
	latency: 30 * time.Millisecond, rows: 1500, app: poisson{{0, 10}}}

func simVariant(name string, f func(*simScenario)) simScenario {
	sc := simIssue
	sc.name = name
	f(&sc)
	return sc
}

var (
	simStep = simVariant("application 5/s, then 15/s from 30 s", func(sc *simScenario) {
		sc.app = poisson{{0, 5}, {30, 15}}
	})
	simNone = simVariant("no application, 50/s quota, --rate 200", func(sc *simScenario) {
		sc.quota, sc.ceiling, sc.rows, sc.app = 50, 200, 5000, poisson{}
	})
)

// TestSimulatorReproducesTheIssue checks the simulation against issue 13's measurement on
// the emulator, where the AIMD pacer got 14.5 rows/s with 2.6% of its calls and 3.3% of
// the application's throttled.
func TestSimulatorReproducesTheIssue(t *testing.T) {
	got := simulateSeeds(simIssue, newAIMD, 8)
	if r := float64(got.rows) / got.wall; r < 13.5 || r > 16 || got.throttledShare() < 0.015 || got.throttledShare() > 0.04 ||
		got.appShare() < 0.015 || got.appShare() > 0.05 {
		t.Errorf("AIMD in simulation: %.1f rows/s, %v; want about 14.5 rows/s, 2.6%% and 3.3%% throttled", r, got)
	}
}

// TestPacerSimulationTargets asserts issue 13's targets on the simulation, on the totals of
// fixed seeds (a single run's throttles are a handful of events; the seeds' totals are what
// a benchmark averages). Over 200 seeds the first two give 96.2% of the spare with 0.40%
// of bulklink's and 0.39% of the application's calls throttled, and 95.7% with 0.81% of the
// application's; the third, without noise, 99.3% and 0.16% whatever the seed.
func TestPacerSimulationTargets(t *testing.T) {
	for _, tc := range []struct {
		sc    simScenario
		seeds int
		check func(simTotals) string
	}{
		{simIssue, 20, func(s simTotals) string {
			if s.ofSpare() < 0.95 || s.throttledShare() > 0.005 || s.appShare() > 0.005 {
				return "want ≥ 95% of the spare, ≤ 0.5% of either side's calls throttled"
			}
			return ""
		}},
		{simStep, 20, func(s simTotals) string {
			if s.ofSpare() < 0.90 || s.appShare() > 0.02 {
				return "want ≥ 90% of the best possible rows, ≤ 2% of the application's calls throttled"
			}
			return ""
		}},
		{simNone, 2, func(s simTotals) string {
			if s.ofSpare() < 0.97 || s.throttledShare() > 0.01 {
				return "want ≥ 97% of the quota, ≤ 1% of calls throttled"
			}
			return ""
		}},
	} {
		t.Run(tc.sc.name, func(t *testing.T) {
			t.Parallel()
			got := simulateSeeds(tc.sc, simPacer, tc.seeds)
			if want := tc.check(got); want != "" || got.failed > 0 {
				t.Errorf("%d seeds: %v; %s, and no failed row", tc.seeds, got, want)
			}
		})
	}
}

// TestPacerSimulationRobustness runs buckets of other sizes, slow round trips, an
// application that takes most of the quota or comes in bursts, a ceiling just over the
// spare and one set while the run goes (--rate auto): the pacer must stay sane without
// knowing any of it. The bounds are loose on purpose: they catch a pacer that hammers the
// quota or stalls, not a point of throughput (over 200 seeds these cases get 91% to 103%
// of the spare, the small bucket 35%, with 0.5% to 2% of calls throttled).
func TestPacerSimulationRobustness(t *testing.T) {
	for _, tc := range []struct {
		sc       simScenario
		minRate  float64 // share of the spare
		maxShare float64 // of either side's calls throttled; 0 is 2%
	}{
		// A bucket of a fifth of a second: the application's own bursts empty it, so even a
		// fixed 60% of the spare throttles 1% of its calls; being careful is right.
		{simVariant("bucket of 0.2 s", func(sc *simScenario) { sc.burst = 5 }), 0.25, 0},
		{simVariant("bucket of 4 s", func(sc *simScenario) { sc.burst = 100 }), 0.80, 0},
		{simVariant("150 ms round trips", func(sc *simScenario) { sc.latency, sc.upShare = 150*time.Millisecond, 0.5 }), 0.80, 0},
		// The application takes 80% of the quota: half the bucket's burst, where discovery
		// lands first, is 2.6 times the spare, and it takes three rounds to get under it.
		{simVariant("application takes 80%", func(sc *simScenario) { sc.app, sc.rows = poisson{{0, 20}}, 600 }), 0.80, 0.03},
		{simVariant("application in bursts", func(sc *simScenario) {
			sc.app = bursty{base: 8, period: 10, spread: 1, size: 20}
		}), 0.80, 0},
		{simVariant("--rate 20 over a spare of 15", func(sc *simScenario) { sc.ceiling = 20 }), 0.80, 0},
		{simVariant("ceiling set to 12, then 30", func(sc *simScenario) { sc.setCeil = []step{{20, 12}, {50, 30}} }), 0.80, 0},
	} {
		t.Run(tc.sc.name, func(t *testing.T) {
			t.Parallel()
			got := simulateSeeds(tc.sc, simPacer, 3)
			maxShare := cmp.Or(tc.maxShare, 0.02)
			if got.ofSpare() < tc.minRate || got.throttledShare() > maxShare || got.appShare() > maxShare || got.failed > 0 {
				t.Errorf("%v; want ≥ %.0f%% of the spare, ≤ %.0f%% throttled either side, no failed row", got, 100*tc.minRate, 100*maxShare)
			}
		})
	}
}

var simTable = flag.Bool("simtable", false, "TestPacerSimulationTable: print the pacer's simulation results as a table")

// TestPacerSimulationTable prints, with -simtable -v, the simulation's results for this
// pacer, the AIMD it replaced, and an oracle told 95% of the spare at every moment.
func TestPacerSimulationTable(t *testing.T) {
	if !*simTable {
		t.Skip("run with -simtable -v")
	}
	long := simVariant("Poisson 10/s into 25/s, 30,000 rows", func(sc *simScenario) { sc.rows = 30000 })
	rivals := []struct {
		name string
		mk   func(float64, func() time.Time) simController
	}{{"pacer", simPacer}, {"AIMD (before)", newAIMD}, {"told 95% of the spare", nil}}
	var b strings.Builder
	b.WriteString("| scenario | controller | seeds | rows/s | of the spare | bulklink throttled | application throttled | rows failed |\n|---|---|---|---|---|---|---|---|\n")
	for _, sc := range []simScenario{simIssue, simStep, simNone, long,
		simVariant("bucket of 0.2 s", func(sc *simScenario) { sc.burst = 5 }),
		simVariant("bucket of 4 s", func(sc *simScenario) { sc.burst = 100 }),
		simVariant("150 ms round trips", func(sc *simScenario) { sc.latency, sc.upShare = 150*time.Millisecond, 0.5 }),
		simVariant("application takes 80%", func(sc *simScenario) { sc.app, sc.rows = poisson{{0, 20}}, 600 }),
		simVariant("application in bursts", func(sc *simScenario) { sc.app = bursty{base: 8, period: 10, spread: 1, size: 20} }),
	} {
		seeds := 200
		if sc.rows > 3000 {
			seeds = 10
		}
		for _, r := range rivals {
			mk := r.mk
			if mk == nil {
				mk = func(_ float64, now func() time.Time) simController {
					start := now()
					return newTold(func() float64 { return 0.95 * (sc.quota - sc.app.mean(now().Sub(start).Seconds())) })
				}
			}
			s := simulateSeeds(sc, mk, seeds)
			fmt.Fprintf(&b, "| %s | %s | %d | %.1f | %.1f%% | %.2f%% | %.2f%% | %d |\n", sc.name, r.name, seeds,
				float64(s.rows)/s.wall, 100*s.ofSpare(), 100*s.throttledShare(), 100*s.appShare(), s.failed)
		}
	}
	t.Log("\n" + b.String())
}

// aimd is the controller this pacer replaced, for comparison: cut 30% per throttle at most
// every 200 ms, raise by 4% of the rate per second of successes.
type aimd struct {
	lim     *rate.Limiter
	now     func() time.Time
	ceiling float64
	current float64
	lastCut time.Time
}

func newAIMD(ceiling float64, now func() time.Time) simController {
	return &aimd{lim: rate.NewLimiter(rate.Limit(ceiling), 1), now: now, ceiling: ceiling, current: ceiling}
}

func (a *aimd) book(now time.Time) (time.Duration, <-chan struct{}, bool) {
	return a.lim.ReserveN(now, 1).DelayFrom(now), nil, false
}
func (a *aimd) unbook(time.Time) {}
func (a *aimd) sent()            {}
func (a *aimd) Rate() float64    { return a.current }
func (a *aimd) Throttled(sent time.Time) {
	now := a.now()
	if sent.Before(a.lastCut) || now.Sub(a.lastCut) < 200*time.Millisecond {
		return
	}
	a.lastCut = now
	a.current = math.Max(1, a.current*0.7)
	a.lim.SetLimitAt(now, rate.Limit(a.current))
}
func (a *aimd) Succeeded(time.Time) {
	if a.current < a.ceiling {
		a.current = math.Min(a.ceiling, a.current+math.Max(0.5, a.current*0.04)/a.current)
		a.lim.SetLimitAt(a.now(), rate.Limit(a.current))
	}
}

// told paces at the rate an oracle tells it, whatever happens.
type told struct {
	lim  *rate.Limiter
	rate func() float64
}

func newTold(r func() float64) *told { return &told{rate.NewLimiter(rate.Limit(r()), 1), r} }

func (f *told) book(now time.Time) (time.Duration, <-chan struct{}, bool) {
	f.lim.SetLimitAt(now, rate.Limit(f.rate()))
	return f.lim.ReserveN(now, 1).DelayFrom(now), nil, false
}
func (f *told) unbook(time.Time)    {}
func (f *told) sent()               {}
func (f *told) Rate() float64       { return float64(f.lim.Limit()) }
func (f *told) Throttled(time.Time) {}
func (f *told) Succeeded(time.Time) {}

// simBackoff is the engine's backoff (call.DefaultBackoff): full jitter from 250 ms, doubling,
// at most 20 s.
func simBackoff(n int, u float64) time.Duration {
	return time.Duration(u * float64(min(20*time.Second, 250*time.Millisecond<<min(n-1, 20))))
}
