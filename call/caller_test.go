package call_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/bulklink/bulklink/call"
	"github.com/bulklink/bulklink/emulator"
)

// These tests drive call.Do through the real aws-sdk-go-v2 client: against the emulator on
// loopback, against a server answering one fixed Cognito error, or, where time matters,
// against the emulator in process (Emulator.Local) on a fake clock (testing/synctest).

const testPool = "us-east-1_CallTest01"

// seed gives e the test pool, with Google as a provider and the users named.
func seed(t *testing.T, e *emulator.Emulator, users ...string) {
	t.Helper()
	p := emulator.SeedPool{ID: testPool, IdentityProviders: []emulator.SeedProvider{{Name: "Google", Type: "Google"}}}
	for _, u := range users {
		p.Users = append(p.Users, emulator.SeedUser{Username: u})
	}
	if err := e.Load(emulator.Seed{UserPools: []emulator.SeedPool{p}}); err != nil {
		t.Fatal(err)
	}
}

// serve starts the emulator on loopback with users u0 and u1, and returns a client for it
// with the SDK's retries off, as bulklink builds it: Do's are the only retries.
func serve(t *testing.T, opt emulator.Options) (*emulator.Server, call.Cognito) {
	t.Helper()
	srv := emulator.NewServer(opt)
	t.Cleanup(srv.Close)
	seed(t, srv.Emulator, "u0", "u1")
	return srv, srv.Client(func(o *cip.Options) { o.Retryer = aws.NopRetryer{} })
}

// sendTimes records when each request is sent, on the clock of the goroutine sending it.
type sendTimes struct {
	next http.RoundTripper
	mu   sync.Mutex
	at   []time.Time
}

func (s *sendTimes) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	s.at = append(s.at, time.Now())
	s.mu.Unlock()
	return s.next.RoundTrip(r)
}

// local serves e in process until ctx ends, for a test on a fake clock, and returns a client
// for it (the SDK's retries off) and the times of the requests that client sends.
func local(ctx context.Context, e *emulator.Emulator) (call.Cognito, *sendTimes) {
	sent := &sendTimes{next: e.Local(ctx).Transport}
	return cip.New(cip.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://cognito.local"),
		HTTPClient:  &http.Client{Transport: sent},
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""), Retryer: aws.NopRetryer{}}), sent
}

// answering is a Cognito endpoint that answers every call with one error, and the number of
// calls it was sent.
func answering(t *testing.T, status int, code, msg string) (call.Cognito, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		b, _ := json.Marshal(map[string]string{"__type": code, "message": msg})
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-ErrorType", code)
		w.WriteHeader(status)
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return cip.New(cip.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""), Retryer: aws.NopRetryer{}}), &n
}

// caller is a Caller with no pacing, no per-user spacing and no backoff (every jitter
// sample 0), tuned further by tune.
func caller(tune ...func(*call.Config)) *call.Caller {
	cfg := call.Config{
		Rates:    map[call.Category]float64{call.UserUpdate: 0, call.UserRead: 0},
		UserRate: -1,
		Rand:     func() float64 { return 0 },
	}
	for _, f := range tune {
		f(&cfg)
	}
	return call.New(cfg)
}

func linkIn(user string) *cip.AdminLinkProviderForUserInput {
	return &cip.AdminLinkProviderForUserInput{UserPoolId: aws.String(testPool),
		DestinationUser: &types.ProviderUserIdentifierType{ProviderName: aws.String("Cognito"), ProviderAttributeValue: aws.String(user)},
		SourceUser: &types.ProviderUserIdentifierType{ProviderName: aws.String("Google"), ProviderAttributeName: aws.String("Cognito_Subject"),
			ProviderAttributeValue: aws.String("g-" + user)}}
}

func signOutIn(user string) *cip.AdminUserGlobalSignOutInput {
	return &cip.AdminUserGlobalSignOutInput{UserPoolId: aws.String(testPool), Username: aws.String(user)}
}

