// Package call is bulklink's one path to Cognito, and to the Service Quotas and CloudWatch
// reads of --rate auto. Every call goes through Do, which paces it in its quota category's
// bucket for its region, spaces the writes to one user, sends it under a per-attempt timeout,
// classifies the answer (Classify), retries by class with backoff, counts it by kind, and
// keeps secrets out of what it reports. What differs between operations is data: their Kind
// (category, whether a repeat is harmless, which refusals may mean the effect is in place),
// in the one table Kinds. The row-level decisions (what a refusal means for a row, reading
// the user to settle it) belong to the operations of package job, which call Do.
//
// As restic's retry backend wraps a backend and rclone's pacer wraps a call, the pacing and
// the retries sit around one attempt; the pacing itself is package pace's.
package call

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"github.com/bulklink/bulklink/pace"
)

// Config tunes a Caller. Zero values take the defaults.
type Config struct {
	// Rates are the calls per second of each category, in each region: for UserUpdate a
	// ceiling under which the pace adapts to throttling (pace.Adaptive), for the others a
	// fixed pace. A category absent takes DefaultRates'; a rate ≤ 0 is unlimited.
	Rates map[Category]float64
	// UserRate is the writes per second to one user: 0 is Cognito's 10, < 0 unlimited.
	UserRate    float64
	MaxAttempts int           // attempts per call
	Timeout     time.Duration // per attempt
	Backoff     Backoff
	Logger      *zap.Logger
	Now         func() time.Time
	Rand        func() float64 // uniform in [0,1), for jitter
	// Redact scrubs secrets from the messages Do reports (an SDK error may quote a
	// credential process's output); nil keeps them as they are.
	Redact func(string) string
}

// DefaultRates pace each category well under its default quota (docs/cognito.md, Quotas),
// which the application shares.
var DefaultRates = map[Category]float64{
	UserUpdate:       10,
	UserRead:         20,
	UserList:         10,
	UserResourceRead: 10,
	PoolRead:         5,
	UsageRead:        5,
}

// Defaults used for zero Config fields.
const (
	DefaultMaxAttempts = 8
	DefaultTimeout     = 10 * time.Second
)

// Caller makes calls. Build one with New; it is safe for concurrent use.
type Caller struct {
	cfg   Config
	users *pace.Users

	mu    sync.Mutex
	gates map[gateKey]*gate

	counts [len(Kinds)]Count
}

// Count counts one kind's calls. Its fields may be read while calls go.
type Count struct {
	Calls     atomic.Int64 // attempts sent
	Throttles atomic.Int64 // attempts answered TooManyRequestsException
	Retries   atomic.Int64 // attempts after a call's first
}

// New returns a Caller.
func New(cfg Config) *Caller {
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Backoff == (Backoff{}) {
		cfg.Backoff = DefaultBackoff
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Float64
	}
	if cfg.Redact == nil {
		cfg.Redact = func(s string) string { return s }
	}
	userRate := cfg.UserRate
	if userRate == 0 {
		userRate = pace.DefaultUserRate
	}
	return &Caller{cfg: cfg, users: pace.NewUsers(userRate, cfg.Now), gates: map[gateKey]*gate{}}
}

// Pause waits the backoff after the n-th failed try (n ≥ 1) of a step that an operation
// tries again after reading what its last try did (a merge's delete and link, whose
// attempts are Do's each time): ErrCancelled when ctx ends first.
func (c *Caller) Pause(ctx context.Context, n int) error {
	if pace.Sleep(ctx, c.cfg.Backoff.Delay(n, c.cfg.Rand())) != nil {
		return ErrCancelled
	}
	return nil
}

// Opts say how Do sends one call.
type Opts struct {
	// Region is the region of the pool the call is for: its buckets are that region's.
	Region string
	// User names the user a write changes (pool and username, as one key): writes to one
	// user are spaced under Cognito's per-user limit. "" for none.
	User string
	// Start, when set, is the context attempts may begin under: once it ends no attempt is
	// sent, while one in flight runs on under Do's context (a grace period after a stop).
	Start context.Context
	// Before, when set, is called once, just before the first attempt is sent: a journal
	// notes there that the call may take effect. Its error ends Do.
	Before func() error
	// MaxAttempts and Timeout override the Caller's when positive.
	MaxAttempts int
	Timeout     time.Duration
}

