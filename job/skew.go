package job

import (
	"net/http"
	"sync"
	"time"
)

// MaxSkew is how far Cognito's clock is assumed to be from this machine's before any answer
// has said so.
const MaxSkew = 5 * time.Second

// Skew estimates the offset of Cognito's clock from this machine's, from the Date header of
// its answers. A Date has whole seconds: the server's time when it answered lies in
// [Date, Date+1s), and the local time of that moment in [sent, received]; each answer bounds
// the offset, and Skew keeps the tightest bounds of all. It is safe for concurrent use.
type Skew struct {
	mu     sync.Mutex
	lo, hi time.Duration // the offset lies in [lo, hi]
	seen   bool
}

// Observe takes in one answer: its Date header, and when its request was sent and its
// answer received, on this machine's clock.
func (s *Skew) Observe(date, sent, received time.Time) {
	lo, hi := date.Sub(received), date.Add(time.Second).Sub(sent)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.seen {
		s.lo, s.hi, s.seen = lo, hi, true
		return
	}
	s.lo, s.hi = max(s.lo, lo), min(s.hi, hi)
	if s.lo > s.hi { // the clock moved: start again from this answer
		s.lo, s.hi = lo, hi
	}
}

// Bounds returns the range the offset (Cognito's time less this machine's) lies in.
func (s *Skew) Bounds() (lo, hi time.Duration) {
	if s == nil {
		return -MaxSkew, MaxSkew
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.seen {
		return -MaxSkew, MaxSkew
	}
	return s.lo, s.hi
}

// Observing wraps an HTTP client so that every answer's Date header feeds s: hand it to the
// SDK's configuration as its HTTP client.
func (s *Skew) Observing(c HTTPClient) HTTPClient { return &skewClient{c, s} }

// HTTPClient is the SDK's HTTP client interface (aws.HTTPClient).
type HTTPClient interface {
	Do(*http.Request) (*http.Response, error)
}

type skewClient struct {
	HTTPClient
	s *Skew
}

func (c *skewClient) Do(r *http.Request) (*http.Response, error) {
	sent := time.Now()
	resp, err := c.HTTPClient.Do(r)
	if err == nil {
		if d, perr := http.ParseTime(resp.Header.Get("Date")); perr == nil {
			c.s.Observe(d, sent, time.Now())
		}
	}
	return resp, err
}

// since is the earliest time, on Cognito's clock, that a call of this report could have been
// made: the report's start, moved by the lowest offset the answers allow.
func (j *Job) since() time.Time {
	if j.cfg.Since.IsZero() {
		return time.Time{}
	}
	lo, _ := j.cfg.Skew.Bounds()
	return j.cfg.Since.Add(lo).Add(-time.Millisecond) // dateCreated is in whole milliseconds
}
