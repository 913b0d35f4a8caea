package emulator_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/smithy-go"

	"github.com/bulklink/bulklink/emulator"
)

// clock is a manual clock for quotas: it moves only when told.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// many is how many users loadUsers adds.
const many = 300

// loadUsers adds a second pool to srv, us-east-1_Many, with users u0..u299 and Google.
func loadUsers(t *testing.T, srv *emulator.Server) {
	t.Helper()
	pool := emulator.SeedPool{ID: "us-east-1_Many", IdentityProviders: []emulator.SeedProvider{{Name: "Google", Type: "Google"}}}
	for i := range many {
		pool.Users = append(pool.Users, emulator.SeedUser{Username: fmt.Sprint("u", i)})
	}
	load(t, srv, pool)
}

// linkMany links Google identities <prefix><i> to users u<i> of us-east-1_Many, for i in
// [0,n), with at most workers calls at a time, each starting no earlier than i*spread after
// the first. It returns the outcomes by error code, and checks each error's HTTP status.
func linkMany(t *testing.T, client *cip.Client, prefix string, n, workers int, spread time.Duration) map[string]int {
	t.Helper()
	var (
		mu       sync.Mutex
		outcomes = make(map[string]int)
		wg       sync.WaitGroup
		sem      = make(chan struct{}, workers)
		start    = time.Now()
	)
	for i := range n {
		wg.Go(func() {
			time.Sleep(time.Until(start.Add(time.Duration(i) * spread)))
			sem <- struct{}{}
			defer func() { <-sem }()
			in := linkInput("Cognito", fmt.Sprint("u", i%many), "Google", "Cognito_Subject", fmt.Sprint(prefix, i))
			in.UserPoolId = aws.String("us-east-1_Many")
			_, err := client.AdminLinkProviderForUser(context.Background(), in)
			c := code(err)
			if want := map[string]int{"TooManyRequestsException": 429, "InternalErrorException": 500}[c]; want != 0 && status(err) != want {
				t.Errorf("%s answered with HTTP status %d, want %d", c, status(err), want)
			}
			mu.Lock()
			outcomes[c]++
			mu.Unlock()
		})
	}
	wg.Wait()
	return outcomes
}

func TestWriteQuota(t *testing.T) {
	t.Parallel()
	// On a clock that stands still the bucket holds exactly one second's worth of calls.
	clk := newClock()
	srv, client := serve(t, emulator.NewServerAt(emulator.Options{WriteQuota: 20}, clk.now))
	loadUsers(t, srv)

	got := linkMany(t, client, "a", many, many, 0)
	if got[""] != 20 || got["TooManyRequestsException"] != many-20 {
		t.Errorf("%d concurrent calls: got %v, want 20 admitted and the rest throttled", many, got)
	}
	clk.advance(500 * time.Millisecond)
	if got := linkMany(t, client, "b", 50, 50, 0); got[""] != 10 || got["TooManyRequestsException"] != 40 {
		t.Errorf("half a second later: got %v, want 10 admitted and 40 throttled", got)
	}
	if got, linked := srv.Outcomes("AdminLinkProviderForUser"), countLinked(srv); got[""] != 30 || linked != 30 {
		t.Errorf("got outcomes %v and %d links, want 30 admitted calls and links: throttled calls are not applied", got, linked)
	}
}

// countLinked counts the identities linked in us-east-1_Many.
func countLinked(srv *emulator.Server) int {
	n := 0
	for i := range many {
		ids, _ := srv.Identities("us-east-1_Many", fmt.Sprint("u", i))
		n += len(ids)
	}
	return n
}

func TestWriteQuotaOverASecond(t *testing.T) {
	t.Parallel()
	srv, client := start(t, emulator.Options{WriteQuota: 20})
	loadUsers(t, srv)
	begin := time.Now()
	got := linkMany(t, client, "a", many, 32, time.Second/many)
	elapsed := time.Since(begin)

	// A full bucket of 20, then 20/s for as long as the calls came: however slow the machine,
	// no more, and never fewer than the bucket.
	limit := 20 + int(math.Ceil(20*elapsed.Seconds())) + 1
	if got[""] < 20 || got[""] > limit || got[""]+got["TooManyRequestsException"] != many {
		t.Errorf("%d calls over %v: got %v, want 20 to %d admitted, the rest throttled", many, elapsed, got, limit)
	}
}

