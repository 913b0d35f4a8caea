package call

import "time"

// Backoff spaces out a row's retries: exponential growth with full jitter, so that workers
// throttled together do not come back together.
type Backoff struct {
	Base time.Duration // the ceiling of the first wait
	Max  time.Duration // no wait is longer
}

// DefaultBackoff starts under a second and caps at 20 s, like the SDK's standard retryer.
var DefaultBackoff = Backoff{Base: 250 * time.Millisecond, Max: 20 * time.Second}

// Delay returns the wait after the n-th failed attempt (n ≥ 1): a uniformly random duration
// in [0, min(Max, Base·2^(n-1))). u is a uniform sample in [0,1).
func (b Backoff) Delay(n int, u float64) time.Duration {
	ceil := b.Max
	if n < 1 {
		n = 1
	}
	if shift := n - 1; shift < 62 && b.Base <= b.Max>>shift {
		ceil = b.Base << shift
	}
	return time.Duration(u * float64(ceil))
}
