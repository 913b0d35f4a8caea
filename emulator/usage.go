package emulator

import (
	"sync"
	"time"
)

// usageMinutes is how many minutes of usage the emulator keeps: three hours, enough for any
// window a pacer reads, in a few kilobytes.
const usageMinutes = 180

// usage counts, per minute of the emulator's clock and per quota category, the calls the
// account made and those throttled, as CloudWatch's AWS/Usage CallCount and ThrottleCount
// do: bulklink's calls and the simulated application's alike. It keeps the last
// usageMinutes minutes in a ring.
type usage struct {
	mu      sync.Mutex
	minutes [usageMinutes]minuteUsage
}

// minuteUsage are the counts of one minute.
type minuteUsage struct {
	minute    int64 // since the epoch; the slot is empty if it is not the one asked for
	calls     [numClasses]int64
	throttles [numClasses]int64
}

func minuteOf(t time.Time) int64 { return t.Unix() / 60 }

// record counts a call of class c at now.
func (u *usage) record(c class, throttled bool, now time.Time) {
	m := minuteOf(now)
	u.mu.Lock()
	defer u.mu.Unlock()
	slot := &u.minutes[m%usageMinutes]
	if slot.minute != m {
		*slot = minuteUsage{minute: m}
	}
	slot.calls[c]++
	if throttled {
		slot.throttles[c]++
	}
}

// at returns the counts of class c in the minute that starts at t, and whether it is still
// kept (a minute without calls is kept with zero counts).
func (u *usage) at(c class, t time.Time) (calls, throttles int64) {
	m := minuteOf(t)
	u.mu.Lock()
	defer u.mu.Unlock()
	slot := &u.minutes[m%usageMinutes]
	if slot.minute != m {
		return 0, 0
	}
	return slot.calls[c], slot.throttles[c]
}