// Result is what a call came to, when it was not cancelled nor fatal.
type Result struct {
	Class         Class  // the last attempt's
	Code, Message string // the last answer's error code and message (redacted); "" on success
	Err           error  // the last attempt's error
	Attempts      int
	// Unknown says that an attempt may have taken effect without an answer saying so (a 5xx,
	// a timeout, a lost answer).
	Unknown bool
	// Exhausted says that the attempts ran out on transient failures or throttling.
	Exhausted bool
	// MaybeDone says that the answer is a refusal that may mean the effect is in place
	// (Kind.MaybeDone).
	MaybeDone bool
}

// OK reports whether the call did what was asked.
func (r Result) OK() bool { return r.Class == OK }

// Do makes one call of op with client: paced, spaced, timed out per attempt, and retried with
// backoff on throttling and transient failures, up to the attempts. It returns the answer of
// a call that succeeded, and in every case but two the Result: ErrCancelled when ctx (or
// Opts.Start, before a send) ends first, and a *FatalError when the answer says that no call
// can succeed (refused credentials or permission, a pool that does not exist). A kind that is
// not Repeatable returns after its first attempt whose outcome is unknown.
func Do[C, In, Out any](ctx context.Context, c *Caller, op *Op[C, In, Out], client C, in *In, o Opts) (*Out, Result, error) {
	start := o.Start
	if start == nil {
		start = ctx
	}
	attempts := c.cfg.MaxAttempts
	if o.MaxAttempts > 0 {
		attempts = o.MaxAttempts
	}
	timeout := c.cfg.Timeout
	if o.Timeout > 0 {
		timeout = o.Timeout
	}
	g := c.gate(o.Region, op.Category)
	n := &c.counts[op.index]
	var res Result
	for attempt := 1; ; attempt++ {
		if attempt > 1 {
			n.Retries.Add(1)
			if pace.Sleep(start, c.cfg.Backoff.Delay(attempt-1, c.cfg.Rand())) != nil {
				return nil, res, ErrCancelled
			}
		}
		// The per-user wait comes last, so that it spaces the sends themselves.
		if g.wait(start) != nil || op.Write && o.User != "" && c.users.Wait(start, o.User) != nil {
			return nil, res, ErrCancelled
		}
		if o.Before != nil && attempt == 1 {
			if err := o.Before(); err != nil {
				return nil, res, err
			}
		}
		sent := c.cfg.Now()
		n.Calls.Add(1)
		if op.Write {
			g.writes.Add(1)
		}
		actx, cancel := context.WithTimeout(ctx, timeout)
		out, err := op.send(client, actx, in)
		cancel()
		if err != nil && ctx.Err() != nil {
			return nil, res, ErrCancelled // the answer is lost; whoever resumes settles it
		}
		cl, code := Classify(err)
		res = Result{Class: cl, Code: code, Err: err, Attempts: attempt, Unknown: res.Unknown}
		if err != nil {
			res.Message = c.cfg.Redact(Message(err))
		}
		switch {
		case cl.answered():
			g.succeeded(sent)
		case cl == Throttled:
			n.Throttles.Add(1)
			g.throttled(sent)
		}
		if c.cfg.Logger.Core().Enabled(zap.DebugLevel) && cl != OK {
			c.cfg.Logger.Debug("attempt failed", zap.String("op", op.Name), zap.Int("attempt", attempt),
				zap.Stringer("class", cl), zap.String("code", code), zap.String("error", res.Message))
		}
		switch cl {
		case OK:
			return out, res, nil
		case Permanent:
			res.MaybeDone = op.MaybeDone(code, res.Message)
			return nil, res, nil
		case Fatal:
			return nil, res, c.fatal(op.Kind, res)
		case Transient:
			res.Unknown = true
			if !op.Repeatable {
				return nil, res, nil
			}
		}
		if attempt >= attempts {
			res.Exhausted = true
			return nil, res, nil
		}
	}
}