func deleteIn(user string) *cip.AdminDeleteUserInput {
	return &cip.AdminDeleteUserInput{UserPoolId: aws.String(testPool), Username: aws.String(user)}
}

func getUserIn(user string) *cip.AdminGetUserInput {
	return &cip.AdminGetUserInput{UserPoolId: aws.String(testPool), Username: aws.String(user)}
}

// TestDoSendsMaxAttempts: a call that keeps failing is sent exactly its attempts, the
// Caller's or the Opts' (which win when positive), whether it fails transiently or is
// throttled; then it is exhausted.
func TestDoSendsMaxAttempts(t *testing.T) {
	tests := []struct {
		name         string
		config, opts int // MaxAttempts of call.Config and of call.Opts
		want         int
		throttled    bool
		wantClass    call.Class
		wantCode     string
		wantUnknown  bool
	}{
		{name: "config's attempts on 5xx", config: 3, want: 3, wantClass: call.Transient, wantCode: "InternalErrorException", wantUnknown: true},
		{name: "one attempt", config: 1, want: 1, wantClass: call.Transient, wantCode: "InternalErrorException", wantUnknown: true},
		{name: "opts override the config", config: 5, opts: 2, want: 2, wantClass: call.Transient, wantCode: "InternalErrorException", wantUnknown: true},
		{name: "default attempts", want: call.DefaultMaxAttempts, wantClass: call.Transient, wantCode: "InternalErrorException", wantUnknown: true},
		{name: "throttled", config: 4, want: 4, throttled: true, wantClass: call.Throttled, wantCode: "TooManyRequestsException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var api call.Cognito
			var sent func() int64
			if tt.throttled {
				var n *atomic.Int64
				api, n = answering(t, 400, "TooManyRequestsException", "Rate exceeded")
				sent = n.Load
			} else {
				var srv *emulator.Server
				srv, api = serve(t, emulator.Options{Fault5xx: 1})
				sent = func() int64 { return srv.Calls("AdminLinkProviderForUser") }
			}
			c := caller(func(c *call.Config) { c.MaxAttempts = tt.config })
			_, res, err := call.Do(t.Context(), c, call.Link, api, linkIn("u0"), call.Opts{MaxAttempts: tt.opts})
			if err != nil {
				t.Fatalf("Do: %v", err)
			}
			if got := sent(); got != int64(tt.want) {
				t.Errorf("%d calls reached Cognito, want %d", got, tt.want)
			}
			if res.Attempts != tt.want || !res.Exhausted || res.Class != tt.wantClass || res.Code != tt.wantCode || res.Unknown != tt.wantUnknown {
				t.Errorf("Result %+v: want %d attempts, exhausted, %v %s, unknown %v", res, tt.want, tt.wantClass, tt.wantCode, tt.wantUnknown)
			}
			n := c.Count(call.KindLink)
			if calls, retries := n.Calls.Load(), n.Retries.Load(); calls != int64(tt.want) || retries != int64(tt.want-1) {
				t.Errorf("counted %d calls and %d retries, want %d and %d", calls, retries, tt.want, tt.want-1)
			}
			if tt.throttled {
				if th := n.Throttles.Load(); th != int64(tt.want) {
					t.Errorf("counted %d throttles, want %d", th, tt.want)
				}
			}
		})
	}
}

