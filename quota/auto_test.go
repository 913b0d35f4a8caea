package quota_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/bulklink/bulklink/call"
	"github.com/bulklink/bulklink/emulator"
	"github.com/bulklink/bulklink/quota"
)

// The tests drive the real Service Quotas and CloudWatch clients over HTTP against the
// emulator, whose quota and per-minute usage counters run on the test's clock.

// clock is a fake clock that moves only when the test says so.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fakeJob records the ceilings set; its own calls are what the test says it sent.
type fakeJob struct {
	mu       sync.Mutex
	calls    map[string]int64
	ceilings map[string][]float64
}

func newJob() *fakeJob {
	return &fakeJob{calls: map[string]int64{}, ceilings: map[string][]float64{}}
}

func (j *fakeJob) SetCeiling(region string, c float64) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.ceilings[region] = append(j.ceilings[region], c)
}

func (j *fakeJob) Calls(region string) int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.calls[region]
}

func (j *fakeJob) sent(region string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.calls[region]++
}

// set returns the ceilings set in region so far.
func (j *fakeJob) set(region string) []float64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]float64(nil), j.ceilings[region]...)
}

// clientsOf are the real SDK clients of both services for srv, signed with key, without
// retries.
func clientsOf(srv *emulator.Server, key string) quota.Clients {
	creds := credentials.NewStaticCredentialsProvider(key, "secret", "")
	return quota.Clients{
		Quotas: servicequotas.New(servicequotas.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
			Retryer: aws.NopRetryer{}, Credentials: creds}),
		Metrics: cloudwatch.New(cloudwatch.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
			Retryer: aws.NopRetryer{}, Credentials: creds}),
	}
}

// unpaced is a Caller whose reads go out at once and retry without a backoff: what the
// tests check is what Auto makes of the answers, and the wall clock has no part in it.
func unpaced() *call.Caller {
	return call.New(call.Config{Rates: map[call.Category]float64{call.UsageRead: -1}, Rand: func() float64 { return 0 }})
}

func startAt(t *testing.T, opt emulator.Options, clk *clock) *emulator.Server {
	t.Helper()
	srv := emulator.NewServerAt(opt, clk.now)
	t.Cleanup(srv.Close)
	return srv
}

// write sends one UserUpdate call to srv: a link into a pool that does not exist, which the
// quota counts before it finds the pool missing.
func write(t *testing.T, cognito *cip.Client) {
	t.Helper()
	cognito.AdminLinkProviderForUser(t.Context(), &cip.AdminLinkProviderForUserInput{
		UserPoolId:      aws.String("us-east-1_NoSuchPool"),
		DestinationUser: &types.ProviderUserIdentifierType{ProviderName: aws.String("Cognito"), ProviderAttributeValue: aws.String("u")},
		SourceUser: &types.ProviderUserIdentifierType{ProviderName: aws.String("Google"), ProviderAttributeName: aws.String("Cognito_Subject"),
			ProviderAttributeValue: aws.String("g")},
	})
}

// region is one emulated region of a test: its server and a Cognito client of it.
type region struct {
	name    string
	srv     *emulator.Server
	cognito *cip.Client
}

func newRegion(t *testing.T, name string, opt emulator.Options, clk *clock) region {
	t.Helper()
	srv := startAt(t, opt, clk)
	return region{name: name, srv: srv, cognito: srv.Client(func(o *cip.Options) { o.Retryer = aws.NopRetryer{} })}
}

// sim runs traffic on the fake clock: the application's (each emulator's background
// traffic) and the job's own calls, sampled every second as Auto.Run samples them.
type sim struct {
	t       *testing.T
	clk     *clock
	a       *quota.Auto
	job     *fakeJob
	regions []region
	seen    map[string]int64 // background calls counted so far, by region
	debt    float64
}

func newSim(t *testing.T, clk *clock, a *quota.Auto, job *fakeJob, regions ...region) *sim {
	return &sim{t: t, clk: clk, a: a, job: job, regions: regions, seen: map[string]int64{}}
}

