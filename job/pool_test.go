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
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/bulklink/bulklink/call"
	"github.com/bulklink/bulklink/input"
	"github.com/bulklink/bulklink/job"
	"github.com/bulklink/bulklink/plan"
	"github.com/bulklink/bulklink/report"
)

// The pool's behaviour in time — stopping, the grace period, the breaker, the failure
// threshold, a failing sink, repeats — on a fake clock (testing/synctest) against an
// in-memory Cognito: no test here sleeps.

func TestPoolStopLetsRowsInFlightFinish(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(200 * time.Millisecond)
		j := job.New(f, job.Config{Calls: calls(0), Concurrency: 4, Grace: time.Minute})
		var s sink
		done := make(chan error)
		go func() { done <- j.Run(context.Background(), &rows{pool: pool, n: 100}, &s) }()
		time.Sleep(300 * time.Millisecond) // 4 rows done, 4 in flight
		j.Stop()
		if err := <-done; !errors.Is(err, job.ErrStopped) {
			t.Fatalf("Run after Stop: %v, want ErrStopped", err)
		}
		if len(s.recs) != 8 || f.callCount() != 8 {
			t.Errorf("%d records, %d calls: want the 4 done and the 4 in flight at the stop", len(s.recs), f.callCount())
		}
	})
}

func TestPoolGraceCutsSlowCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(5 * time.Second)
		j := job.New(f, job.Config{Calls: calls(0), Concurrency: 4, Grace: 50 * time.Millisecond})
		var s sink
		done := make(chan error)
		go func() { done <- j.Run(context.Background(), &rows{pool: pool, n: 10}, &s) }()
		synctest.Wait()
		start := time.Now()
		j.Stop()
		if err := <-done; !errors.Is(err, job.ErrStopped) {
			t.Fatalf("Run: %v, want ErrStopped", err)
		}
		if d := time.Since(start); d != 50*time.Millisecond {
			t.Errorf("Run returned %v after the stop, want the grace, 50ms", d)
		}
		if len(s.recs) != 0 {
			t.Errorf("%d records, want none: every call was cut", len(s.recs))
		}
	})
}

// connectionReset is a call whose connection dropped after it was sent.
var connectionReset = &smithy.OperationError{Err: &smithyhttp.RequestSendError{Err: errors.New("read: connection reset by peer")}}

func TestPoolBreakerStopsAnOutage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(time.Millisecond)
		f.fail = func(int, string) error { return connectionReset }
		j := job.New(f, job.Config{Calls: calls(0, func(c *call.Config) {
			c.MaxAttempts, c.Backoff = 2, call.Backoff{Base: time.Millisecond, Max: time.Millisecond}
		}), Concurrency: 2})
		var s sink
		err := j.Run(context.Background(), &rows{pool: pool, n: 200}, &s)
		var fe *job.FatalError
		if !errors.As(err, &fe) || fe.Code != "Outage" {
			t.Fatalf("Run: %v, want a FatalError Outage", err)
		}
		// The rows that ran out of retries before the breaker tripped are settled by reading
		// their user (their calls may have been applied): no link, so failed.
		if len(s.recs) >= 12 {
			t.Errorf("%d rows recorded before the breaker tripped, want fewer than the limit of 10 and the 2 in flight", len(s.recs))
		}
		for _, r := range s.recs {
			if r.Status != report.Failed || r.ErrorCode != "ConnectionError" {
				t.Errorf("line %d: %s %s, want failed ConnectionError", r.Line, r.Status, r.ErrorCode)
			}
		}
	})
}

func TestPoolFailureThreshold(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(10 * time.Millisecond)
		f.fail = func(_ int, src string) error {
			return &types.UserNotFoundException{Message: aws.String("User does not exist.")}
		}
		j := job.New(f, job.Config{Calls: calls(0), Concurrency: 1, MaxFailures: job.Threshold{Counted: true, Count: 3}})
		var s sink
		err := j.Run(context.Background(), &rows{pool: pool, n: 50}, &s)
		var fe *job.FatalError
		if !errors.As(err, &fe) || fe.Code != "FailureThreshold" {
			t.Fatalf("Run: %v, want FailureThreshold", err)
		}
		// The fourth failure stops the run; the row the worker had taken meanwhile is in
		// flight and finishes.
		if len(s.recs) != 5 {
			t.Errorf("%d records, want the 4 rows that crossed the threshold and the one in flight", len(s.recs))
		}
	})
}

func TestPoolSinkFailureCutsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(30 * time.Second)
		j := job.New(f, job.Config{Calls: calls(0), Concurrency: 4, Grace: time.Minute})
		s := sink{failAt: 1}
		start := time.Now()
		err := j.Run(context.Background(), &rows{pool: pool, n: 10, bad: 4}, &s)
		if err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Fatalf("Run: %v, want the sink's error", err)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("Run returned after %v, want at once: calls in flight are cut", d)
		}
	})
}

