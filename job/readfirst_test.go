package job_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/bulklink/bulklink/emulator"
	"github.com/bulklink/bulklink/job"
)

// Reading first (--read-first), in process: each run is runShared's (share_test.go), the real
// job.Run through the real SDK client against the emulator on a fake clock, with a pool whose
// users are linked already where the file says so.

// linkedExcept is the linked function of a scenario whose new rows are those of isNew.
func linkedExcept(isNew []bool) func(int) bool { return func(i int) bool { return !isNew[i] } }

// nightlyApp is the application's writes per second beside the runs: as in the sharing
// scenarios, 10/s into the quota of 25/s, which leaves more than the default --rate 10.
const nightlyApp = 10

// nightly is a run of rows rows at --rate 10 against the emulator's default quotas (25
// writes/s, 120 AdminGetUser/s, 10 writes/s per user) and 30 ms latency, beside the
// application's writes; linked says which rows are linked already.
func nightly(rows int, linked func(int) bool, mode job.ReadMode, readRate float64) shareScenario {
	d := emulator.Defaults()
	return shareScenario{name: fmt.Sprintf("%s --read-rate %g", mode, readRate), quota: d.WriteQuota, emu: d, app: nightlyApp,
		latency: 30 * time.Millisecond, ceiling: job.DefaultRate, readRate: readRate, rows: rows, mode: mode, linked: linked}
}

// TestReadFirstAutoWeighsTheRates: auto reads first once the share of recent rows already
// linked passes the break-even of the rates (WriteRate/(WriteRate+ReadRate)) by the margin,
// and writes first again once it falls under it by the margin. A file of 200 new rows, 300
// linked and 200 new: the linked rows it writes before it reads first (each a write the
// application's quota pays for, where read first it costs none), and the new rows it reads
// before it writes first again (each a read it need not have made). A first migration,
// nothing linked, reads nothing first, whatever the rates.
func TestReadFirstAutoWeighsTheRates(t *testing.T) {
	isNew := make([]bool, 700)
	for i := range isNew {
		isNew[i] = i < 200 || i >= 500
	}
	for _, tc := range []struct {
		readRate, rate float64
		on, off        int // rows of a window of 100 that switch: linked ones to read first, new ones to write first
	}{
		{20, 10, 44, 77}, // the defaults: a write takes two reads' time, break-even 1/3
		{60, 10, 25, 96}, // break-even 1/7
		{20, 20, 60, 61}, // alike, break-even 1/2
		{0, 0, 60, 61},   // both unpaced: alike
	} {
		t.Run(fmt.Sprintf("--read-rate %g --rate %g", tc.readRate, tc.rate), func(t *testing.T) {
			t.Parallel()
			sc := nightly(len(isNew), linkedExcept(isNew), job.ReadAuto, tc.readRate)
			sc.ceiling, sc.app = tc.rate, 0
			if tc.rate == 0 { // unpaced writes: no quota either, or throttled rows would fail
				sc.quota, sc.emu.ReadQuota = 0, 0
			}
			got := runShared(t, sc, 1)
			if got.failed > 0 || got.wrong > 0 {
				t.Fatalf("%d rows failed, %d with the wrong status", got.failed, got.wrong)
			}
			// Every new row is written once; a linked row written first is read after to settle
			// it. Rows started before a switch are sent the old way: up to the concurrency more.
			linkedWritten := got.calls - 400
			newRead := got.readFirst - (300 - linkedWritten)
			conc := int64(job.DefaultConcurrency)
			if linkedWritten < int64(tc.on) || linkedWritten > int64(tc.on)+conc {
				t.Errorf("%d linked rows written before auto read first, want %d to %d", linkedWritten, tc.on, int64(tc.on)+conc)
			}
			if newRead < int64(tc.off) || newRead > int64(tc.off)+conc {
				t.Errorf("%d new rows read first before auto wrote first again, want %d to %d", newRead, tc.off, int64(tc.off)+conc)
			}
			first := sc
			first.linked = nil
			if got := runShared(t, first, 1); got.readFirst != 0 || got.reads != 0 {
				t.Errorf("first migration: %d rows read first, %d reads; want none", got.readFirst, got.reads)
			}
		})
	}
}
