package job_test

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/bulklink/bulklink/call"
	"github.com/bulklink/bulklink/emulator"
	"github.com/bulklink/bulklink/job"
	"github.com/bulklink/bulklink/report"
)

// Sharing the write quota, measured. Each run is the real job.Run, through the real SDK
// client, in process against the emulator (Emulator.Local: no sockets), whose write quota
// the application's simulated traffic draws from too, on a fake clock (testing/synctest): a
// run of 100 s takes a fraction of a second, and the same seed gives about the same run.
// The tests assert outcomes of whole runs, on the totals of fixed seeds (a single run's
// throttles are a handful of events): the share of the spare capacity the run used, and
// the share of its calls and of the application's that were throttled. docs/pacing.md has
// the design and the figures. runShared also runs the read-first measurement
// (readfirst_test.go), on a pool whose users are linked already where the file says so.

// shareScenario is a run that shares the write quota with the application's traffic.
type shareScenario struct {
	name    string
	quota   float64           // the account's write quota, calls/s
	app     float64           // the application's write calls/s (Poisson), before the schedule
	sched   emulator.Schedule // how the application's rate changes
	burst   time.Duration     // what the quota's bucket holds; 0 is a second's worth
	ceiling float64           // --rate
	setCeil []ceilingAt       // SetCeiling calls while it runs (--rate auto)
	latency time.Duration
	rows    int

	// The emulator's other options: its other quotas, faults. The fields above override
	// theirs (the write quota, its burst, the latency, the application, the seed).
	emu emulator.Options
	// readRate is --read-rate: AdminGetUser calls/s; 0 is unlimited.
	readRate float64
	// mode is --read-first: the operation is job.Link{First: &job.ReadFirst{Mode: mode}}, as
	// run makes it; "" is the engine's default operation, which never reads first.
	mode job.ReadMode
	// linked says which rows (0-based) find their link in place before the run, made the
	// day before (emulator.SeedAge); nil: none does.
	linked func(i int) bool
}

type ceilingAt struct {
	at      time.Duration
	ceiling float64
}

// shareTotals add up runs.
type shareTotals struct {
	runs, rows, failed, calls, throttled, appCalls, appThrottled int64
	spare                                                        float64 // what the application left, in calls
	wall                                                         time.Duration

	already   int64 // of rows, those already linked
	reads     int64 // AdminGetUser calls (every attempt)
	readFirst int64 // rows read before their write
	// wrong counts the rows whose status is not the one the pool says: linked for a row
	// whose link was not in place, already_linked for one whose link was.
	wrong int64
}

func (s shareTotals) ofSpare() float64 { return float64(s.rows) / s.spare }
func (s shareTotals) throttledShare() float64 {
	return float64(s.throttled) / math.Max(1, float64(s.calls))
}
func (s shareTotals) appShare() float64 {
	return float64(s.appThrottled) / math.Max(1, float64(s.appCalls))
}

func (s shareTotals) String() string {
	return fmt.Sprintf("%d runs: %.1f%% of the spare, %.2f%% of bulklink's calls and %.2f%% of the application's throttled, %d rows failed",
		s.runs, 100*s.ofSpare(), 100*s.throttledShare(), 100*s.appShare(), s.failed)
}

func (s *shareTotals) add(o shareTotals) {
	s.runs += o.runs
	s.rows += o.rows
	s.failed += o.failed
	s.calls += o.calls
	s.throttled += o.throttled
	s.appCalls += o.appCalls
	s.appThrottled += o.appThrottled
	s.spare += o.spare
	s.wall += o.wall
	s.already += o.already
	s.reads += o.reads
	s.readFirst += o.readFirst
	s.wrong += o.wrong
}

// appRate is the application's nominal rate at t, as the emulator's schedule runs it.
func (sc shareScenario) appRate(t time.Duration) float64 {
	rate, base := sc.app, sc.app
	for _, c := range sc.sched {
		switch {
		case c.At > t:
			return rate
		case c.For == 0:
			base, rate = c.Rate, c.Rate
		case t < c.At+c.For:
			rate = c.Rate
		default:
			rate = base
		}
	}
	return rate
}

