package emulator_test

import (
	"encoding/json"
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bulklink/bulklink/emulator"
)

func TestParseSchedule(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want emulator.Schedule
		err  string // in the error, if any
	}{
		{in: "", want: nil},
		{in: "0s:5", want: emulator.Schedule{{At: 0, Rate: 5}}},
		{in: "0s:5,30s:15, 2m:60/10s", want: emulator.Schedule{{At: 0, Rate: 5}, {At: 30 * time.Second, Rate: 15}, {At: 2 * time.Minute, Rate: 60, For: 10 * time.Second}}},
		{in: "1m30s:0.5", want: emulator.Schedule{{At: 90 * time.Second, Rate: 0.5}}},
		{in: "30s", err: "want AT:RATE"},
		{in: "soon:5", err: "time"},
		{in: "0s:fast", err: "not a number"},
		{in: "0s:-1", err: "0 or more"},
		{in: "0s:Inf", err: "0 or more"},
		{in: "0s:NaN", err: "0 or more"},
		{in: "0s:5/", err: "positive duration"},
		{in: "0s:5/0s", err: "positive duration"},
		{in: "-1s:5", err: "before the start"},
		{in: "30s:5,10s:1", err: "not after the change before it"},
		{in: "10s:5,10s:1", err: "not after the change before it"},
	} {
		got, err := emulator.ParseSchedule(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: got %v, %v; want an error with %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%q: got %v, %v; want %v", tc.in, got, err, tc.want)
			continue
		}
		if again, err := emulator.ParseSchedule(got.String()); err != nil || !slices.Equal(again, got) {
			t.Errorf("%q: String() %q reads back as %v, %v", tc.in, got.String(), again, err)
		}
	}
}

// trafficRun runs an emulator's background traffic on a clock that moves only in the test,
// step by step, for the given duration, and returns the number of calls in each step.
func trafficRun(t *testing.T, opt emulator.Options, step, total time.Duration) (*emulator.Server, []int64) {
	t.Helper()
	clk := newClock()
	srv := emulator.NewServerAt(opt, clk.now)
	t.Cleanup(srv.Close)
	var counts []int64
	last := int64(0)
	for elapsed := time.Duration(0); elapsed < total; elapsed += step {
		clk.advance(step)
		srv.AdvanceTraffic()
		n := srv.Background().Calls
		counts = append(counts, n-last)
		last = n
	}
	return srv, counts
}

func sum(xs []int64) int64 {
	var s int64
	for _, x := range xs {
		s += x
	}
	return s
}

// TestBackgroundPoisson checks that the background calls come at the configured rate, as
// random arrivals (the calls per second vary as much as they average), the same ones for
// the same seed.
func TestBackgroundPoisson(t *testing.T) {
	t.Parallel()
	opt := emulator.Options{BackgroundRate: 50, Seed: 7}
	_, perSecond := trafficRun(t, opt, time.Second, 100*time.Second)
	n := float64(sum(perSecond))
	if want := 5000.0; math.Abs(n-want) > 4*math.Sqrt(want) {
		t.Errorf("got %v calls in 100s at 50/s, want %v ± %v", n, want, 4*math.Sqrt(want))
	}
	mean := n / float64(len(perSecond))
	var variance float64
	for _, c := range perSecond {
		variance += (float64(c) - mean) * (float64(c) - mean)
	}
	variance /= float64(len(perSecond) - 1)
	if dispersion := variance / mean; dispersion < 0.6 || dispersion > 1.4 {
		t.Errorf("calls per second vary %v times their mean, want about 1 as Poisson arrivals do: %v", dispersion, perSecond)
	}

	_, again := trafficRun(t, opt, time.Second, 100*time.Second)
	if !slices.Equal(again, perSecond) {
		t.Errorf("the same seed gave other arrivals:\n%v\n%v", perSecond, again)
	}
	opt.Seed = 8
	if _, other := trafficRun(t, opt, time.Second, 100*time.Second); slices.Equal(other, perSecond) {
		t.Error("another seed gave the same arrivals")
	}
}