// run runs [now, now+d) in steps of 100 ms, with own write calls a second to each region,
// and returns the application's calls in that time, by region.
func (s *sim) run(d time.Duration, own float64) map[string]int64 {
	s.t.Helper()
	const step = 100 * time.Millisecond
	for i := range int(d / step) {
		if i > 0 {
			s.clk.advance(step)
		}
		if i%10 == 0 {
			s.a.Sample() // before this step's calls: a sample at t counts the calls before t
		}
		for _, r := range s.regions {
			r.srv.AdvanceTraffic()
		}
		for s.debt += own * step.Seconds(); s.debt >= 1; s.debt-- {
			for _, r := range s.regions {
				write(s.t, r.cognito)
				s.job.sent(r.name)
			}
		}
	}
	got := map[string]int64{}
	for _, r := range s.regions {
		n := r.srv.Background().Calls
		got[r.name], s.seen[r.name] = n-s.seen[r.name], n
	}
	s.clk.advance(step)
	return got
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// TestReadHeadroom reads two regions, each with its own quota and application traffic,
// while the job writes to both: each region's ceiling is its quota less the application's
// calls of the latest minute (the account's less the job's own), less the margin.
func TestReadHeadroom(t *testing.T) {
	t.Parallel()
	clk := newClock()
	us := newRegion(t, "us-east-1", emulator.Options{WriteQuota: 25, BackgroundRate: 10, Seed: 1}, clk)
	eu := newRegion(t, "eu-west-1", emulator.Options{WriteQuota: 50, BackgroundRate: 30, Seed: 2, Region: "eu-west-1"}, clk)
	job := newJob()
	core, logs := observer.New(zapcore.InfoLevel)
	a := quota.New(job, map[string]quota.Clients{
		us.name: clientsOf(us.srv, emulator.TestAccessKeyID),
		eu.name: clientsOf(eu.srv, emulator.TestAccessKeyID),
	}, quota.Config{Calls: unpaced(), Margin: 0.1, Now: clk.now, Logger: zap.New(core)})

	// Before any usage: the whole quota is headroom.
	a.Read(t.Context())
	if got := job.set(us.name); len(got) != 1 || !near(got[0], 22.5) {
		t.Errorf("us-east-1, no usage yet: ceilings %v, want 90%% of 25: 22.5", got)
	}
	if got := job.set(eu.name); len(got) != 1 || !near(got[0], 45) {
		t.Errorf("eu-west-1, no usage yet: ceilings %v, want 90%% of 50: 45", got)
	}

	// A minute of the application's traffic and 4 own calls a second, read 5 s after it
	// ended: the own calls are taken away.
	sim := newSim(t, clk, a, job, us, eu)
	app := sim.run(time.Minute, 4)
	sim.run(5*time.Second, 4)
	a.Read(t.Context())
	for _, r := range []struct {
		region
		quota float64
	}{{us, 25}, {eu, 50}} {
		want := (r.quota - float64(app[r.name])/60) * 0.9
		if got := job.set(r.name); len(got) != 2 || !near(got[1], want) {
			t.Errorf("%s: ceilings %v, want then (%v − %d/60) × 0.9 = %v", r.name, got, r.quota, app[r.name], want)
		}
		if app[r.name] < 300 {
			t.Fatalf("%s: %d calls of the application's in the minute, want about %v", r.name, app[r.name], 60*r.quota)
		}
	}
	entries := logs.FilterMessage("rate auto: ceiling from the quota's headroom").FilterField(zap.String("region", "us-east-1")).All()
	if len(entries) != 2 {
		t.Fatalf("got %d ceiling log lines for us-east-1, want one per read: %v", len(entries), logs.All())
	}
	f := entries[1].ContextMap()
	if f["quota"] != 25.0 || f["account_calls"] != float64(240+app[us.name]) || f["own_calls"] != 240.0 || f["margin"] != 0.1 {
		t.Errorf("the log of the second read: %v, want the quota, the account's and the own calls", f)
	}

	// The quota and the metric are found once; the quota and the usage are read at each read.
	for _, r := range []region{us, eu} {
		for op, n := range map[string]int64{"ListServiceQuotas": 1, "ListMetrics": 1, "GetServiceQuota": 2, "GetMetricData": 2} {
			if got := r.srv.Calls(op); got != n {
				t.Errorf("%s: %d %s calls, want %d", r.name, got, op, n)
			}
		}
	}
}

// TestReadFollowsTheApplication: the application speeds up, then takes more than the
// quota; the ceiling follows a minute behind, down to the lowest ceiling, with a warning.
// A read in the middle of a minute reads the minute before.
func TestReadFollowsTheApplication(t *testing.T) {
	t.Parallel()
	clk := newClock()
	us := newRegion(t, "us-east-1", emulator.Options{WriteQuota: 25, BackgroundRate: 5, Seed: 3}, clk)
	job := newJob()
	core, logs := observer.New(zapcore.InfoLevel)
	a := quota.New(job, map[string]quota.Clients{us.name: clientsOf(us.srv, emulator.TestAccessKeyID)},
		quota.Config{Calls: unpaced(), Margin: 0.2, Now: clk.now, Logger: zap.New(core)})
	a.Read(t.Context())
	sim := newSim(t, clk, a, job, us)
	speed := func(rate float64) {
		t.Helper()
		if err := us.srv.Reconfigure(func(o *emulator.Options) { o.BackgroundRate = rate }); err != nil {
			t.Fatal(err)
		}
	}

	first := sim.run(time.Minute, 2)[us.name]
	speed(15)
	sim.run(30*time.Second, 2)
	a.Read(t.Context()) // half way through the second minute: the first is the latest
	want := (25 - float64(first)/60) * 0.8
	if got := job.set(us.name); len(got) != 2 || !near(got[1], want) {
		t.Errorf("after a minute at 5/s: ceilings %v, want (25 − %d/60) × 0.8 = %v", got, first, want)
	}

	sim.run(30*time.Second, 2)
	third := sim.run(time.Minute, 2)[us.name]
	sim.run(5*time.Second, 2)
	a.Read(t.Context())
	want = (25 - float64(third)/60) * 0.8
	if got := job.set(us.name); len(got) != 3 || !near(got[2], want) || got[2] >= got[1] {
		t.Errorf("after a minute at 15/s: ceilings %v, want then (25 − %d/60) × 0.8 = %v", got, third, want)
	}

	speed(40)
	sim.run(55*time.Second, 2)
	sim.run(time.Minute, 2)
	sim.run(5*time.Second, 2)
	a.Read(t.Context())
	if got := job.set(us.name); len(got) != 4 || got[3] != quota.MinCeiling {
		t.Errorf("the application over the quota: ceilings %v, want the lowest, %v", got, quota.MinCeiling)
	}
	if n := logs.FilterMessageSnippet("takes about the whole quota").Len(); n != 1 {
		t.Errorf("got %d warnings that the application takes the whole quota, want 1", n)
	}
}

// TestReadSkewedClock: the services count by their own clock, here 30 s ahead of this
// machine's; the job's own calls are cut at the services' minutes by Config.Offset.
func TestReadSkewedClock(t *testing.T) {
	t.Parallel()
	clk := newClock()
	us := newRegion(t, "us-east-1", emulator.Options{WriteQuota: 25, BackgroundRate: 10, Seed: 4, ClockSkew: 30 * time.Second}, clk)
	job := newJob()
	a := quota.New(job, map[string]quota.Clients{us.name: clientsOf(us.srv, emulator.TestAccessKeyID)},
		quota.Config{Calls: unpaced(), Margin: 0.1, Now: clk.now, Offset: func() time.Duration { return 30 * time.Second }})
	a.Read(t.Context())
	sim := newSim(t, clk, a, job, us)
	// Local 0:00 is the services' 0:30. Their minute 1:00 is local [0:30, 1:30): 30 s with
	// 4 own calls a second, then 30 s without.
	sim.run(30*time.Second, 4)
	app := sim.run(30*time.Second, 4)[us.name]
	app += sim.run(30*time.Second, 0)[us.name]
	sim.run(5*time.Second, 0)
	a.Read(t.Context()) // the services' 2:05
	want := (25 - float64(app)/60) * 0.9
	if got := job.set(us.name); len(got) != 2 || !near(got[1], want) {
		t.Errorf("ceilings %v, want then (25 − %d/60) × 0.9 = %v: the 120 own calls of the minute taken away", got, app, want)
	}
}

// TestReadOwnCallsBeyondTheAccount: the job counts more calls in a minute than the account's
// usage shows (calls that never reached the service, which the service does not count): the
// application's share is none, never less, and the ceiling is the quota less the margin, not
// above the quota.
func TestReadOwnCallsBeyondTheAccount(t *testing.T) {
	t.Parallel()
	clk := newClock()
	us := newRegion(t, "us-east-1", emulator.Options{WriteQuota: 25}, clk)
	job := newJob()
	a := quota.New(job, map[string]quota.Clients{us.name: clientsOf(us.srv, emulator.TestAccessKeyID)},
		quota.Config{Calls: unpaced(), Margin: 0.1, Now: clk.now})
	sim := newSim(t, clk, a, job, us)
	sim.run(30*time.Second, 2) // 60 calls that reach the service
	for range 120 {
		job.sent(us.name) // and 120 that do not
	}
	sim.run(35*time.Second, 0)
	a.Read(t.Context())
	if got := job.set(us.name); len(got) != 1 || !near(got[0], 22.5) {
		t.Errorf("ceilings %v, want 90%% of the quota, 22.5: the application's calls are none, not 60 − 180", got)
	}
}

// TestReadWithoutPermission: a region whose Service Quotas or CloudWatch refuses the reads
// goes to the fallback ceiling for good, read no more; the lack of permission is said once.
func TestReadWithoutPermission(t *testing.T) {
	t.Parallel()
	const denied = "AKIADENIED0000000000"
	for _, tc := range []struct {
		name       string
		deniedTo   string // the service that refuses
		wantCalls  map[string]int64
		wantAction string
	}{
		{"service quotas", "quotas", map[string]int64{"ListServiceQuotas": 1, "GetMetricData": 0}, "servicequotas:ListServiceQuotas"},
		{"cloudwatch", "metrics", map[string]int64{"ListServiceQuotas": 1, "GetServiceQuota": 1, "ListMetrics": 1, "GetMetricData": 0}, "cloudwatch:ListMetrics"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			opt := emulator.Options{WriteQuota: 25, AuthErrors: map[string]string{denied: "AccessDeniedException"}}
			srv := startAt(t, opt, clk)
			// Both regions are served by the one emulator: the warning is still said once.
			clients := clientsOf(srv, emulator.TestAccessKeyID)
			refused := clientsOf(srv, denied)
			if tc.deniedTo == "quotas" {
				clients.Quotas = refused.Quotas
			} else {
				clients.Metrics = refused.Metrics
			}
			job := newJob()
			core, logs := observer.New(zapcore.InfoLevel)
			a := quota.New(job, map[string]quota.Clients{"us-east-1": clients, "eu-west-1": clients},
				quota.Config{Calls: unpaced(), Margin: 0.1, Now: clk.now, Logger: zap.New(core)})
			a.Read(t.Context())
			clk.advance(time.Minute)
			a.Read(t.Context())
			for _, r := range []string{"us-east-1", "eu-west-1"} {
				if got := job.set(r); len(got) != 1 || got[0] != quota.DefaultFallback {
					t.Errorf("%s: ceilings %v, want the fallback %v, once", r, got, quota.DefaultFallback)
				}
			}
			warnings := logs.FilterLevelExact(zapcore.WarnLevel).All()
			if len(warnings) != 1 || !strings.Contains(warnings[0].Message, "no permission") {
				t.Fatalf("warnings %v, want one, of no permission", warnings)
			}
			msg := fmt.Sprint(warnings[0].ContextMap())
			if !strings.Contains(msg, tc.wantAction) || !strings.Contains(msg, "cloudwatch:GetMetricData") {
				t.Errorf("the warning %s names neither the action refused (%s) nor the actions needed", msg, tc.wantAction)
			}
			for op, n := range tc.wantCalls {
				if got := srv.Calls(op); got != 2*n { // two regions
					t.Errorf("%d %s calls, want %d: a region refused is read no more", got, op, 2*n)
				}
			}
		})
	}
}