// spare integrates what the application leaves of the quota over a run of wall.
func (sc shareScenario) spare(wall time.Duration) float64 {
	const dt = 10 * time.Millisecond
	s := 0.0
	for t := time.Duration(0); t < wall; t += dt {
		s += (sc.quota - sc.appRate(t)) * min(dt, wall-t).Seconds()
	}
	return s
}

// runShared runs sc once with seed, on a fake clock.
func runShared(t *testing.T, sc shareScenario, seed int64) shareTotals {
	res := shareTotals{runs: 1}
	synctest.Test(t, func(t *testing.T) {
		opt := sc.emu
		opt.WriteQuota, opt.QuotaBurst, opt.Latency = sc.quota, sc.burst, sc.latency
		opt.BackgroundRate, opt.BackgroundSchedule, opt.Seed = sc.app, sc.sched, seed
		emu := emulator.New(opt)
		p := emulator.SeedPool{ID: pool, IdentityProviders: []emulator.SeedProvider{{Name: "Google", Type: "Google"}}}
		for i := range sc.rows {
			u := emulator.SeedUser{Username: fmt.Sprintf("u%d", i)}
			if sc.linked != nil && sc.linked(i) {
				u.Identities = []emulator.SeedIdentity{{Provider: "Google", Value: fmt.Sprintf("g%d", i)}}
			}
			p.Users = append(p.Users, u)
		}
		if err := emu.Load(emulator.Seed{UserPools: []emulator.SeedPool{p}}); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		api := cip.New(cip.Options{Region: "us-east-1", HTTPClient: emu.Local(ctx), BaseEndpoint: aws.String("http://cognito.local"),
			Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""), Retryer: aws.NopRetryer{}})
		calls := call.New(call.Config{Rates: map[call.Category]float64{call.UserUpdate: sc.ceiling, call.UserRead: sc.readRate}})
		var op job.Operation
		var first *job.ReadFirst
		if sc.mode != "" {
			first = &job.ReadFirst{Mode: sc.mode} // as run makes it
			op = job.Link{First: first}
		}
		// Since is when the report began, as run sets it: a link made by a lost attempt is
		// linked, one in place from the day before already_linked.
		j := job.New(api, job.Config{Calls: calls, Op: op, Since: time.Now()})
		for _, c := range sc.setCeil {
			go func() {
				select {
				case <-time.After(c.at):
					j.SetCeiling("us-east-1", c.ceiling)
				case <-ctx.Done():
				}
			}()
		}
		var s sink
		start := time.Now()
		if err := j.Run(ctx, &rows{pool: pool, n: sc.rows}, &s); err != nil {
			t.Fatal(err)
		}
		res.wall = time.Since(start)
		for _, r := range s.recs {
			wasLinked := sc.linked != nil && sc.linked(r.Line-2) // rows puts row i on line i+2
			switch r.Status {
			case report.Linked:
				res.rows++
			case report.AlreadyLinked:
				res.rows++
				res.already++
			default:
				res.failed++
			}
			if r.Status.OK() && (r.Status == report.AlreadyLinked) != wasLinked {
				res.wrong++
			}
		}
		res.calls = j.Stats.Calls()
		res.reads = j.Stats.Checks()
		if first != nil {
			res.readFirst = first.Read.Load()
		}
		res.throttled = emu.Outcomes("AdminLinkProviderForUser")["TooManyRequestsException"]
		bg := emu.Background()
		res.appCalls, res.appThrottled = bg.Calls, bg.Throttled
		res.spare = sc.spare(res.wall)
		cancel()
	})
	return res
}

// runSeeds runs sc with seeds 1..n and adds the runs up.
func runSeeds(t *testing.T, sc shareScenario, n int) shareTotals {
	var total shareTotals
	for seed := range n {
		total.add(runShared(t, sc, int64(seed+1)))
	}
	return total
}