// Rows that repeat each other run one after the other, in input order: the first links, the
// repeats find the link in place and are already_linked, every time.
func TestPoolRepeatsRunInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(20 * time.Millisecond)
		j := job.New(f, job.Config{Calls: calls(0), Concurrency: 8, Since: time.Now()})
		src := &listRows{}
		for i := range 6 {
			r := row(i+2, "alice", "g1")
			r.Repeat, r.Repeated = i > 0, i < 5
			src.rows = append(src.rows, r)
		}
		var s sink
		if err := j.Run(context.Background(), src, &s); err != nil {
			t.Fatal(err)
		}
		for _, r := range s.recs {
			want := report.AlreadyLinked
			if r.Line == 2 {
				want = report.Linked
			}
			if r.Status != want {
				t.Errorf("line %d: %s %q, want %s", r.Line, r.Status, r.ErrorMessage, want)
			}
		}
		if f.callCount() != 6 {
			t.Errorf("%d calls, want one per row", f.callCount())
		}
	})
}

// A link found in place is linked when this report made it (after Since), already_linked
// when it is older.
func TestPoolLinkFoundInPlace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(10 * time.Millisecond)
		since := time.Now()
		f.link("old", "g-old", since.Add(-time.Hour))
		f.link("ours", "g-ours", since.Add(time.Minute)) // made by a run of this report whose answer was lost
		time.Sleep(2 * time.Minute)
		j := job.New(f, job.Config{Calls: calls(0), Concurrency: 2, Since: since})
		var s sink
		src := &listRows{rows: []plan.Item{row(2, "old", "g-old"), row(3, "ours", "g-ours")}}
		if err := j.Run(context.Background(), src, &s); err != nil {
			t.Fatal(err)
		}
		got := map[int]report.Status{}
		for _, r := range s.recs {
			got[r.Line] = r.Status
		}
		if got[2] != report.AlreadyLinked || got[3] != report.Linked {
			t.Errorf("statuses %v, want line 2 already_linked (older than the report), line 3 linked", got)
		}
	})
}

// listRows is a Source of given rows.
type listRows struct {
	rows []plan.Item
	at   int
}

func (l *listRows) Next() (plan.Item, error) {
	if l.at == len(l.rows) {
		return plan.Item{}, io.EOF
	}
	l.at++
	return l.rows[l.at-1], nil
}

func row(line int, user, src string) plan.Item {
	return plan.Item{Row: input.Row{Line: line, Request: input.Request{UserPoolID: pool, DestinationProvider: "Cognito", DestinationUser: user,
		SourceProvider: "Google", SourceAttribute: "Cognito_Subject", SourceValue: src}}}
}

// Pools in two regions are paced apart: each region's quota is its own, so each runs at
// --rate.
func TestPoolPacesEachRegion(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(time.Millisecond)
		j := job.New(f, job.Config{Calls: calls(10), Concurrency: 8})
		src := &listRows{}
		for i := range 40 {
			r := row(i+2, fmt.Sprintf("u%d", i), fmt.Sprintf("g%d", i))
			if i%2 == 1 {
				r.Request.UserPoolID = "eu-west-1_JobTest02"
			}
			src.rows = append(src.rows, r)
		}
		start := time.Now()
		var s sink
		if err := j.Run(context.Background(), src, &s); err != nil {
			t.Fatal(err)
		}
		// 20 calls a region at 10/s each: about 2 s, where one pace for both would take 4 s.
		if d := time.Since(start); d < 1900*time.Millisecond || d > 2100*time.Millisecond {
			t.Errorf("40 rows over two regions at --rate 10 took %v, want about 2s", d)
		}
		if got := j.Rate(); got != 20 {
			t.Errorf("Rate %v, want 20: 10 in each region", got)
		}
		// Each region counts its own calls, for --rate auto to subtract from its usage.
		if us, eu, none := j.Calls("us-east-1"), j.Calls("eu-west-1"), j.Calls("ap-south-1"); us != 20 || eu != 20 || none != 0 {
			t.Errorf("Calls: us-east-1 %d, eu-west-1 %d, ap-south-1 %d; want 20, 20 and 0", us, eu, none)
		}
	})
}

// A row goes into the started list when its first call is about to be sent, not when a
// worker takes it: the rows a stop finds waiting for the pace are not noted, so that a
// resumed run does not take a link that was there before for one its lost call made.
func TestPoolNotesAStartJustBeforeTheCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(10 * time.Millisecond)
		var st startedList
		j := job.New(f, job.Config{Calls: calls(1), Concurrency: 4, Grace: time.Second, Started: &st})
		src := &listRows{}
		for i := range 10 {
			src.rows = append(src.rows, row(i+2, fmt.Sprintf("u%d", i), fmt.Sprintf("g%d", i)))
		}
		var s sink
		done := make(chan error)
		go func() { done <- j.Run(context.Background(), src, &s) }()
		time.Sleep(2500 * time.Millisecond) // calls at 0, 1 and 2 s; four rows wait for the pace
		j.Stop()
		if err := <-done; !errors.Is(err, job.ErrStopped) {
			t.Fatalf("Run after Stop: %v, want ErrStopped", err)
		}
		if noted, calls := st.len(), f.callCount(); noted != calls || calls != 3 {
			t.Errorf("%d rows noted as started, %d calls sent: want the 3 sent, and only those", noted, calls)
		}
	})
}

// startedList is an in-memory job.Started.
type startedList struct {
	mu    sync.Mutex
	lines map[int]bool
}

func (s *startedList) Start(line int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lines == nil {
		s.lines = map[int]bool{}
	}
	s.lines[line] = true
	return nil
}

func (s *startedList) Before(int) bool        { return false }
func (s *startedList) Step(int, string) error { return nil }
func (s *startedList) Reached(int) string     { return "" }

func (s *startedList) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.lines)
}