// TestReadFails: a read that fails for another reason than permission keeps the ceiling
// and says why; before any read succeeded, the ceiling is the fallback.
func TestReadFails(t *testing.T) {
	t.Parallel()
	clk := newClock()
	srv := emulator.NewServerAt(emulator.Options{WriteQuota: 25}, clk.now)
	defer srv.Close()
	job := newJob()
	core, logs := observer.New(zapcore.InfoLevel)
	a := quota.New(job, map[string]quota.Clients{"us-east-1": clientsOf(srv, emulator.TestAccessKeyID)},
		quota.Config{Calls: unpaced(), Margin: 0.1, Now: clk.now, Logger: zap.New(core)})
	a.Read(t.Context())
	srv.Close() // unreachable from now on
	clk.advance(time.Minute)
	a.Read(t.Context())
	if got := job.set("us-east-1"); len(got) != 1 || !near(got[0], 22.5) {
		t.Errorf("ceilings %v, want 22.5 kept", got)
	}
	if n := logs.FilterMessageSnippet("could not read").Len(); n != 1 {
		t.Errorf("%d warnings that the read failed, want 1", n)
	}

	// Own calls the usage does not show (they never reached the emulator): it is not
	// published yet, and the ceiling stays.
	srv2 := startAt(t, emulator.Options{WriteQuota: 25}, clk)
	late := newJob()
	a = quota.New(late, map[string]quota.Clients{"us-east-1": clientsOf(srv2, emulator.TestAccessKeyID)},
		quota.Config{Calls: unpaced(), Margin: 0.1, Now: clk.now, Logger: zap.New(core)})
	a.Read(t.Context())
	for range 30 {
		late.sent("us-east-1")
	}
	clk.advance(time.Minute)
	a.Read(t.Context())
	if got := late.set("us-east-1"); len(got) != 1 || !near(got[0], 22.5) {
		t.Errorf("usage not published: ceilings %v, want 22.5 kept", got)
	}
	if n := logs.FilterMessageSnippet("could not read").FilterFieldKey("error").Len(); n != 2 {
		t.Errorf("%d warnings that the read failed, want 2", n)
	}

	never := newJob()
	a = quota.New(never, map[string]quota.Clients{"us-east-1": clientsOf(srv, emulator.TestAccessKeyID)},
		quota.Config{Calls: unpaced(), Fallback: 7, Now: clk.now})
	a.Read(t.Context())
	if got := never.set("us-east-1"); len(got) != 1 || got[0] != 7 {
		t.Errorf("nothing read: ceilings %v, want the fallback, 7", got)
	}
}