// TestDoRedactsMessages: a secret in an answer's message reaches neither the Result's
// Message (a row's error_message), nor a FatalError, nor the debug log of failed attempts,
// whatever the answer's class.
func TestDoRedactsMessages(t *testing.T) {
	const secret = "AKIASECRETSECRET0000"
	msg := "credential process said: aws_access_key_id=" + secret
	tests := []struct {
		name   string
		status int
		code   string
		class  call.Class
		fatal  bool
	}{
		{"permanent", 400, "InvalidParameterException", call.Permanent, false},
		{"transient, retried", 500, "InternalErrorException", call.Transient, false},
		{"throttled, retried", 400, "TooManyRequestsException", call.Throttled, false},
		{"fatal", 400, "AccessDeniedException", call.Fatal, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api, _ := answering(t, tt.status, tt.code, msg)
			core, logs := observer.New(zap.DebugLevel)
			c := caller(func(c *call.Config) {
				c.MaxAttempts = 2
				c.Logger = zap.New(core)
				c.Redact = func(s string) string { return strings.ReplaceAll(s, secret, "[redacted]") }
			})
			_, res, err := call.Do(t.Context(), c, call.Link, api, linkIn("u0"), call.Opts{})
			if tt.fatal {
				var fe *call.FatalError
				if !errors.As(err, &fe) {
					t.Fatalf("Do: %v, want a FatalError", err)
				}
				if strings.Contains(fe.Message, secret) || strings.Contains(fe.Error(), secret) || !strings.Contains(fe.Message, "[redacted]") {
					t.Errorf("FatalError %q: the secret is not redacted", fe.Error())
				}
			} else if err != nil {
				t.Fatalf("Do: %v", err)
			}
			if res.Class != tt.class || res.Code != tt.code {
				t.Fatalf("Result %+v, want %v %s", res, tt.class, tt.code)
			}
			if strings.Contains(res.Message, secret) || !strings.Contains(res.Message, "[redacted]") {
				t.Errorf("Result.Message %q: want the message with its secret redacted", res.Message)
			}
			if logs.Len() == 0 {
				t.Fatal("no attempt was logged: the log is not checked")
			}
			for _, e := range logs.All() {
				b, _ := json.Marshal(e.ContextMap())
				if strings.Contains(e.Message, secret) || strings.Contains(string(b), secret) {
					t.Errorf("log %q %s holds the secret", e.Message, b)
				}
			}
		})
	}
}

// TestDoBackoffGrowsAndJitters: between attempts Do waits Backoff.Delay of the attempt
// that failed, with a fresh jitter sample from Config.Rand each time. On a fake clock the
// gaps between the sends are exactly those delays.
func TestDoBackoffGrowsAndJitters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		e := emulator.New(emulator.Options{Fault5xx: 1})
		seed(t, e, "u0")
		api, sent := local(ctx, e)
		samples := []float64{0.9, 0.1, 0.5, 0.3}
		draws := 0
		backoff := call.Backoff{Base: 100 * time.Millisecond, Max: 10 * time.Second}
		c := caller(func(c *call.Config) {
			c.MaxAttempts = len(samples) + 1
			c.Backoff = backoff
			c.Rand = func() float64 { draws++; return samples[(draws-1)%len(samples)] }
		})
		_, res, err := call.Do(ctx, c, call.Link, api, linkIn("u0"), call.Opts{})
		if err != nil || !res.Exhausted || res.Attempts != len(samples)+1 {
			t.Fatalf("Do: %+v, %v; want %d attempts, exhausted", res, err, len(samples)+1)
		}
		var gaps, want []time.Duration
		for i := 1; i < len(sent.at); i++ {
			gaps = append(gaps, sent.at[i].Sub(sent.at[i-1]))
		}
		for i, u := range samples {
			want = append(want, backoff.Delay(i+1, u)) // 90ms, 20ms, 200ms, 240ms
		}
		if !slices.Equal(gaps, want) {
			t.Errorf("waits between attempts %v, want %v: Backoff.Delay of each failed attempt, jittered by each sample", gaps, want)
		}
		if draws != len(samples) {
			t.Errorf("Rand drawn %d times, want once per retry, %d", draws, len(samples))
		}
	})
}