// seeds is n, or long with BULKLINK_LONG_TESTS=1 (CI).
func seeds(n, long int) int {
	if os.Getenv("BULKLINK_LONG_TESTS") == "1" {
		return long
	}
	return n
}

// The measurement: an application sending 10 writes/s (Poisson) into a 25/s
// quota, 30 ms round trips, 1,500 rows, --rate 100, the default eight workers.
var shareSteady = shareScenario{name: "application 10/s into 25/s", quota: 25, app: 10, ceiling: 100,
	latency: 30 * time.Millisecond, rows: 1500}

func shareVariant(name string, f func(*shareScenario)) shareScenario {
	sc := shareSteady
	sc.name = name
	f(&sc)
	return sc
}

var (
	shareStep = shareVariant("application 5/s, then 15/s from 30 s", func(sc *shareScenario) {
		sc.app, sc.sched = 5, emulator.Schedule{{At: 30 * time.Second, Rate: 15}}
	})
	shareNone = shareVariant("no application, 50/s quota, --rate 200", func(sc *shareScenario) {
		sc.quota, sc.ceiling, sc.rows, sc.app = 50, 200, 5000, 0
	})
)

// TestPacingTargets holds issue 13's targets on the totals of fixed seeds: beside a steady
// application, at least 95% of the spare with at most 0.5% of either side's calls
// throttled; when the application triples its rate, 90% of the best possible with at most
// 2% of its calls throttled; alone, 97% of the quota with at most 1% throttled.
func TestPacingTargets(t *testing.T) {
	for _, tc := range []struct {
		sc    shareScenario
		seeds int
		check func(shareTotals) string
	}{
		{shareSteady, seeds(10, 20), func(s shareTotals) string {
			if s.ofSpare() < 0.95 || s.throttledShare() > 0.005 || s.appShare() > 0.005 {
				return "want ≥ 95% of the spare, ≤ 0.5% of either side's calls throttled"
			}
			return ""
		}},
		{shareStep, seeds(10, 20), func(s shareTotals) string {
			if s.ofSpare() < 0.90 || s.appShare() > 0.02 {
				return "want ≥ 90% of the best possible rows, ≤ 2% of the application's calls throttled"
			}
			return ""
		}},
		{shareNone, 2, func(s shareTotals) string {
			if s.ofSpare() < 0.97 || s.throttledShare() > 0.01 {
				return "want ≥ 97% of the quota, ≤ 1% of calls throttled"
			}
			return ""
		}},
	} {
		t.Run(tc.sc.name, func(t *testing.T) {
			t.Parallel()
			got := runSeeds(t, tc.sc, tc.seeds)
			if want := tc.check(got); want != "" || got.failed > 0 {
				t.Errorf("%v; %s, and no failed row", got, want)
			}
			t.Log(got)
		})
	}
}

