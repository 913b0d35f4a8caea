package job_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/bulklink/bulklink/call"
	"github.com/bulklink/bulklink/emulator"
	"github.com/bulklink/bulklink/input"
	"github.com/bulklink/bulklink/job"
	"github.com/bulklink/bulklink/plan"
	"github.com/bulklink/bulklink/report"
)

// These tests run the job through the real aws-sdk-go-v2 client, over HTTP, against the
// emulator: on loopback, or in process (Emulator.Local) where a test asserts timing on a fake
// clock (testing/synctest).

const pool = "us-east-1_JobTest01"

// setup serves an emulator with n users u0..u(n-1) and returns a client for it with the SDK's
// retries off, as bulklink builds it.
func setup(t testing.TB, opt emulator.Options, n int) (*emulator.Server, *cip.Client) {
	t.Helper()
	srv := emulator.NewServer(opt)
	t.Cleanup(srv.Close)
	seedUsers(t, srv.Emulator, n)
	return srv, srv.Client(func(o *cip.Options) { o.Retryer = aws.NopRetryer{} })
}

// setupLocal is setup for a test on a fake clock: the emulator serves in process until ctx
// ends, and the client's calls reach it without sockets.
func setupLocal(t testing.TB, ctx context.Context, opt emulator.Options, n int) (*emulator.Emulator, *cip.Client) {
	t.Helper()
	emu := emulator.New(opt)
	seedUsers(t, emu, n)
	return emu, cip.New(cip.Options{Region: "us-east-1", HTTPClient: emu.Local(ctx), BaseEndpoint: aws.String("http://cognito.local"),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""), Retryer: aws.NopRetryer{}})
}

// seedUsers gives emu the pool, with Google as a provider and n users u0..u(n-1).
func seedUsers(t testing.TB, emu *emulator.Emulator, n int) {
	t.Helper()
	p := emulator.SeedPool{ID: pool, IdentityProviders: []emulator.SeedProvider{{Name: "Google", Type: "Google"}}}
	for i := range n {
		p.Users = append(p.Users, emulator.SeedUser{Username: fmt.Sprintf("u%d", i)})
	}
	if err := emu.Load(emulator.Seed{UserPools: []emulator.SeedPool{p}}); err != nil {
		t.Fatal(err)
	}
}

// rows is a Source of n new links, u<i> to Google g<i>, for the given pool.
type rows struct {
	pool  string
	n, at int
	block chan struct{} // when set, Next blocks on it after the rows run out
	err   error         // when set, Next fails with it after the rows run out
	bad   int           // when > 0, rows from the bad-th on are invalid
}

func (s *rows) Next() (plan.Item, error) {
	if s.at == s.n {
		switch {
		case s.block != nil:
			<-s.block
		case s.err != nil:
			return plan.Item{}, s.err
		}
		return plan.Item{}, io.EOF
	}
	s.at++
	i := s.at - 1
	row := input.Row{Line: i + 2, Request: input.Request{UserPoolID: s.pool, DestinationProvider: "Cognito",
		DestinationUser: fmt.Sprintf("u%d", i), SourceProvider: "Google", SourceAttribute: "Cognito_Subject",
		SourceValue: fmt.Sprintf("g%d", i)}}
	if s.bad > 0 && s.at >= s.bad {
		row.Reject("MissingField", "missing destination_user")
	}
	return plan.Item{Row: row}, nil
}

// sink collects records; it fails from the failAt-th write on when failAt > 0.
type sink struct {
	mu     sync.Mutex
	recs   []*report.Record
	failAt int
	syncs  int
}

func (s *sink) Write(r *report.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failAt > 0 && len(s.recs)+1 >= s.failAt {
		return errors.New("disk full")
	}
	s.recs = append(s.recs, r)
	return nil
}

func (s *sink) Flush() error { return nil }
func (s *sink) Sync() error  { s.mu.Lock(); s.syncs++; s.mu.Unlock(); return nil }

// waitFor polls cond until it holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// linksMatchRecords checks that the emulator holds a link exactly for the rows recorded
// linked: a stop loses no link that was made and invents none.
func linksMatchRecords(t *testing.T, emu *emulator.Emulator, n int, recs []*report.Record) {
	t.Helper()
	linked := map[string]bool{}
	for _, r := range recs {
		if r.Status != report.Linked {
			t.Errorf("line %d: %s %s %s, want linked", r.Line, r.Status, r.ErrorCode, r.ErrorMessage)
		}
		linked[r.Request.DestinationUser] = true
	}
	for i := range n {
		u := fmt.Sprintf("u%d", i)
		ids, _ := emu.Identities(pool, u)
		if has := len(ids) == 1; has != linked[u] {
			t.Errorf("user %s: has a link %v, recorded linked %v", u, has, linked[u])
		}
	}
}