// TestDoBeforeOnlyFirstAttempt: Opts.Before runs once, before the first attempt is sent, and
// not before the retries; its error ends Do with nothing sent.
func TestDoBeforeOnlyFirstAttempt(t *testing.T) {
	srv, api := serve(t, emulator.Options{Fault5xx: 1})
	c := caller(func(c *call.Config) { c.MaxAttempts = 3 })
	var before []int64 // the calls Cognito had had at each Before
	_, res, err := call.Do(t.Context(), c, call.Link, api, linkIn("u0"), call.Opts{Before: func() error {
		before = append(before, srv.Calls("AdminLinkProviderForUser"))
		return nil
	}})
	if err != nil || res.Attempts != 3 {
		t.Fatalf("Do: %+v, %v; want 3 attempts", res, err)
	}
	if !slices.Equal(before, []int64{0}) {
		t.Errorf("Before called with %v calls made, want once, before any call", before)
	}

	refused := errors.New("journal full")
	_, _, err = call.Do(t.Context(), c, call.Link, api, linkIn("u1"), call.Opts{Before: func() error { return refused }})
	if !errors.Is(err, refused) {
		t.Errorf("Do with a failing Before: %v, want its error", err)
	}
	if n := srv.Calls("AdminLinkProviderForUser"); n != 3 {
		t.Errorf("%d calls after a failing Before, want still 3: nothing may be sent", n)
	}
}

// TestDoRepeatsOnlyRepeatableKindsAfterUnknownOutcomes: after an attempt whose outcome is
// unknown (a 5xx, a timeout), a kind that is not Repeatable (a delete: by now the username
// may be a new user's) returns to its operation; a repeatable kind is sent again. Answers
// that say nothing was applied (throttling, a refused connection) are retried for every
// kind.
func TestDoRepeatsOnlyRepeatableKindsAfterUnknownOutcomes(t *testing.T) {
	const attempts = 4
	type doFunc func(context.Context, *call.Caller, call.Cognito) (call.Result, error)
	link := func(ctx context.Context, c *call.Caller, api call.Cognito) (call.Result, error) {
		_, res, err := call.Do(ctx, c, call.Link, api, linkIn("u0"), call.Opts{})
		return res, err
	}
	signOut := func(ctx context.Context, c *call.Caller, api call.Cognito) (call.Result, error) {
		_, res, err := call.Do(ctx, c, call.SignOut, api, signOutIn("u0"), call.Opts{})
		return res, err
	}
	del := func(ctx context.Context, c *call.Caller, api call.Cognito) (call.Result, error) {
		_, res, err := call.Do(ctx, c, call.Delete, api, deleteIn("u0"), call.Opts{})
		return res, err
	}
	// Which kinds are repeatable is the product's contract (docs/merge.md: a sign-out again
	// is harmless, a delete is not), so it is written out here rather than read from Kinds.
	kinds := []struct {
		kind       *call.Kind
		op         string
		repeatable bool
		do         doFunc
	}{
		{call.KindLink, "AdminLinkProviderForUser", true, link},
		{call.KindSignOut, "AdminUserGlobalSignOut", true, signOut},
		{call.KindDelete, "AdminDeleteUser", false, del},
	}
	// wantAttempts is how often an unknown outcome lets a kind be sent.
	wantAttempts := func(repeatable bool) int {
		if repeatable {
			return attempts
		}
		return 1
	}

	for _, k := range kinds {
		t.Run(k.kind.Name+"/5xx", func(t *testing.T) {
			srv, api := serve(t, emulator.Options{Fault5xx: 1})
			res, err := k.do(t.Context(), caller(func(c *call.Config) { c.MaxAttempts = attempts }), api)
			want := wantAttempts(k.repeatable)
			if err != nil || res.Class != call.Transient || res.Code != "InternalErrorException" || !res.Unknown || res.Attempts != want || res.Exhausted != k.repeatable {
				t.Errorf("Do: %+v, %v; want %d attempts, InternalErrorException, unknown, exhausted %v", res, err, want, k.repeatable)
			}
			if n := srv.Calls(k.op); n != int64(want) {
				t.Errorf("%d calls reached Cognito, want %d", n, want)
			}
		})
		t.Run(k.kind.Name+"/timeout", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				e := emulator.New(emulator.Options{Latency: time.Second})
				seed(t, e, "u0")
				api, sent := local(ctx, e)
				c := caller(func(c *call.Config) { c.MaxAttempts, c.Timeout = attempts, 100*time.Millisecond })
				res, err := k.do(ctx, c, api)
				want := wantAttempts(k.repeatable)
				if err != nil || res.Class != call.Transient || res.Code != "Timeout" || !res.Unknown || res.Attempts != want || res.Exhausted != k.repeatable {
					t.Errorf("Do: %+v, %v; want %d attempts, Timeout, unknown, exhausted %v", res, err, want, k.repeatable)
				}
				if len(sent.at) != want {
					t.Errorf("%d calls sent, want %d", len(sent.at), want)
				}
			})
		})
		t.Run(k.kind.Name+"/throttled", func(t *testing.T) {
			api, n := answering(t, 400, "TooManyRequestsException", "Rate exceeded")
			res, err := k.do(t.Context(), caller(func(c *call.Config) { c.MaxAttempts = attempts }), api)
			if err != nil || res.Class != call.Throttled || res.Unknown || res.Attempts != attempts || !res.Exhausted {
				t.Errorf("Do: %+v, %v; want %d attempts, throttled, exhausted", res, err, attempts)
			}
			if n.Load() != attempts {
				t.Errorf("%d calls sent, want %d", n.Load(), attempts)
			}
		})
		t.Run(k.kind.Name+"/connection refused", func(t *testing.T) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			url := "http://" + l.Addr().String()
			l.Close() // nothing listens there now: every dial is refused
			api := cip.New(cip.Options{Region: "us-east-1", BaseEndpoint: aws.String(url),
				Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""), Retryer: aws.NopRetryer{}})
			res, err := k.do(t.Context(), caller(func(c *call.Config) { c.MaxAttempts = attempts }), api)
			if err != nil || res.Class != call.Unsent || res.Unknown || res.Attempts != attempts || !res.Exhausted {
				t.Errorf("Do: %+v, %v; want %d attempts, unsent, exhausted", res, err, attempts)
			}
		})
	}
}

