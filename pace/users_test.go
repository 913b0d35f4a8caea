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

func TestUserPacerNilNeverWaits(t *testing.T) {
	var u *Users = NewUsers(0, time.Now)
	if err := u.Wait(context.Background(), "x"); err != nil {
		t.Fatal(err)
	}
}

// TestUserPacerSweepSparesReservedBuckets checks the order that keeps two buckets from ever
// serving one user: the slot is reserved under the lock, so a bucket with a pending slot is
// not full and no sweep drops it. Sweeps run between every pair of calls here.
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
