// Package quota keeps a run's write ceiling at the headroom of the account's write quota:
// `--rate auto`. For each region the run writes to, it reads the applied UserUpdate quota
// from Service Quotas (purchased capacity included) and the account's UserUpdate calls of
// the latest minute from CloudWatch (AWS/Usage CallCount, a Sum per minute), takes the run's
// own calls of that minute away to find the application's, and sets the job's ceiling in
// that region to what the application leaves, less a margin. It reads again every minute;
// between reads the job's pacer still reacts to throttles under the ceiling. Without
// permission for those reads it says so once and leaves the region at the default ceiling.
// The facts it relies on, and which of them are guesses, are in docs/cognito.md (Quotas).
package quota

import (
	"cmp"
	"context"
	"errors"
	"math"
	"slices"
	"sort"
	"sync"
	"time"

	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	sqtypes "github.com/aws/aws-sdk-go-v2/service/servicequotas/types"
	"go.uber.org/zap"

	"github.com/bulklink/bulklink/call"
	"github.com/bulklink/bulklink/job"
)

// Job is the run whose ceilings Auto keeps: *job.Job implements it.
type Job interface {
	// SetCeiling sets the highest rate of a region's write calls, calls per second.
	SetCeiling(region string, perSecond float64)
	// Calls is the number of write calls sent to a region's pools so far, throttled ones
	// included.
	Calls(region string) int64
}

// Clients are the Service Quotas and CloudWatch clients of one region.
type Clients struct {
	Quotas  QuotasAPI
	Metrics MetricsAPI
}

// Config tunes an Auto. Zero values take the defaults, but for Margin, where 0 is no margin.
type Config struct {
	// Margin is the share of the headroom left unused, in [0, 1): with 0.1 the ceiling is 90%
	// of what the application leaves of the quota.
	Margin float64
	// Fallback is the ceiling of a region whose quota or usage cannot be read for want of
	// permission; DefaultFallback when 0.
	Fallback float64
	Logger   *zap.Logger
	Now      func() time.Time
	// Offset is the services' clock less this machine's (job.Skew), to cut the run's own
	// calls at the minutes CloudWatch counts by; nil: the clocks agree.
	Offset func() time.Duration
	// Calls makes the reads (the UsageRead category); nil is a Caller with call's defaults.
	Calls *call.Caller
	// Tick wakes Run to sample the job's calls and to read once a minute has ended; nil: a
	// time.Ticker of every second. A test sends on it to run Run on its own clock.
	Tick <-chan time.Time
}

const (
	// DefaultMargin is the share of the headroom --rate auto leaves unused: the application's
	// rate of the latest minute is an estimate (Poisson traffic of 10 calls/s varies by ±0.4/s
	// from minute to minute), and a bucket that stays nearly full absorbs its bursts.
	DefaultMargin = 0.1
	// DefaultFallback is the ceiling without the reads: the run's default.
	DefaultFallback = job.DefaultRate
	// MinCeiling is the lowest ceiling Auto sets: when the application takes the whole quota,
	// the run creeps on rather than stopping.
	MinCeiling = 1.0

	// ReadEvery is how often the quota and the usage are read again. CloudWatch's usage
	// comes per minute: reading more often would read the same minute.
	ReadEvery = time.Minute
	// readDelay is how long after a minute ends (on the services' clock) it is read.
	readDelay = 5 * time.Second
	// usageWindow is how far back the usage is read: CloudWatch publishes a minute's usage a
	// minute or more after it ends, and the newest minute it has is the one taken.
	usageWindow = 5 * time.Minute
	// readTimeout bounds one region's reads.
	readTimeout = 30 * time.Second
	// sampleEvery is how often the job's own calls are counted, and keepSamples how long
	// the counts are kept: the minutes a read may take.
	sampleEvery = time.Second
	keepSamples = usageWindow + 2*ReadEvery
)

// IAMActions are the permissions --rate auto needs.
var IAMActions = []string{"servicequotas:GetServiceQuota", "servicequotas:ListServiceQuotas", "cloudwatch:GetMetricData", "cloudwatch:ListMetrics"}

// Auto keeps the write ceilings of a job's regions at the headroom of their quotas. Read
// reads every region once and sets its ceiling; Run samples the job's own calls every
// second and reads again every minute. It is safe for concurrent use.
type Auto struct {
	job Job
	cfg Config

	mu      sync.Mutex
	regions []*region
	warned  bool // the lack of permission was told
}