// shareRobust are conditions the pacer knows nothing of: buckets of other sizes, slow round
// trips, an application that takes most of the quota or comes in bursts, a ceiling just over
// the spare and one set while the run goes (--rate auto).
var shareRobust = []struct {
	sc       shareScenario
	minShare float64 // of the spare
	maxShare float64 // of either side's calls throttled; 0 is 2%
	seeds    int     // at least this many seeds; 0 is one (three in CI)
}{
	// A bucket of a fifth of a second: the application's own bursts empty it, so even a
	// fixed 60% of the spare throttles 1% of its calls; being careful is right.
	{shareVariant("bucket of 0.2 s", func(sc *shareScenario) { sc.burst = 200 * time.Millisecond }), 0.25, 0, 0},
	{shareVariant("bucket of 4 s", func(sc *shareScenario) { sc.burst = 4 * time.Second }), 0.80, 0, 0},
	{shareVariant("150 ms round trips", func(sc *shareScenario) { sc.latency = 150 * time.Millisecond }), 0.80, 0, 0},
	// The application takes 80% of the quota: half the bucket's burst, where discovery
	// lands first, is 2.6 times the spare, and it takes rounds to get under it.
	// Its runs are short and vary a lot: three seeds always.
	{shareVariant("application takes 80%", func(sc *shareScenario) { sc.app, sc.rows = 20, 600 }), 0.80, 0.03, 3},
	{shareVariant("application in bursts", func(sc *shareScenario) {
		sc.app = 8 // and every 10 s, 20 more calls in a second
		for at := 5 * time.Second; at < 5*time.Minute; at += 10 * time.Second {
			sc.sched = append(sc.sched, emulator.RateChange{At: at, Rate: 28, For: time.Second})
		}
	}), 0.80, 0, 0},
	{shareVariant("--rate 20 over a spare of 15", func(sc *shareScenario) { sc.ceiling = 20 }), 0.80, 0, 0},
	{shareVariant("ceiling set to 12, then 30", func(sc *shareScenario) {
		sc.setCeil = []ceilingAt{{20 * time.Second, 12}, {50 * time.Second, 30}}
	}), 0.80, 0, 0},
	// --rate auto beside the application that steps up (the harness's step scenario): the
	// ceiling is the quota less the application's latest minute, less 10%, read each minute,
	// so the step shows in it a minute late. Over 200 seeds: 91.4% of the best possible
	// (the pacer before issue 24, in its own simulation: 91.6%), with a tail (of seeds 1 to
	// 20, three under 86%, the worst 77%) where a throttle soon after the step pools a sample
	// of the slow discovery, and the run cruises under the spare until it probes.
	{shareVariant("--rate auto, application 5/s then 15/s", func(sc *shareScenario) {
		sc.app, sc.sched = 5, emulator.Schedule{{At: 30 * time.Second, Rate: 15}}
		sc.ceiling = 17.8 // (25 − 5.2) × 0.9
		sc.setCeil = []ceilingAt{{86 * time.Second, 10.0}, {146 * time.Second, 8.7}}
	}), 0.80, 0, 0},
}

// TestPacingRobustness: under conditions it was not tuned for, the pacer stays sane: the
// bounds catch one that hammers the quota or stalls, not a point of throughput.
func TestPacingRobustness(t *testing.T) {
	for _, tc := range shareRobust {
		t.Run(tc.sc.name, func(t *testing.T) {
			t.Parallel()
			got := runSeeds(t, tc.sc, max(tc.seeds, seeds(1, 3)))
			maxShare := tc.maxShare
			if maxShare == 0 {
				maxShare = 0.02
			}
			if got.ofSpare() < tc.minShare || got.throttledShare() > maxShare || got.appShare() > maxShare || got.failed > 0 {
				t.Errorf("%v; want ≥ %.0f%% of the spare, ≤ %.0f%% throttled either side, no failed row", got, 100*tc.minShare, 100*maxShare)
			}
			t.Log(got)
		})
	}
}

var shareTable = flag.Int("sharetable", 0, "TestPacingTable: print the pacing figures of every scenario over this many seeds")

// TestPacingTable prints, with -sharetable N -v, the figures of every scenario over N seeds:
// the table of docs/pacing.md.
func TestPacingTable(t *testing.T) {
	if *shareTable == 0 {
		t.Skip("run with -sharetable N -v")
	}
	var b strings.Builder
	b.WriteString("| scenario | seeds | rows/s | of the spare | bulklink throttled | application throttled | rows failed |\n|---|---|---|---|---|---|---|\n")
	scs := []shareScenario{shareSteady, shareStep, shareNone, shareVariant("application 10/s into 25/s, 30,000 rows", func(sc *shareScenario) { sc.rows = 30000 })}
	for _, r := range shareRobust {
		scs = append(scs, r.sc)
	}
	for _, sc := range scs {
		n := *shareTable
		if sc.rows > 3000 {
			n = max(1, n/10)
		}
		s := runSeeds(t, sc, n)
		fmt.Fprintf(&b, "| %s | %d | %.1f | %.1f%% | %.2f%% | %.2f%% | %d |\n", sc.name, n,
			float64(s.rows)/s.wall.Seconds(), 100*s.ofSpare(), 100*s.throttledShare(), 100*s.appShare(), s.failed)
	}
	t.Log("\n" + b.String())
}