// fatal is the FatalError of a fatal answer, which says what to allow when the permission
// is what is missing.
func (c *Caller) fatal(k *Kind, res Result) *FatalError {
	msg := res.Message
	switch res.Code {
	case "AccessDeniedException", "NotAuthorizedException":
		if k.Category == UsageRead {
			msg += fmt.Sprintf(" (allow %s)", k.Name)
		} else {
			msg += fmt.Sprintf(" (allow cognito-idp:%s)", k.Name)
		}
	}
	return &FatalError{Code: res.Code, Message: msg, Err: res.Err}
}

// ByKind is the calls made so far, by operation, the kinds not called left out.
func (c *Caller) ByKind() map[string]int64 {
	m := map[string]int64{}
	for _, k := range Kinds {
		if n := c.counts[k.index].Calls.Load(); n > 0 {
			m[k.Name] = n
		}
	}
	return m
}

// Count returns the counts of a kind's calls.
func (c *Caller) Count(k *Kind) *Count { return &c.counts[k.index] }

// Writes is the number of write calls sent so far to the pools of a region, throttled ones
// included: the account's usage less these is the application's (--rate auto).
func (c *Caller) Writes(region string) int64 { return c.gate(region, UserUpdate).writes.Load() }

// Rate is the current pace of write calls per second, over every region (+Inf when
// unlimited; the ceiling when no region has paced yet).
func (c *Caller) Rate() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	total, any := 0.0, false
	for k, g := range c.gates {
		if k.category == UserUpdate {
			total, any = total+g.rate(), true
		}
	}
	if !any {
		if r := c.rate(UserUpdate); r > 0 {
			return r
		}
		return math.Inf(1)
	}
	return total
}

// SetCeiling sets the ceiling of a region's write calls per second, under which the pace
// still adapts to throttling: --rate auto sets it from the quota's headroom, again and again.
func (c *Caller) SetCeiling(region string, perSecond float64) {
	c.gate(region, UserUpdate).adaptive.SetCeiling(perSecond)
}

// rate is a category's configured pace; ≤ 0 is unlimited.
func (c *Caller) rate(cat Category) float64 {
	if r, ok := c.cfg.Rates[cat]; ok {
		return r
	}
	return DefaultRates[cat]
}

type gateKey struct {
	region   string
	category Category
}

// gate is one category's bucket in one region: adaptive for writes, fixed otherwise.
type gate struct {
	adaptive *pace.Adaptive
	fixed    *rate.Limiter
	writes   atomic.Int64
}

// gate returns the bucket of a category in a region, made on first use.
func (c *Caller) gate(region string, cat Category) *gate {
	k := gateKey{region, cat}
	c.mu.Lock()
	defer c.mu.Unlock()
	if g, ok := c.gates[k]; ok {
		return g
	}
	g := &gate{}
	r := c.rate(cat)
	if cat == UserUpdate {
		g.adaptive = pace.NewAdaptive(r, c.cfg.Logger.With(zap.String("region", region)), c.cfg.Now)
	} else if r > 0 {
		g.fixed = rate.NewLimiter(rate.Limit(r), 1)
	} else {
		g.fixed = rate.NewLimiter(rate.Inf, 1)
	}
	c.gates[k] = g
	return g
}

func (g *gate) wait(ctx context.Context) error {
	if g.adaptive != nil {
		return g.adaptive.Wait(ctx)
	}
	return g.fixed.Wait(ctx)
}

func (g *gate) succeeded(sent time.Time) {
	if g.adaptive != nil {
		g.adaptive.Succeeded(sent)
	}
}

func (g *gate) throttled(sent time.Time) {
	if g.adaptive != nil {
		g.adaptive.Throttled(sent)
	}
}

func (g *gate) rate() float64 {
	if g.adaptive != nil {
		return g.adaptive.Rate()
	}
	return float64(g.fixed.Limit())
}