// TestDoSpacesWritesPerUser: writes to one user (Opts.User) are spaced 1/UserRate apart,
// writes to other users and reads are not held back by them; a UserRate of 0 is Cognito's
// 10 a second. On a fake clock, with the emulator in process answering at once, a call
// returns when it is sent.
func TestDoSpacesWritesPerUser(t *testing.T) {
	tests := []struct {
		name     string
		userRate float64
		gap      time.Duration
	}{
		{"UserRate 2", 2, 500 * time.Millisecond},
		{"default UserRate", 0, 100 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				e := emulator.New(emulator.Options{})
				seed(t, e, "u0", "u1", "u2")
				api, _ := local(ctx, e)
				c := caller(func(c *call.Config) { c.UserRate = tt.userRate })
				start := time.Now()
				var mu sync.Mutex
				at := map[string][]time.Duration{}
				var wg sync.WaitGroup
				do := func(what, user string, f func() (call.Result, error)) {
					wg.Go(func() {
						res, err := f()
						if err != nil || !res.OK() {
							t.Errorf("%s %s: %+v, %v", what, user, res, err)
						}
						mu.Lock()
						at[what+" "+user] = append(at[what+" "+user], time.Since(start))
						mu.Unlock()
					})
				}
				for _, u := range []string{"u0", "u0", "u0", "u1", "u1", "u1", "u2"} {
					do("signout", u, func() (call.Result, error) {
						_, res, err := call.Do(ctx, c, call.SignOut, api, signOutIn(u), call.Opts{User: testPool + "/" + u})
						return res, err
					})
				}
				for range 3 {
					do("read", "u0", func() (call.Result, error) {
						_, res, err := call.Do(ctx, c, call.GetUser, api, getUserIn("u0"), call.Opts{User: testPool + "/u0"})
						return res, err
					})
				}
				wg.Wait()
				spaced := []time.Duration{0, tt.gap, 2 * tt.gap}
				want := map[string][]time.Duration{
					"signout u0": spaced,
					"signout u1": spaced,
					"signout u2": {0},
					"read u0":    {0, 0, 0},
				}
				for k, w := range want {
					got := at[k]
					slices.Sort(got)
					if !slices.Equal(got, w) {
						t.Errorf("%s sent at %v, want %v", k, got, w)
					}
				}
			})
		})
	}
}