// TestRunLinksEveryRow: every row is linked and recorded, with one call each, and the sink is
// synced every SyncEvery while records arrive, not only at the end. On a fake clock the run
// takes exactly 200 rows × 5 ms / 4 workers = 250 ms: the ticks at 20, 40 … 240 ms each find
// records since the last sync, and the records after the last tick are synced at the end.
func TestRunLinksEveryRow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		emu, api := setupLocal(t, ctx, emulator.Options{Latency: 5 * time.Millisecond}, 200)
		const syncEvery = 20 * time.Millisecond
		j := job.New(api, job.Config{Calls: calls(0), Concurrency: 4, SyncEvery: syncEvery})
		var s sink
		start := time.Now()
		if err := j.Run(ctx, &rows{pool: pool, n: 200}, &s); err != nil {
			t.Fatalf("Run: %v", err)
		}
		elapsed := time.Since(start)
		if len(s.recs) != 200 {
			t.Fatalf("%d records, want 200", len(s.recs))
		}
		linksMatchRecords(t, emu, 200, s.recs)
		if elapsed != 250*time.Millisecond {
			t.Fatalf("the run took %v, want 250ms: the sync count below assumes it", elapsed)
		}
		if want := int(elapsed/syncEvery) + 1; s.syncs != want {
			t.Errorf("the sink was synced %d times in %v, want %d: at each of the %d ticks and once at the end",
				s.syncs, elapsed, want, want-1)
		}
		if got := j.Stats.Calls(); got != 200 {
			t.Errorf("%d calls, want 200", got)
		}
	})
}

// Stop: no new rows, rows in flight finish and are recorded, Run returns ErrStopped.
func TestRunStopLetsRowsInFlightFinish(t *testing.T) {
	srv, api := setup(t, emulator.Options{Latency: 200 * time.Millisecond}, 100)
	j := job.New(api, job.Config{Calls: calls(0), Concurrency: 4, Grace: time.Minute})
	var s sink
	done := make(chan error)
	go func() { done <- j.Run(context.Background(), &rows{pool: pool, n: 100}, &s) }()
	waitFor(t, "calls in flight", func() bool { return j.Stats.Calls() >= 6 })
	j.Stop()
	if err := <-done; !errors.Is(err, job.ErrStopped) {
		t.Fatalf("Run after Stop: %v, want ErrStopped", err)
	}
	if n := len(s.recs); n == 0 || n >= 100 {
		t.Fatalf("%d records, want some but not all", n)
	}
	if calls := j.Stats.Calls(); calls != int64(len(s.recs)) {
		t.Errorf("%d calls, %d records: every row sent must be recorded when the grace is long enough", calls, len(s.recs))
	}
	linksMatchRecords(t, srv.Emulator, 100, s.recs)
}

// Past the grace period, calls in flight are cut and their rows are left unrecorded: a
// resumed run settles them. None is reported failed.
func TestRunGraceCutsSlowCalls(t *testing.T) {
	_, api := setup(t, emulator.Options{Latency: 5 * time.Second}, 10)
	j := job.New(api, job.Config{Calls: calls(0), Concurrency: 4, Grace: 50 * time.Millisecond})
	var s sink
	done := make(chan error)
	go func() { done <- j.Run(context.Background(), &rows{pool: pool, n: 10}, &s) }()
	waitFor(t, "calls in flight", func() bool { return j.Stats.Calls() == 4 })
	j.Stop()
	if err := <-done; !errors.Is(err, job.ErrStopped) {
		t.Fatalf("Run: %v, want ErrStopped", err)
	}
	if len(s.recs) != 0 {
		t.Errorf("%d records, want none: every call was cut", len(s.recs))
	}
}

