package pace

import (
	"math"
	"time"
)

// The estimator's constants. The design they serve, the measurements behind them and the
// search that chose them are in docs/pacing.md.
const (
	firstCut      = 0.4                     // first throttle: land at this share of the calls accepted in the last second
	discoverCut   = 0.5                     // each further round of discovery lands at half
	discoverShare = 0.25                    // discovery waits at this share of the landing...
	discoverQuiet = 250 * time.Millisecond  // ...for this long (and two round trips) without a throttle
	rampShare     = 0.25                    // the ramp grows the rate by this share per second
	minSample     = 2 * time.Second         // shorter empty-to-empty intervals are no sample
	sampleSpan    = 60 * time.Second        // samples cover at most this much (the history holds 64 s)
	poolMemory    = 2 * time.Minute         // pooled samples fade with this time constant
	pauseTime     = 1150 * time.Millisecond // after a throttle, pause (the floor rate) for this long,
	settleShare   = 0.985                   // then cruise at this share of the estimate;
	freshSettle   = 1.01                    // the first cruise after a ramp, on one short sample, at this share
	trustTime     = 20 * time.Second        // a throttle this soon after settling: the estimate was high
	trimShare     = 0.985                   // a later one: trim the estimate
	recurWindow   = 3 * time.Second         // a throttle this soon after the pause: rediscover
	probeAfter    = 90 * time.Second        // quiet time before probing...
	probeShare    = 0.002                   // ...then the estimate grows by this share per second
	probeBackoff  = 8                       // a probe that finds nothing doubles the wait, up to this many times probeAfter
	doubtSpan     = 30 * time.Second        // pooled samples shorter than this...
	probeDoubt    = 2.0                     // ...probe up to this many times sooner and faster
	pairEvery     = 5                       // one send in this many follows the previous one at once
	catchUp       = 10 * time.Millisecond   // a waiter woken this late still sends at the rate (the bucket's depth)
	coolCalls     = 2                       // a reaction holds for a round trip and this many calls at the new rate
	logEvery      = 5 * time.Second         // rate changes are logged at most this often
)

type phase int

func (ph phase) String() string {
	return [...]string{"start", "discover", "ramp", "pause", "cruise"}[ph]
}

const (
	phaseStart    phase = iota // at the ceiling, no throttle yet
	phaseDiscover              // throttled, no estimate: waiting under the landing
	phaseRamp                  // rising from the landing to the next throttle
	phasePause                 // refilling the bucket after a throttle
	phaseCruise                // settled under the estimate, probing when quiet
)

// Estimator decides the rate to send at under a quota shared with other callers: it finds
// the spare share of the quota and stays just under it, never above the ceiling
// (docs/pacing.md). It is a function of what it is told and nothing else: the answers to the
// calls (Throttled, Succeeded, with their send times) and the time, which every method
// takes. It holds no lock, no timer and no clock; Adaptive is the gate that makes callers
// wait at its rate.
type Estimator struct {
	ceiling float64 // +Inf: unlimited, no pacing
	floor   float64
	current float64

	phase     phase
	phaseAt   time.Time
	cutAt     time.Time // the last reaction to a throttle
	pauseEnd  time.Time // the end of the latest pause
	lastEmpty time.Time // send time of the latest throttled call
	lastTick  time.Time // the last answer, for growth per elapsed time
	rtt       time.Duration
	hist      history

	land      float64 // discovery's landing: the ramp starts there
	spare     float64 // the estimate of the spare, calls/s; 0 until a ramp ends
	poolN     float64 // pooled samples: accepted calls...
	poolT     float64 // ...over seconds
	fresh     bool    // the estimate is the ramp's sample alone
	probing   bool
	preProbe  float64
	probeWait time.Duration
}

// NewEstimator returns an Estimator that starts at ceiling (≤ 0 or +Inf: unlimited).
func NewEstimator(ceiling float64, now time.Time) *Estimator {
	e := &Estimator{ceiling: math.Inf(1), current: math.Inf(1), probeWait: probeAfter}
	e.SetCeiling(ceiling, now)
	return e
}

// Rate is the rate to send at, calls per second (+Inf when unlimited).
func (e *Estimator) Rate() float64 { return e.current }

// Ceiling is the highest rate it may use (+Inf when unlimited).
func (e *Estimator) Ceiling() float64 { return e.ceiling }

// Spare is its estimate of the spare share of the quota, calls per second; 0 before it has
// one.
func (e *Estimator) Spare() float64 { return e.spare }

// Settling reports whether it is in one of the short phases after a throttle (discovery,
// the pause), whose rate is a floor for a second rather than a rate to report.
func (e *Estimator) Settling() bool { return e.phase == phasePause || e.phase == phaseDiscover }

