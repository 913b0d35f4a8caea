package pace

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func TestUserPacerSpacesWritesToOneUser(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := NewUsers(10, time.Now)
		start := time.Now()
		var mu sync.Mutex
		var sent []time.Duration
		var wg sync.WaitGroup
		for range 30 {
			wg.Go(func() {
				if err := u.Wait(context.Background(), "pool/alice"); err != nil {
					t.Error(err)
				}
				mu.Lock()
				sent = append(sent, time.Since(start))
				mu.Unlock()
			})
		}
		// Another user is not held up by alice's queue.
		if err := u.Wait(context.Background(), "pool/bob"); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("bob waited %v behind alice, want 0", d)
		}
		wg.Wait()
		// 30 writes at 10/s: the last leaves 2.9s after the first.
		last := time.Duration(0)
		for _, d := range sent {
			last = max(last, d)
		}
		if want := 2900 * time.Millisecond; last != want {
			t.Errorf("last write to alice at %v, want %v", last, want)
		}
		// Within any second, at most 10 writes.
		for _, a := range sent {
			n := 0
			for _, b := range sent {
				if b >= a && b < a+time.Second {
					n++
				}
			}
			if n > 10 {
				t.Fatalf("%d writes within a second from %v, want at most 10", n, a)
			}
		}
	})
}

func TestUserPacerForgetsIdleUsers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := NewUsers(10, time.Now)
		for i := range 1000 {
			if err := u.Wait(context.Background(), fmt.Sprint(i)); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(2 * time.Second)
		u.Wait(context.Background(), "new")
		if n := u.size(); n != 1 {
			t.Errorf("%d users kept after 2s idle, want 1", n)
		}
	})
}

// TestUserPacerNilNeverWaits: a rate of 0 or less is no per-user limit, a nil Users, whose
// Wait returns at once however often one user is written to, even on a cancelled context.
func TestUserPacerNilNeverWaits(t *testing.T) {
	for _, perSecond := range []float64{0, -1} {
		if u := NewUsers(perSecond, time.Now); u != nil {
			t.Errorf("NewUsers(%v) = %p, want nil: no per-user limit", perSecond, u)
		}
	}
	synctest.Test(t, func(t *testing.T) {
		var u *Users
		cancelled, cancel := context.WithCancel(context.Background())
		cancel()
		start := time.Now()
		for i := range 100 {
			ctx := context.Background()
			if i%2 == 1 {
				ctx = cancelled
			}
			if err := u.Wait(ctx, "pool/alice"); err != nil {
				t.Fatalf("write %d: %v, want nil", i, err)
			}
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("100 writes to one user through a nil Users took %v, want 0", d)
		}
	})
}

// TestUserPacerSweepSparesReservedBuckets: a bucket with a pending slot is not full, and no
// sweep drops it, so a second bucket never serves the same user unspaced. Sweeps run between
// every pair of calls here. (That the slot is reserved under the lock, which keeps a sweep
// from coming between the lookup and the reservation, no test here can show: the window is
// a few instructions wide.)
func TestUserPacerSweepSparesReservedBuckets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := NewUsers(10, time.Now)
		start := time.Now()
		var mu sync.Mutex
		var sent []time.Duration
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() {
				time.Sleep(time.Duration(i) * 40 * time.Millisecond)
				u.mu.Lock()
				u.swept = time.Time{} // the next call sweeps
				u.mu.Unlock()
				u.Wait(context.Background(), fmt.Sprintf("pool/other%d", i))
				if err := u.Wait(context.Background(), "pool/alice"); err != nil {
					t.Error(err)
				}
				mu.Lock()
				sent = append(sent, time.Since(start))
				mu.Unlock()
			})
		}
		wg.Wait()
		slices.Sort(sent)
		for i := 1; i < len(sent); i++ {
			if gap := sent[i] - sent[i-1]; gap < 100*time.Millisecond-time.Microsecond {
				t.Fatalf("writes to alice at %v and %v: %v apart, want at least 100ms", sent[i-1], sent[i], gap)
			}
		}
	})
}