// TestRunReadsEveryMinute: Run reads again once each minute has ended (5 s after, on the
// services' clock), not before, and stops with its context. Its wake-ups come from the test,
// on the test's clock: nothing waits on the wall clock.
func TestRunReadsEveryMinute(t *testing.T) {
	t.Parallel()
	clk := newClock()
	srv := startAt(t, emulator.Options{WriteQuota: 25}, clk)
	job := newJob()
	tick := make(chan time.Time)
	a := quota.New(job, map[string]quota.Clients{"us-east-1": clientsOf(srv, emulator.TestAccessKeyID)},
		quota.Config{Calls: unpaced(), Now: clk.now, Tick: tick})
	a.Read(t.Context())
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	// at moves the clock to start+d and wakes Run there. Run takes a wake-up only once it is
	// done with the one before, so the second send returns after the first was handled.
	start := clk.now()
	at := func(d time.Duration) {
		t.Helper()
		clk.advance(start.Add(d).Sub(clk.now()))
		tick <- clk.now()
		tick <- clk.now()
	}
	for _, step := range []struct {
		at    time.Duration
		reads int
	}{
		{time.Second, 1},
		{50 * time.Second, 1},
		{time.Minute, 1},                 // the minute has ended, but is not read yet
		{time.Minute + 4*time.Second, 1}, // still not
		{time.Minute + 5*time.Second, 2}, // 5 s after it ended: read
		{time.Minute + 30*time.Second, 2},
		{2*time.Minute + 4*time.Second, 2},
		{2*time.Minute + 5*time.Second, 3},
		{4*time.Minute + 10*time.Second, 4}, // minutes without a wake-up: read once, not once for each
		{4*time.Minute + 50*time.Second, 4},
		{5*time.Minute + 5*time.Second, 5},
	} {
		at(step.at)
		if got := job.set("us-east-1"); len(got) != step.reads {
			t.Fatalf("at %v: %d reads (ceilings %v), want %d", step.at, len(got), got, step.reads)
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("Run still running a minute after its context ended")
	}
	if got := srv.Calls("GetServiceQuota"); got != 5 {
		t.Errorf("%d GetServiceQuota calls, want 5: one a read", got)
	}
}

// The README's IAM policy names every action --rate auto calls.
func TestREADMEListsIAMActions(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range quota.IAMActions {
		if !strings.Contains(string(b), `"`+a+`"`) {
			t.Errorf("README's IAM policy does not name %s", a)
		}
	}
}