// Pairs reports whether sends may go in pairs now (docs/pacing.md, Pairs): while it cruises
// or ramps.
func (e *Estimator) Pairs() bool { return e.phase == phaseCruise || e.phase == phaseRamp }

// Phase names the phase it is in, for logs.
func (e *Estimator) Phase() string { return e.phase.String() }

// SetCeiling sets the highest rate the pacer may use; ≤ 0 or +Inf removes pacing. The
// pacer keeps what it learned: a lower ceiling caps the rate at once, and a higher one lets
// it rise to the estimate of the spare, or to the new ceiling if it never found the spare
// under the old one. A raised ceiling is taken as news of more room: probing starts now.
func (e *Estimator) SetCeiling(c float64, now time.Time) {
	if c <= 0 || math.IsInf(c, 1) {
		e.ceiling, e.floor, e.current = math.Inf(1), 0, math.Inf(1)
		return
	}
	old := e.ceiling
	e.ceiling, e.floor = c, math.Min(1, c)
	switch {
	case math.IsInf(old, 1) || e.phase == phaseStart:
		e.phase = phaseStart
		e.set(c, now)
	case e.phase == phaseCruise && c > old:
		e.startProbe(now)
		e.set(e.spare*settleShare, now)
	default:
		e.set(e.current, now)
	}
}

// Throttled records a TooManyRequestsException, answered at now to a call sent at sent. It
// reports whether the estimator reacted (the first throttle of an episode), and the sample
// the reaction took, calls per second (0: none).
func (e *Estimator) Throttled(now, sent time.Time) (reacted bool, sample float64) {
	if math.IsInf(e.ceiling, 1) {
		return false, 0 // unlimited: the backoff alone slows the row down
	}
	e.seen(now, sent)
	e.Advance(now)
	prev := e.lastEmpty
	if sent.After(e.lastEmpty) {
		e.lastEmpty = sent
	}
	// Calls sent before the last reaction took effect met the bucket it answered, and so did
	// the few sent in the pause that followed it, however late their answers come: the same
	// episode.
	if sent.Before(e.cutAt.Add(e.cooldown())) || sent.Before(e.pauseEnd) {
		return false, 0
	}
	e.cutAt = now
	n, secs := e.sample(prev, sent)
	switch {
	case e.phase == phaseStart:
		last := e.hist.count(sent.Add(-time.Second), sent)
		if last < 1 { // the bucket was empty when the run started: nothing to go on
			last = e.current
		}
		e.discover(math.Min(e.current, last)*firstCut, now)
	case e.phase == phaseDiscover || (e.phase == phaseRamp && secs == 0):
		e.discover(e.land*discoverCut, now)
	case e.phase == phaseCruise && now.Sub(e.phaseAt) < recurWindow:
		e.discover(e.current*discoverCut, now) // the spare fell well under the estimate
	case e.phase == phaseRamp:
		e.poolN, e.poolT = 0, 0
		e.pool(n, secs)
		e.fresh = true
		e.pause(now)
	case e.probing:
		if n > e.preProbe*1.01*secs {
			e.probeWait = probeAfter
		} else {
			e.probeWait = min(2*e.probeWait, probeBackoff*probeAfter)
		}
		e.scale(math.Max(e.preProbe, n/math.Max(secs, 1e-9)) / e.spare)
		e.pause(now)
	case now.Sub(e.phaseAt) < trustTime && secs > 0:
		e.pool(n, secs)
		e.pause(now)
	default:
		e.scale(trimShare)
		e.pause(now)
	}
	if secs > 0 {
		sample = n / secs
	}
	return true, sample
}

// Succeeded records a call the quota let through (whatever Cognito answered), answered at now
// and sent at sent.
func (e *Estimator) Succeeded(now, sent time.Time) {
	if math.IsInf(e.ceiling, 1) {
		return
	}
	e.seen(now, sent)
	e.hist.add(sent)
	dt := math.Min(1, now.Sub(e.lastTick).Seconds()) // growth stalls when answers stop
	e.lastTick = now
	if e.Advance(now) {
		dt = 0
	}
	switch e.phase {
	case phaseRamp:
		e.set(e.current*(1+rampShare*dt), now) // held at the ceiling if the edge is over it
	case phaseCruise:
		// An estimate resting on a few seconds of samples is probed sooner and faster, one
		// resting on minutes later.
		doubt := math.Min(probeDoubt, math.Sqrt(doubtSpan.Seconds()/math.Max(e.poolT, 1e-9)))
		if !e.probing && now.Sub(e.phaseAt) >= time.Duration(float64(e.probeWait)/doubt) {
			e.startProbe(now)
		}
		if e.probing && e.spare*settleShare < e.ceiling {
			e.scale(1 + probeShare*math.Max(1, doubt)*dt)
			e.set(e.spare*settleShare, now)
		}
	}
}