// Cancelling the context cuts everything at once, like a second Ctrl-C.
func TestRunContextCancelCutsAtOnce(t *testing.T) {
	_, api := setup(t, emulator.Options{Latency: 5 * time.Second}, 10)
	j := job.New(api, job.Config{Calls: calls(0), Concurrency: 4, Grace: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	var s sink
	go func() { done <- j.Run(ctx, &rows{pool: pool, n: 10}, &s) }()
	waitFor(t, "calls in flight", func() bool { return j.Stats.Calls() == 4 })
	cancel()
	if err := <-done; !errors.Is(err, job.ErrStopped) {
		t.Fatalf("Run: %v, want ErrStopped", err)
	}
	if len(s.recs) != 0 {
		t.Errorf("%d records, want none", len(s.recs))
	}
}

// A reader blocked in a read (a quiet pipe) does not keep a stopped run from returning.
func TestRunStopsWithABlockedReader(t *testing.T) {
	_, api := setup(t, emulator.Options{}, 5)
	j := job.New(api, job.Config{Calls: calls(0), Concurrency: 2})
	block := make(chan struct{})
	defer close(block)
	var s sink
	done := make(chan error)
	go func() { done <- j.Run(context.Background(), &rows{pool: pool, n: 5, block: block}, &s) }()
	waitFor(t, "the rows", func() bool { return j.Stats.Rows.Load() == 5 })
	j.Stop()
	select {
	case err := <-done:
		if !errors.Is(err, job.ErrStopped) {
			t.Errorf("Run: %v, want ErrStopped", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after Stop while the reader was blocked")
	}
}

func TestRunWrongPoolIsFatal(t *testing.T) {
	srv, api := setup(t, emulator.Options{}, 50)
	j := job.New(api, job.Config{Calls: calls(0), Concurrency: 4})
	var s sink
	err := j.Run(context.Background(), &rows{pool: "us-east-1_Missing01", n: 50}, &s)
	var fe *job.FatalError
	if !errors.As(err, &fe) || fe.Code != "ResourceNotFoundException" {
		t.Fatalf("Run: %v, want a FatalError with ResourceNotFoundException", err)
	}
	if len(s.recs) != 0 {
		t.Errorf("%d records, want none: a fatal condition fails no row", len(s.recs))
	}
	if calls := srv.Calls("AdminLinkProviderForUser"); calls > 8 {
		t.Errorf("%d calls, want at most a handful", calls)
	}
}

// When every call's connection drops, rows run out of retries one after the other; the
// breaker stops the run instead of failing the whole input.
func TestRunBreakerStopsAnOutage(t *testing.T) {
	srv, api := setup(t, emulator.Options{FaultDrop: 1}, 200)
	j := job.New(api, job.Config{Calls: calls(0, func(c *call.Config) {
		c.MaxAttempts, c.Backoff = 2, call.Backoff{Base: time.Millisecond, Max: time.Millisecond}
	}), Concurrency: 2})
	var s sink
	err := j.Run(context.Background(), &rows{pool: pool, n: 200}, &s)
	var fe *job.FatalError
	if !errors.As(err, &fe) {
		t.Fatalf("Run: %v, want a FatalError", err)
	}
	if len(s.recs) >= 20 {
		t.Errorf("%d rows recorded before the breaker tripped, want fewer than 20", len(s.recs))
	}
	for _, r := range s.recs {
		if r.Status != report.Failed || r.ErrorCode != "ConnectionError" {
			t.Errorf("line %d: %s %s, want failed ConnectionError", r.Line, r.Status, r.ErrorCode)
		}
	}
	if srv.Outcomes("AdminLinkProviderForUser")[emulator.OutcomeDrop] == 0 {
		t.Error("no call was dropped")
	}
}

func TestRunSinkFailureStops(t *testing.T) {
	_, api := setup(t, emulator.Options{}, 100)
	j := job.New(api, job.Config{Calls: calls(0), Concurrency: 4})
	s := sink{failAt: 5}
	err := j.Run(context.Background(), &rows{pool: pool, n: 100}, &s)
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Run: %v, want the sink's error", err)
	}
	if len(s.recs) != 4 {
		t.Errorf("%d records, want the 4 written before the failure", len(s.recs))
	}
}

// A sink that fails cuts the calls in flight at once: their records could not be kept, and
// waiting for them (here, 30 s answers under a minute's grace) would only delay the stop.
func TestRunSinkFailureCutsCallsInFlight(t *testing.T) {
	_, api := setup(t, emulator.Options{Latency: 30 * time.Second}, 10)
	j := job.New(api, job.Config{Calls: calls(0), Concurrency: 4, Grace: time.Minute})
	s := sink{failAt: 1}
	start := time.Now()
	done := make(chan error)
	go func() { done <- j.Run(context.Background(), &rows{pool: pool, n: 10, bad: 4}, &s) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Fatalf("Run: %v, want the sink's error", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run still going 20s after the sink failed: calls in flight were not cut")
	}
	t.Logf("stopped %v after the start", time.Since(start))
}

func TestRunReadErrorStops(t *testing.T) {
	_, api := setup(t, emulator.Options{}, 10)
	j := job.New(api, job.Config{Calls: calls(0), Concurrency: 2})
	var s sink
	err := j.Run(context.Background(), &rows{pool: pool, n: 3, err: errors.New("input/output error")}, &s)
	var re *job.ReadError
	if !errors.As(err, &re) {
		t.Fatalf("Run: %v, want a ReadError", err)
	}
}

// calls is a Caller that paces write calls at rate per second (0: unlimited) and leaves the
// other categories unpaced, tuned further by tune.
func calls(rate float64, tune ...func(*call.Config)) *call.Caller {
	cfg := call.Config{Rates: map[call.Category]float64{call.UserUpdate: rate, call.UserRead: 0}}
	for _, f := range tune {
		f(&cfg)
	}
	return call.New(cfg)
}
