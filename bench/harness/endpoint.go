//go:build linux

package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/bulklink/bulklink/emulator"
)

const (
	linkOp     = "AdminLinkProviderForUser"
	linkTarget = "AWSCognitoIdentityProviderService." + linkOp
	throttled  = "TooManyRequestsException"
	benchPool  = "us-east-1_BenchPool1"
)

// endpoint is an emulator served on a loopback port, with a recorder of its link calls.
type endpoint struct {
	*emulator.Emulator
	URL string
	rec *recorder
	srv *http.Server
}

// startEndpoint serves a fresh emulator with opt on 127.0.0.1 and an ephemeral port. Its
// pool holds the users of rows [from, from+users); close it with Close.
func startEndpoint(opt emulator.Options, from, users int) (*endpoint, error) {
	emu := emulator.New(opt)
	if err := seedUsers(emu, from, users); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen on loopback: %w", err)
	}
	rec := &recorder{}
	ep := &endpoint{
		Emulator: emu,
		URL:      "http://" + l.Addr().String(),
		rec:      rec,
		srv:      &http.Server{Handler: rec.wrap(emu), ReadHeaderTimeout: 10 * time.Second},
	}
	go ep.srv.Serve(l)
	return ep, nil
}

// Close stops serving at once: the clients are done by then.
func (ep *endpoint) Close() { ep.srv.Close() }

// throttledShare is the share of link calls the emulator answered TooManyRequestsException.
func (ep *endpoint) throttledShare() (calls, throttles int64, share float64) {
	out := ep.Outcomes(linkOp)
	for _, n := range out {
		calls += n
	}
	throttles = out[throttled]
	if calls > 0 {
		share = float64(throttles) / float64(calls)
	}
	return calls, throttles, share
}

// notLinked counts the rows of [from, from+n) whose link is missing at the end: the rows a
// tool failed, whatever it says.
func (ep *endpoint) notLinked(from, n int) int {
	missing := 0
	for i := from; i < from+n; i++ {
		ids, ok := ep.Identities(benchPool, username(i))
		if !ok || len(ids) == 0 || ids[0].UserID != sourceValue(i) {
			missing++
		}
	}
	return missing
}

// seedUsers adds the bench pool, with a Google provider and the users of rows
// [from, from+n), to emu.
func seedUsers(emu *emulator.Emulator, from, n int) error {
	p := emulator.SeedPool{
		ID:                benchPool,
		IdentityProviders: []emulator.SeedProvider{{Name: "Google", Type: "Google"}},
		Users:             make([]emulator.SeedUser, n),
	}
	for i := range n {
		p.Users[i].Username = username(from + i)
	}
	return emu.Load(emulator.Seed{UserPools: []emulator.SeedPool{p}})
}

// recorder timestamps the link calls an emulator receives. It leaves the ResponseWriter
// as it is, so that fault hijacking still works, and reads the outcome from the
// X-Amzn-ErrorType header the emulator sets on error answers.
type recorder struct {
	mu    sync.Mutex
	calls []linkCall
}

type linkCall struct {
	at        time.Time // when the call arrived
	throttled bool
}

func (rec *recorder) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Amz-Target") != linkTarget {
			next.ServeHTTP(w, r)
			return
		}
		at := time.Now()
		next.ServeHTTP(w, r)
		c := linkCall{at: at, throttled: w.Header().Get("X-Amzn-ErrorType") == throttled}
		rec.mu.Lock()
		rec.calls = append(rec.calls, c)
		rec.mu.Unlock()
	})
}

// callStats are the link calls of a run, as the emulator saw them arrive.
type callStats struct {
	calls []linkCall // in order of arrival
}

func (rec *recorder) stats() callStats {
	rec.mu.Lock()
	calls := append([]linkCall(nil), rec.calls...)
	rec.mu.Unlock()
	slices.SortFunc(calls, func(a, b linkCall) int { return a.at.Compare(b.at) })
	return callStats{calls}
}

// rate is the calls per second that keep pass sent, over the window between the first and
// the last of them: n calls evenly spaced at rate r give exactly r.
func (s callStats) rate(keep func(linkCall) bool) float64 {
	var n int
	var first, last time.Time
	for _, c := range s.calls {
		if !keep(c) {
			continue
		}
		if n == 0 {
			first = c.at
		}
		last = c.at
		n++
	}
	if n < 2 || !last.After(first) {
		return 0
	}
	return float64(n-1) / last.Sub(first).Seconds()
}

func all(linkCall) bool                   { return true }
func accepted(c linkCall) bool            { return !c.throttled }
func (s callStats) sentRate() float64     { return s.rate(all) }
func (s callStats) acceptedRate() float64 { return s.rate(accepted) }

// window is the calls of one slice of time in a timeline.
type window struct {
	from, to        time.Duration // since the first call
	sent, throttles int
}

// timeline cuts the calls into windows of width d, from the first call on.
func (s callStats) timeline(d time.Duration) []window {
	if len(s.calls) == 0 {
		return nil
	}
	start := s.calls[0].at
	span := s.calls[len(s.calls)-1].at.Sub(start)
	ws := make([]window, int(span/d)+1)
	for i := range ws {
		ws[i].from, ws[i].to = time.Duration(i)*d, time.Duration(i+1)*d
	}
	if last := &ws[len(ws)-1]; span > last.from {
		last.to = span // a partial window is as wide as it is
	}
	for _, c := range s.calls {
		w := &ws[int(c.at.Sub(start)/d)]
		w.sent++
		if c.throttled {
			w.throttles++
		}
	}
	return ws
}

// username and sourceValue name the destination user and the Google sub of row i (0-based):
// one link per user, as in a typical migration.
func username(i int) string { return string(appendUsername(nil, i)) }

func sourceValue(i int) string { return string(appendSourceValue(nil, i)) }

func appendUsername(b []byte, i int) []byte    { return appendPadded(append(b, "user"...), i, 7) }
func appendSourceValue(b []byte, i int) []byte { return appendPadded(append(b, '1'), i, 20) }

// appendPadded appends i in decimal, zero-padded to width digits.
func appendPadded(b []byte, i, width int) []byte {
	digits := 1
	for v := i; v >= 10; v /= 10 {
		digits++
	}
	for ; digits < width; digits++ {
		b = append(b, '0')
	}
	return strconv.AppendInt(b, int64(i), 10)
}

// waitIdle waits, a bounded time, until no link call is in progress at the emulator.
func waitIdle(ctx context.Context, ep *endpoint) {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		var done int64
		for _, n := range ep.Outcomes(linkOp) {
			done += n
		}
		if done >= ep.Calls(linkOp) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