func TestPerUserWriteQuota(t *testing.T) {
	t.Parallel()
	clk := newClock()
	srv, client := serve(t, emulator.NewServerAt(emulator.Options{PerUserWriteQuota: 10}, clk.now))
	outcomes := make(map[string]int)
	for i := range 15 {
		_, err := client.AdminLinkProviderForUser(t.Context(), linkInput("Cognito", "alice", "Google", "Cognito_Subject", fmt.Sprint("g", i)))
		outcomes[code(err)]++
	}
	// Ten writes reach alice: five links, then five refused for the identity limit.
	if want := map[string]int{"": 5, "LimitExceededException": 5, "TooManyRequestsException": 5}; fmt.Sprint(outcomes) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", outcomes, want)
	}
	_, err := client.AdminLinkProviderForUser(t.Context(), linkInput("Cognito", "bob", "Google", "Cognito_Subject", "g-bob"))
	check(t, err, want{})
	clk.advance(time.Second)
	_, err = client.AdminDeleteUser(t.Context(), &cip.AdminDeleteUserInput{UserPoolId: aws.String(poolID), Username: aws.String("alice")})
	check(t, err, want{})
	if srv.UserExists(poolID, "alice") {
		t.Error("alice still exists")
	}
}

func TestClassQuotas(t *testing.T) {
	t.Parallel()
	clk := newClock()
	_, client := serve(t, emulator.NewServerAt(emulator.Options{ReadQuota: 3, ListQuota: 2, AdminQuota: 1, CreateQuota: 2, ResourceReadQuota: 2, WriteQuota: 1}, clk.now))
	pool := aws.String(poolID)
	created := 0
	for _, tc := range []struct {
		name  string
		quota int
		call  func() error
	}{
		{"read", 3, func() error {
			_, err := client.AdminGetUser(t.Context(), &cip.AdminGetUserInput{UserPoolId: pool, Username: aws.String("alice")})
			return err
		}},
		{"list", 2, func() error {
			_, err := client.ListUsers(t.Context(), &cip.ListUsersInput{UserPoolId: pool})
			return err
		}},
		{"resource read", 2, func() error {
			_, err := client.AdminListGroupsForUser(t.Context(), &cip.AdminListGroupsForUserInput{UserPoolId: pool, Username: aws.String("alice")})
			return err
		}},
		{"admin", 1, func() error {
			_, err := client.DescribeUserPool(t.Context(), &cip.DescribeUserPoolInput{UserPoolId: pool})
			return err
		}},
		// AdminCreateUser is UserCreation, not UserUpdate: the write quota of 1 stays for
		// the write below.
		{"create", 2, func() error {
			created++
			_, err := client.AdminCreateUser(t.Context(), &cip.AdminCreateUserInput{UserPoolId: pool, Username: aws.String(fmt.Sprint("new", created))})
			return err
		}},
		{"write", 1, func() error {
			_, err := client.AdminDisableProviderForUser(t.Context(), &cip.AdminDisableProviderForUserInput{
				UserPoolId: pool, User: linkInput("", "", "Cognito", "", "alice").SourceUser,
			})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for range tc.quota {
				check(t, tc.call(), want{})
			}
			if tc.quota < 50 {
				check(t, tc.call(), want{"TooManyRequestsException", "Rate exceeded", 429})
			}
		})
	}
}

func TestFault5xx(t *testing.T) {
	t.Parallel()
	srv, client := start(t, emulator.Options{Fault5xx: 0.3, Seed: 1})
	loadUsers(t, srv)
	got := linkMany(t, client, "a", 200, 8, 0)
	if n := got["InternalErrorException"]; n < 40 || n > 80 || n+got[""] != 200 {
		t.Errorf("got %v, want about 30%% of 200 calls InternalErrorException, the others linked", got)
	}
	outcomes := srv.Outcomes("AdminLinkProviderForUser")
	if outcomes["InternalErrorException"] != int64(got["InternalErrorException"]) || outcomes[""] != int64(got[""]) {
		t.Errorf("emulator counted %v, clients saw %v", outcomes, got)
	}
	if linked := countLinked(srv); linked != got[""] {
		t.Errorf("got %d links, want %d: faulted calls are not applied", linked, got[""])
	}
}