// region is what Auto knows of one region.
type region struct {
	name    string
	clients Clients
	code    string              // the UserUpdate quota's code, once found
	usage   *sqtypes.MetricInfo // the quota's usage metric, as Service Quotas names it
	dims    []cwtypes.Dimension // the CallCount metric's dimensions, once found
	off     bool                // no permission: at the fallback for the rest of the run
	samples []sample            // the job's own calls, every second
	ceiling float64             // the ceiling last set; 0 before the first
}

// sample is the job's own calls to a region so far, at a time on this machine's clock.
type sample struct {
	at    time.Time
	calls int64
}

// New returns an Auto for job's regions, each read with its clients.
func New(job Job, clients map[string]Clients, cfg Config) *Auto {
	if cfg.Fallback <= 0 {
		cfg.Fallback = DefaultFallback
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Offset == nil {
		cfg.Offset = func() time.Duration { return 0 }
	}
	if cfg.Calls == nil {
		cfg.Calls = call.New(call.Config{Logger: cfg.Logger})
	}
	cfg.Margin = math.Min(math.Max(cfg.Margin, 0), 0.99)
	a := &Auto{job: job, cfg: cfg}
	for name, c := range clients {
		a.regions = append(a.regions, &region{name: name, clients: c})
	}
	slices.SortFunc(a.regions, func(x, y *region) int { return cmp.Compare(x.name, y.name) })
	return a
}

// Run samples the job's own calls every second and reads the quota and the usage of every
// region a few seconds after each minute ends, until ctx ends. Call Read first: Run does
// not read before the first minute's end.
func (a *Auto) Run(ctx context.Context) {
	tick := a.cfg.Tick
	if tick == nil {
		t := time.NewTicker(sampleEvery)
		defer t.Stop()
		tick = t.C
	}
	next := a.nextRead()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
		}
		a.Sample()
		if !a.cfg.Now().Before(next) {
			a.Read(ctx)
			next = a.nextRead()
		}
	}
}

// nextRead is when, on this machine's clock, the minute under way will have ended and can
// be read.
func (a *Auto) nextRead() time.Time {
	off := a.cfg.Offset()
	end := a.cfg.Now().Add(off).Truncate(time.Minute).Add(time.Minute)
	return end.Add(readDelay - off)
}

// Sample counts the job's own calls to each region now.
func (a *Auto) Sample() {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.cfg.Now()
	for _, r := range a.regions {
		r.samples = append(r.samples, sample{now, a.job.Calls(r.name)})
		i := 0
		for i < len(r.samples)-1 && r.samples[i].at.Before(now.Add(-keepSamples)) {
			i++
		}
		r.samples = r.samples[i:]
	}
}

// ownCalls is the number of the job's calls to r between from and to, on this machine's
// clock, interpolated between the samples.
func (r *region) ownCalls(from, to time.Time) float64 { return r.callsAt(to) - r.callsAt(from) }

func (r *region) callsAt(t time.Time) float64 {
	s := r.samples
	if len(s) == 0 {
		return 0
	}
	i := sort.Search(len(s), func(i int) bool { return !s[i].at.Before(t) })
	switch {
	case i == 0:
		return float64(s[0].calls)
	case i == len(s):
		return float64(s[len(s)-1].calls)
	}
	a, b := s[i-1], s[i]
	f := float64(t.Sub(a.at)) / float64(b.at.Sub(a.at))
	return float64(a.calls) + f*float64(b.calls-a.calls)
}

// Read reads the quota and the latest minute of usage of every region now, and sets each
// region's ceiling. A region whose reads are refused for want of permission goes to the
// fallback ceiling for good, and the first such refusal is logged as a warning; other
// failures are logged and leave the ceiling as it was, until the next read.
func (a *Auto) Read(ctx context.Context) {
	a.Sample()
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range a.regions {
		if r.off || ctx.Err() != nil {
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, readTimeout)
		h, err := a.read(rctx, r)
		cancel()
		if err != nil {
			a.failed(ctx, r, err)
			continue
		}
		a.set(r, h)
	}
}

// headroom is what one read found.
type headroom struct {
	quota   float64   // calls per second
	minute  time.Time // the minute of usage read, on the services' clock; zero: none
	account float64   // the account's calls in that minute
	own     float64   // the job's own calls in it
}

// app is the application's rate, calls per second: the account's calls less the job's.
func (h headroom) app() float64 { return math.Max(0, h.account-h.own) / 60 }

