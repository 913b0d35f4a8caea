package emulator

import (
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// class is the quota category of an operation (docs/emulator.md, Cognito's behaviour).
type class int

const (
	classWrite        class = iota // UserUpdate: link, unlink, delete users, sign out, add to groups
	classRead                      // UserRead: AdminGetUser
	classList                      // UserList: ListUsers
	classAdmin                     // pools and identity providers: create, describe, list
	classResourceRead              // UserResourceRead: AdminListGroupsForUser
	classCreate                    // UserCreation: AdminCreateUser
	numClasses
)

// quotas throttle calls the way Cognito's account quotas do: a token bucket per category for
// the whole emulator, and one per user for writes. Each bucket holds one second's worth of
// calls (at least one) and refills at the quota's rate: an idle client may burst up to a
// second's quota at once, and a steady rate above the quota is cut down to it. A quota of 0
// is unlimited.
//
// quotas are replaced, not changed, when the options change, so they need no lock of their own
// beyond the limiters'.
type quotas struct {
	class   [numClasses]*rate.Limiter
	perUser *userBuckets
}

func newQuotas(opt *Options) *quotas {
	q := &quotas{perUser: newUserBuckets(opt.PerUserWriteQuota)}
	for c, perSecond := range [numClasses]float64{
		classWrite:        opt.WriteQuota,
		classRead:         opt.ReadQuota,
		classList:         opt.ListQuota,
		classAdmin:        opt.AdminQuota,
		classResourceRead: opt.ResourceReadQuota,
		classCreate:       opt.CreateQuota,
	} {
		q.class[c] = rate.NewLimiter(bucket(perSecond, opt.QuotaBurst))
	}
	return q
}

// bucket returns the limit and burst of a token bucket for a quota in calls per second,
// holding holds' worth of calls (0: a second's), at least one.
func bucket(perSecond float64, holds time.Duration) (rate.Limit, int) {
	if perSecond == 0 {
		return rate.Inf, 0
	}
	if holds <= 0 {
		holds = time.Second
	}
	return rate.Limit(perSecond), max(1, int(math.Ceil(perSecond*holds.Seconds())))
}

var errThrottled = &apiError{codeTooManyRequests, msgRateExceeded}

// admit takes a token for a call of class c, or answers TooManyRequestsException.
func (q *quotas) admit(c class, now time.Time) error {
	if !q.class[c].AllowN(now, 1) {
		return errThrottled
	}
	return nil
}

// admitUser takes a token for a write to one user, or answers TooManyRequestsException.
func (q *quotas) admitUser(poolID, username string, now time.Time) error {
	if !q.perUser.allow(poolID+"\x00"+username, now) {
		return errThrottled
	}
	return nil
}

// userBuckets are the per-user token buckets. A user's bucket is made on its first write and
// dropped once it is full again — when it is no different from a new one — so memory follows
// the users written in the last second or so, not all users ever written.
type userBuckets struct {
	limit rate.Limit
	burst int
	// refill is how long an emptied bucket takes to fill up: how often full ones are swept.
	refill time.Duration

	mu      sync.Mutex
	buckets map[string]*rate.Limiter
	swept   time.Time
}

func newUserBuckets(perSecond float64) *userBuckets {
	limit, burst := bucket(perSecond, 0)
	b := &userBuckets{limit: limit, burst: burst, buckets: make(map[string]*rate.Limiter)}
	if limit != rate.Inf {
		b.refill = time.Duration(float64(burst) / float64(limit) * float64(time.Second))
	}
	return b
}

func (b *userBuckets) allow(key string, now time.Time) bool {
	if b.limit == rate.Inf {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if now.Sub(b.swept) >= b.refill {
		for k, l := range b.buckets {
			if l.TokensAt(now) >= float64(b.burst) {
				delete(b.buckets, k)
			}
		}
		b.swept = now
	}
	l, ok := b.buckets[key]
	if !ok {
		l = rate.NewLimiter(b.limit, b.burst)
		b.buckets[key] = l
	}
	return l.AllowN(now, 1)
}

// fault is what goes wrong with a write call.
type fault int

const (
	noFault       fault = iota
	fault5xx            // answer InternalErrorException, do not apply
	fault5xxAfter       // apply, then answer InternalErrorException
	faultDrop           // close the connection, do not apply
	faultLost           // apply, then close the connection without answering
)

// dice rolls the faults of write calls. One roll per call decides among the four faults, so
// each happens with exactly its configured probability and a call suffers at most one.
type dice struct {
	mu   sync.Mutex
	rand *rand.Rand
}

// seed starts a new sequence of rolls; 0 picks a random seed.
func (d *dice) seed(seed int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if seed == 0 {
		d.rand = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
		return
	}
	d.rand = rand.New(rand.NewPCG(uint64(seed), 0))
}

func (d *dice) roll(opt *Options) fault {
	if opt.faultSum() == 0 {
		return noFault
	}
	d.mu.Lock()
	x := d.rand.Float64()
	d.mu.Unlock()
	// The order keeps the rolls of the first three faults what they were before
	// Fault5xxAfter: a seed gives the same faults as it did.
	for _, f := range []struct {
		p     float64
		fault fault
	}{{opt.Fault5xx, fault5xx}, {opt.FaultDrop, faultDrop}, {opt.FaultLost, faultLost}, {opt.Fault5xxAfter, fault5xxAfter}} {
		if x < f.p {
			return f.fault
		}
		x -= f.p
	}
	return noFault
}
