package pace

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// DefaultUserRate is Cognito's limit of write calls per second to any one user.
const DefaultUserRate = 10

// Users keeps the write calls to any one user under Cognito's per-user limit: a token
// bucket per user, spaced 1/limit apart. Buckets of users not written to lately are
// dropped, so memory follows the users of the last second, not the input.
type Users struct {
	limit rate.Limit
	now   func() time.Time

	mu    sync.Mutex
	users map[string]*rate.Limiter
	swept time.Time
}

// NewUsers returns a Users that spaces the writes to each user perSecond a second, on the
// clock now. With perSecond <= 0 there is no per-user limit: it returns nil, which never
// waits.
func NewUsers(perSecond float64, now func() time.Time) *Users {
	if perSecond <= 0 {
		return nil
	}
	return &Users{limit: rate.Limit(perSecond), now: now, users: map[string]*rate.Limiter{}}
}

// Wait blocks until a write call to user may be sent. A nil Users never blocks.
//
// The call's slot is reserved under the lock: a bucket is swept only once it is full again,
// and a reservation empties it, so no sweep can drop a bucket between a reservation and its
// wait and let a second bucket for the same user send unspaced.
func (u *Users) Wait(ctx context.Context, user string) error {
	if u == nil {
		return nil
	}
	u.mu.Lock()
	now := u.now()
	if now.Sub(u.swept) >= time.Second {
		u.swept = now
		for k, l := range u.users {
			if l.TokensAt(now) >= 1 { // idle for a whole interval: nobody is waiting on it
				delete(u.users, k)
			}
		}
	}
	l := u.users[user]
	if l == nil {
		l = rate.NewLimiter(u.limit, 1)
		u.users[user] = l
	}
	r := l.ReserveN(now, 1)
	u.mu.Unlock()
	delay := r.DelayFrom(now)
	if delay == 0 {
		return nil
	}
	if err := Sleep(ctx, delay); err != nil {
		r.CancelAt(u.now())
		return err
	}
	return nil
}

// size is how many users have a bucket.
func (u *Users) size() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.users)
}

// Sleep waits d unless ctx ends first, and then says why.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