// TestBackgroundSchedule checks steps and bursts: the calls in each part of the schedule.
func TestBackgroundSchedule(t *testing.T) {
	t.Parallel()
	sched, err := emulator.ParseSchedule("10s:100,20s:400/5s,35s:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, perSecond := trafficRun(t, emulator.Options{BackgroundRate: 20, BackgroundSchedule: sched, Seed: 1}, time.Second, 40*time.Second)
	for _, part := range []struct {
		from, to int // seconds
		rate     float64
	}{{0, 10, 20}, {10, 20, 100}, {20, 25, 400}, {25, 35, 100}, {35, 40, 0}} {
		got := float64(sum(perSecond[part.from:part.to]))
		want := part.rate * float64(part.to-part.from)
		if math.Abs(got-want) > 4*math.Sqrt(want)+1 {
			t.Errorf("[%ds, %ds) at %v/s: got %v calls, want %v", part.from, part.to, part.rate, got, want)
		}
	}
	if got := srv.Background(); got.Rate != 0 || got.Throttled != 0 {
		t.Errorf("got %+v, want rate 0 at the end and nothing throttled without a quota", got)
	}
}

// TestBackgroundShareQuota checks that the background calls draw from the account's write
// quota: beyond it they are throttled, and so are the calls of a client.
func TestBackgroundShareQuota(t *testing.T) {
	t.Parallel()
	clk := newClock()
	srv, client := serve(t, emulator.NewServerAt(emulator.Options{WriteQuota: 10, BackgroundRate: 1000, Seed: 3}, clk.now))
	for range 1000 { // a second, a millisecond at a time
		clk.advance(time.Millisecond)
		srv.AdvanceTraffic()
	}
	got := srv.Background()
	// A full bucket of 10, then 10/s.
	if admitted := got.Calls - got.Throttled; admitted < 10 || admitted > 21 || got.Calls < 900 {
		t.Errorf("got %+v, want about 1000 calls of which 10 to 20 admitted", got)
	}
	_, err := client.AdminLinkProviderForUser(t.Context(), linkInput("Cognito", "alice", "Google", "Cognito_Subject", "g-busy"))
	check(t, err, want{"TooManyRequestsException", "Rate exceeded", 429})
}

// TestBackgroundServe runs the traffic on the real clock while a server serves, reads its
// counts over HTTP, and checks that it stops with the server. A loaded machine may wake the
// traffic late, never early: the counts are asked for until they show calls, and may not run
// ahead of the clock.
func TestBackgroundServe(t *testing.T) {
	t.Parallel()
	begin := time.Now()
	srv := emulator.NewServer(emulator.Options{BackgroundRate: 400})
	var got emulator.BackgroundStats
	for deadline := begin.Add(30 * time.Second); got.Calls < 40; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after 30s at 400/s: got %+v, want calls", got)
		}
		resp, err := http.Get(srv.URL + emulator.BackgroundPath)
		if err != nil {
			t.Fatal(err)
		}
		got = emulator.BackgroundStats{}
		err = json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("GET %s: status %d, %v, %v", emulator.BackgroundPath, resp.StatusCode, got, err)
		}
	}
	// About 400 calls a second: twice that, and a few, is more than Poisson arrivals give.
	if elapsed := time.Since(begin); float64(got.Calls) > 800*elapsed.Seconds()+20 || got.Rate != 400 {
		t.Errorf("after %v at 400/s: got %+v, want about %.0f calls at rate 400", elapsed, got, 400*elapsed.Seconds())
	}
	srv.Close()
	stopped := srv.Background().Calls
	time.Sleep(50 * time.Millisecond)
	if now := srv.Background().Calls; now != stopped {
		t.Errorf("got %d calls after Close, then %d: the traffic goes on", stopped, now)
	}
}

// TestBackgroundReconfigure checks that a new rate applies from the time it is set.
func TestBackgroundReconfigure(t *testing.T) {
	t.Parallel()
	clk := newClock()
	srv := emulator.NewServerAt(emulator.Options{BackgroundRate: 10, Seed: 5}, clk.now)
	t.Cleanup(srv.Close)
	run := func(d time.Duration) int64 {
		before := srv.Background().Calls
		for range int(d / (100 * time.Millisecond)) {
			clk.advance(100 * time.Millisecond)
			srv.AdvanceTraffic()
		}
		return srv.Background().Calls - before
	}
	if got := run(20 * time.Second); math.Abs(float64(got)-200) > 60 {
		t.Errorf("20s at 10/s: got %d calls, want about 200", got)
	}
	if err := srv.Reconfigure(func(o *emulator.Options) { o.BackgroundRate = 100 }); err != nil {
		t.Fatal(err)
	}
	if got := run(20 * time.Second); math.Abs(float64(got)-2000) > 180 {
		t.Errorf("20s at 100/s: got %d calls, want about 2000", got)
	}
}