// Advance ends the phases that end with time: discovery once quiet, the pause. It reports
// whether the phase changed.
func (e *Estimator) Advance(now time.Time) bool {
	due := e.Due()
	if due.IsZero() || now.Before(due) {
		return false
	}
	switch e.phase {
	case phaseDiscover:
		e.enter(phaseRamp, now)
		e.set(e.land, now)
	case phasePause:
		e.enter(phaseCruise, now)
		share := settleShare
		if e.fresh {
			share, e.fresh = freshSettle, false
		}
		e.set(e.spare*share, now)
	}
	return true
}

// Due is when the current phase ends with time, or zero when it ends otherwise, or when
// pacing is off (unlimited: no phases).
func (e *Estimator) Due() time.Time {
	if math.IsInf(e.ceiling, 1) {
		return time.Time{}
	}
	switch e.phase {
	case phaseDiscover:
		return e.cutAt.Add(max(discoverQuiet, 2*e.rtt+time.Duration(coolCalls/e.land*float64(time.Second))))
	case phasePause:
		return e.pauseEnd
	}
	return time.Time{}
}

// discover lands under the spare at land, waiting lower still while the bucket refills.
func (e *Estimator) discover(land float64, now time.Time) {
	e.land = math.Max(e.floor, land)
	e.spare, e.poolN, e.poolT, e.fresh = 0, 0, 0, false
	e.enter(phaseDiscover, now)
	e.set(e.land*discoverShare, now)
}

// pause lets the bucket refill after a throttle, then cruises.
func (e *Estimator) pause(now time.Time) {
	e.enter(phasePause, now)
	e.pauseEnd = now.Add(pauseTime)
	e.set(e.floor, now)
}

func (e *Estimator) enter(ph phase, now time.Time) {
	e.phase, e.phaseAt, e.probing = ph, now, false
}

func (e *Estimator) startProbe(now time.Time) {
	e.probing, e.preProbe, e.lastTick = true, e.spare, now
}

// sample returns the calls accepted between two empty buckets, at from and to, and the
// seconds between them; 0, 0 when the interval is too short to tell the spare.
func (e *Estimator) sample(from, to time.Time) (n, secs float64) {
	if from.IsZero() {
		return 0, 0
	}
	if from.Before(to.Add(-sampleSpan)) {
		from = to.Add(-sampleSpan)
	}
	if to.Sub(from) < minSample {
		return 0, 0
	}
	return e.hist.count(from, to), to.Sub(from).Seconds()
}

// pool adds a sample to the pooled estimate, older samples fading.
func (e *Estimator) pool(n, secs float64) {
	keep := math.Exp(-secs / poolMemory.Seconds())
	e.poolN = e.poolN*keep + n
	e.poolT = e.poolT*keep + secs
	e.spare = e.poolN / e.poolT
}

// scale changes the estimate by f, and the pool with it.
func (e *Estimator) scale(f float64) {
	e.spare *= f
	e.poolN *= f
}

// seen updates the round-trip time from an answer to a call sent at sent.
func (e *Estimator) seen(now, sent time.Time) {
	d := now.Sub(sent)
	if e.rtt == 0 {
		e.rtt = d
	}
	e.rtt += (d - e.rtt) / 8
}

// cooldown is how long after a reaction calls are still sent into the same episode.
func (e *Estimator) cooldown() time.Duration {
	return e.rtt + time.Duration(coolCalls/e.current*float64(time.Second))
}

// set changes the rate to r, within the floor and the ceiling.
func (e *Estimator) set(r float64, _ time.Time) {
	e.current = math.Max(e.floor, math.Min(e.ceiling, r))
}

// history counts accepted calls by send time, in bins of histBin over the last histBins.
type history struct {
	bins   [histBins]int32
	newest int64 // index of the newest bin; bins older than histBins are gone
}

const (
	histBin  = 125 * time.Millisecond
	histBins = 512 // 64 s
)

func (h *history) add(t time.Time) {
	b := t.UnixNano() / int64(histBin)
	if b > h.newest {
		for i := max(h.newest+1, b-histBins+1); i <= b; i++ {
			h.bins[i%histBins] = 0
		}
		h.newest = b
	}
	if b > h.newest-histBins {
		h.bins[b%histBins]++
	}
}

// count is the number of calls sent in [from, to), the bins at either end prorated.
func (h *history) count(from, to time.Time) float64 {
	f := float64(from.UnixNano()) / float64(histBin)
	t := float64(to.UnixNano()) / float64(histBin)
	f = math.Max(f, float64(h.newest-histBins+1))
	t = math.Min(t, float64(h.newest+1))
	n := 0.0
	for b := int64(math.Floor(f)); float64(b) < t; b++ {
		if w := math.Min(float64(b+1), t) - math.Max(float64(b), f); w > 0 {
			n += w * float64(h.bins[b%histBins])
		}
	}
	return n
}
