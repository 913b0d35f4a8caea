package job

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
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

// Offset is the best estimate of the offset: the middle of Bounds.
func (s *Skew) Offset() time.Duration {
	lo, hi := s.Bounds()
	return (lo + hi) / 2
}

// Middleware adds to an SDK client's stack the step that feeds s with every answer's Date
// header: pass it in the client's APIOptions. It sits next to the transport, so that the
// times it takes are the request's and the answer's.
func (s *Skew) Middleware(stack *middleware.Stack) error {
	return stack.Deserialize.Add(middleware.DeserializeMiddlewareFunc("bulklink/ClockSkew",
		func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
			sent := time.Now()
			out, md, err := next.HandleDeserialize(ctx, in)
			if resp, ok := out.RawResponse.(*smithyhttp.Response); ok && resp != nil {
				if d, perr := http.ParseTime(resp.Header.Get("Date")); perr == nil {
					s.Observe(d, sent, time.Now())
				}
			}
			return out, md, err
		}), middleware.After)
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