// read reads r's quota and its latest minute of usage.
func (a *Auto) read(ctx context.Context, r *region) (headroom, error) {
	q, err := a.quota(ctx, r)
	if err != nil {
		return headroom{}, err
	}
	h := headroom{quota: q}
	off := a.cfg.Offset()
	end := a.cfg.Now().Add(off).Truncate(time.Minute)
	from := end.Add(-usageWindow)
	minute, calls, err := a.usage(ctx, r, from, end)
	switch {
	case err != nil:
		return headroom{}, err
	case minute.IsZero() && r.ownCalls(from.Add(-off), end.Add(-off)) >= 1:
		return headroom{}, errUnpublished // not "no calls": the run made some
	case !minute.IsZero():
		h.minute, h.account = minute, calls
		h.own = r.ownCalls(minute.Add(-off), minute.Add(time.Minute-off))
	}
	return h, nil
}

// errUnpublished is a usage read that found no minute with calls, where the run made some.
var errUnpublished = errors.New("CloudWatch has no UserUpdate usage for the last 5 minutes yet, though this run made calls in them")

// set sets r's ceiling from what a read found, and logs it.
func (a *Auto) set(r *region, h headroom) {
	room := h.quota - h.app()
	c := math.Max(MinCeiling, room*(1-a.cfg.Margin))
	r.ceiling = c
	a.job.SetCeiling(r.name, c)
	fields := []zap.Field{
		zap.String("region", r.name), zap.Float64("quota", h.quota),
		zap.Float64("application", round1(h.app())), zap.Float64("headroom", round1(room)),
		zap.Float64("margin", a.cfg.Margin), zap.Float64("ceiling", round1(c)),
	}
	if h.minute.IsZero() {
		fields = append(fields, zap.String("usage", "no UserUpdate calls in the last 5 minutes"))
	} else {
		fields = append(fields, zap.Time("minute", h.minute), zap.Float64("account_calls", h.account), zap.Float64("own_calls", math.Round(h.own)))
	}
	a.cfg.Logger.Info("rate auto: ceiling from the quota's headroom", fields...)
	if room*(1-a.cfg.Margin) < MinCeiling {
		a.cfg.Logger.Warn("rate auto: the application takes about the whole quota; going on at the lowest ceiling",
			zap.String("region", r.name), zap.Float64("ceiling", c))
	}
}

// failed handles a read that failed: for want of permission, or of the quota itself, the
// region goes to the fallback ceiling for good, said once; otherwise the ceiling stays, and
// the failure is logged.
func (a *Auto) failed(ctx context.Context, r *region, err error) {
	if ctx.Err() != nil {
		return // the run is over
	}
	if denied(err) || errors.Is(err, errNoQuota) {
		r.off, r.ceiling = true, a.cfg.Fallback
		a.job.SetCeiling(r.name, a.cfg.Fallback)
		if !a.warned {
			a.warned = true
			why := "no permission to read the quota or the usage"
			if !denied(err) {
				why = "no UserUpdate quota found in Service Quotas"
			}
			a.cfg.Logger.Warn("rate auto: "+why+"; pacing under the default ceiling instead",
				zap.String("region", r.name), zap.Float64("ceiling", a.cfg.Fallback),
				zap.Strings("needs", IAMActions), zap.Error(err))
		}
		return
	}
	ceiling := r.ceiling
	if ceiling == 0 {
		ceiling = a.cfg.Fallback
		r.ceiling = ceiling
		a.job.SetCeiling(r.name, ceiling)
	}
	a.cfg.Logger.Warn("rate auto: could not read the quota or the usage; the ceiling stays until the next read",
		zap.String("region", r.name), zap.Float64("ceiling", round1(ceiling)), zap.Error(err))
}

// deniedCodes are the error codes of a call refused for want of permission: Service
// Quotas' and CloudWatch's (its query code), and the generic ones.
var deniedCodes = map[string]bool{
	"AccessDeniedException": true, "AccessDenied": true, "UnauthorizedOperation": true,
	"UnauthorizedException": true, "NotAuthorized": true,
}

// denied reports whether err is a refusal for want of permission: a fatal answer to
// call.Do (AccessDeniedException is fatal to Cognito's calls), or a refusal.
func denied(err error) bool {
	if fe, ok := errors.AsType[*call.FatalError](err); ok {
		return deniedCodes[fe.Code]
	}
	if r, ok := errors.AsType[*refusal](err); ok {
		return deniedCodes[r.res.Code]
	}
	return false
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }
