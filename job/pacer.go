package job

import (
	"context"
	"math"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/time/rate"
)

// pacer spaces every write call of the run through one token bucket, and adapts its rate to
// the account's quota: it cuts the rate multiplicatively when Cognito throttles and raises
// it additively on success (AIMD), never above the ceiling the user set with --rate.
type pacer struct {
	lim     *rate.Limiter
	ceiling float64 // --rate; +Inf when unlimited
	floor   float64
	log     *zap.Logger
	now     func() time.Time

	mu      sync.Mutex
	current float64
	lastCut time.Time
	lastLog time.Time
	logged  float64 // the rate the last log line told
}

const (
	cutFactor   = 0.7                    // rate kept after a throttle
	cutCooldown = 200 * time.Millisecond // throttles within this of a cut answer calls sent before it
	logEvery    = 5 * time.Second        // rate changes are logged at most this often
	raiseShare  = 0.04                   // the rate rises by this share of itself per second
	minStep     = 0.5                    // and by at least this many calls/s per second
)

func newPacer(ceiling float64, log *zap.Logger, now func() time.Time) *pacer {
	p := &pacer{ceiling: ceiling, log: log, now: now}
	if ceiling <= 0 || math.IsInf(ceiling, 1) {
		p.ceiling = math.Inf(1)
		p.lim = rate.NewLimiter(rate.Inf, 1)
		p.current = p.ceiling
		return p
	}
	p.floor = math.Min(1, ceiling)
	p.current, p.logged = ceiling, ceiling
	p.lim = rate.NewLimiter(rate.Limit(ceiling), 1)
	return p
}

// Wait blocks until the next write call may be sent.
func (p *pacer) Wait(ctx context.Context) error { return p.lim.Wait(ctx) }

// Rate is the current send rate in calls per second.
func (p *pacer) Rate() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.current
}

// Throttled records a TooManyRequestsException answering a call sent at sent. A throttle
// of a call sent before the last cut says nothing of the rate since, and neither does one
// within cutCooldown of it: both answer the same burst.
func (p *pacer) Throttled(sent time.Time) {
	if math.IsInf(p.ceiling, 1) {
		return // unlimited: the backoff alone slows the row down
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if sent.Before(p.lastCut) || now.Sub(p.lastCut) < cutCooldown {
		return
	}
	p.lastCut = now
	p.set(math.Max(p.floor, p.current*cutFactor), now)
}

// Succeeded records a call that went through.
func (p *pacer) Succeeded() {
	if math.IsInf(p.ceiling, 1) {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.current >= p.ceiling {
		return
	}
	// Raise by step calls/s per second of successes (step/current per success), step a
	// small share of the current rate: slow near a quota found by throttling, quick to
	// recover from a deep cut.
	step := math.Max(minStep, p.current*raiseShare)
	p.set(math.Min(p.ceiling, p.current+step/p.current), p.now())
}

// set sets the rate. A log line tells, at most every logEvery (and whenever the ceiling is
// reached again), how the rate moved since the last line: several cuts and raises may lie
// between two lines, and the line says where they led.
func (p *pacer) set(r float64, now time.Time) {
	p.current = r
	p.lim.SetLimit(rate.Limit(r))
	if r == p.logged || now.Sub(p.lastLog) < logEvery && r < p.ceiling {
		return
	}
	why := "rate raised"
	if r < p.logged {
		why = "throttled: rate lowered"
	}
	p.log.Info(why, zap.Float64("rate", math.Round(r*10)/10), zap.Float64("was", math.Round(p.logged*10)/10), zap.Float64("ceiling", p.ceiling))
	p.lastLog, p.logged = now, r
}
