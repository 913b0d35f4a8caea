package job

import "sync"

// breaker trips when many rows in a row run out of retries on transient failures
// (timeouts, connection errors, 5xx, throttling): Cognito is unreachable or saturated, and
// going on would only fail the rest of the input, row after row. A row that gets any real
// answer from Cognito closes it again.
type breaker struct {
	limit int
	mu    sync.Mutex
	run   int // rows in a row that ran out of retries
}

// exhausted records a row that ran out of retries and reports whether the breaker trips.
func (b *breaker) exhausted() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.run++
	return b.run >= b.limit
}

// answered records a row that Cognito answered.
func (b *breaker) answered() {
	b.mu.Lock()
	b.run = 0
	b.mu.Unlock()
}