func TestConnectionFaults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		opt     emulator.Options
		outcome string
		applied bool
	}{
		{"lost", emulator.Options{FaultLost: 1}, emulator.OutcomeLost, true},
		{"drop", emulator.Options{FaultDrop: 1}, emulator.OutcomeDrop, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, client := start(t, tc.opt)
			for i := range 2 { // the second call goes over a new connection
				_, err := client.AdminLinkProviderForUser(t.Context(), linkInput("Cognito", "alice", "Google", "Cognito_Subject", fmt.Sprint("g", i)))
				if err == nil || errors.As(err, new(smithy.APIError)) {
					t.Fatalf("got %v, want a connection error", err)
				}
			}
			if got := srv.Outcomes("AdminLinkProviderForUser"); got[tc.outcome] != 2 {
				t.Errorf("got outcomes %v, want 2 %q", got, tc.outcome)
			}
			ids, _ := srv.Identities(poolID, "alice")
			if applied := len(ids) == 2; applied != tc.applied {
				t.Errorf("got identities %+v, want applied %t", ids, tc.applied)
			}
			// Reads are not faulted.
			_, err := client.AdminGetUser(t.Context(), &cip.AdminGetUserInput{UserPoolId: aws.String(poolID), Username: aws.String("alice")})
			check(t, err, want{})
		})
	}
}

func TestLatency(t *testing.T) {
	t.Parallel()
	// The latency is long beside the client's deadline below (20 ms): the server must see the
	// client leave before the latency is up, and under -race on a loaded machine that took
	// more than the 80 ms a 100 ms latency left.
	const latency = time.Second
	srv, client := start(t, emulator.Options{Latency: latency})
	get := &cip.AdminGetUserInput{UserPoolId: aws.String(poolID), Username: aws.String("alice")}
	begin := time.Now()
	_, err := client.AdminGetUser(t.Context(), get)
	check(t, err, want{})
	if elapsed := time.Since(begin); elapsed < latency {
		t.Errorf("call took %v, want at least the latency", elapsed)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if _, err := client.AdminGetUser(ctx, get); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want the client's deadline", err)
	}
	for deadline := time.Now().Add(5 * time.Second); srv.Outcomes("AdminGetUser")[emulator.OutcomeCanceled] != 1; {
		if time.Now().After(deadline) {
			t.Fatalf("got outcomes %v, want one canceled call", srv.Outcomes("AdminGetUser"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestReconfigure(t *testing.T) {
	t.Parallel()
	srv, client := start(t, emulator.Options{FaultDrop: 1})
	link := func(value string) error {
		_, err := client.AdminLinkProviderForUser(t.Context(), linkInput("Cognito", "alice", "Google", "Cognito_Subject", value))
		return err
	}
	if err := link("g1"); err == nil {
		t.Fatal("got success, want a dropped connection")
	}
	if err := srv.Reconfigure(func(o *emulator.Options) { o.FaultDrop = 0 }); err != nil {
		t.Fatal(err)
	}
	check(t, link("g2"), want{})
	if err := srv.Reconfigure(func(o *emulator.Options) { o.Fault5xx = 2 }); err == nil {
		t.Error("got no error for a probability of 2")
	}
	check(t, link("g3"), want{})
}

func TestOptionsValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opt  emulator.Options
		ok   bool
	}{
		{"zero", emulator.Options{}, true},
		{"defaults", emulator.Defaults(), true},
		{"faults adding up to 1", emulator.Options{Fault5xx: 0.1, FaultDrop: 0.2, FaultLost: 0.6, Fault5xxAfter: 0.1}, true},
		{"faults adding up to more than 1 after the change", emulator.Options{FaultLost: 0.6, Fault5xxAfter: 0.6}, false},
		{"negative resource read quota", emulator.Options{ResourceReadQuota: -1}, false},
		{"negative quota", emulator.Options{WriteQuota: -1}, false},
		{"infinite quota", emulator.Options{ReadQuota: math.Inf(1)}, false},
		{"probability over 1", emulator.Options{FaultLost: 1.5}, false},
		{"probability NaN", emulator.Options{Fault5xx: math.NaN()}, false},
		{"faults adding up to more than 1", emulator.Options{Fault5xx: 0.6, FaultDrop: 0.6}, false},
		{"negative latency", emulator.Options{Latency: -time.Second}, false},
		{"unknown auth error", emulator.Options{AuthErrors: map[string]string{"AKIA": "Nope"}}, false},
		{"bad region", emulator.Options{Region: "Mars"}, false},
		{"clock behind", emulator.Options{ClockSkew: -time.Hour}, true},
		{"background", emulator.Options{BackgroundRate: 5, BackgroundSchedule: emulator.Schedule{{At: time.Minute, Rate: 10}}}, true},
		{"negative background rate", emulator.Options{BackgroundRate: -5}, false},
		{"background schedule out of order", emulator.Options{BackgroundSchedule: emulator.Schedule{{At: time.Minute}, {At: time.Second}}}, false},
		{"clock a year and a day ahead", emulator.Options{ClockSkew: 366 * 24 * time.Hour}, false},
	} {
		if err := tc.opt.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: got %v, want ok %t", tc.name, err, tc.ok)
		}
	}
}
