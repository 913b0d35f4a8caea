//go:build linux

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/bulklink/bulklink/emulator"
	"github.com/bulklink/bulklink/internal/seedgen"
)

const discoverPool = "us-east-1_BenchDisc1"

// discoverEndpoint serves an emulator with opt whose pool holds n users of every case
// discover judges (internal/seedgen, built in memory: no seed file).
func discoverEndpoint(opt emulator.Options, n int) (url string, stop func(), err error) {
	emu := emulator.New(opt)
	p, _ := seedgen.Pool(discoverPool, n, true)
	if err := emu.Load(emulator.Seed{UserPools: []emulator.SeedPool{p}}); err != nil {
		return "", nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: emu, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l)
	return "http://" + l.Addr().String(), func() { srv.Close() }, nil
}

// discoverSummary is what the harness reads of <output>.summary.json.
type discoverSummary struct {
	Users    int64            `json:"users_listed"`
	Pages    int64            `json:"pages"`
	Seconds  float64          `json:"duration_seconds"`
	ByStatus map[string]int64 `json:"by_status"`
	Calls    int64            `json:"calls"`
	Retries  int64            `json:"retries"`
	Throttle int64            `json:"throttles"`
}

// discoverRun runs `bulklink discover --provider Okta --by email` over the endpoint's pool
// at --list-rate rate and reads its summary.
func (h *harness) discoverRun(ctx context.Context, url, name string, rate string, timeout time.Duration) (child, discoverSummary, error) {
	out := h.ws.path(name + ".csv")
	args := []string{"discover", "--user-pool-id", discoverPool, "--endpoint-url", url, "--output", out,
		"--provider", "Okta", "--by", "email", "--list-rate", rate, "--progress", "never", "--log-format", "json"}
	c, err := h.tools.bulklink(ctx, timeout, name, args...)
	var sum discoverSummary
	if err == nil && c.exit != 0 && c.exit != 1 {
		err = fmt.Errorf("bulklink discover exited %d (log: %s)", c.exit, c.log)
	}
	if err == nil {
		var b []byte
		if b, err = os.ReadFile(out + ".summary.json"); err == nil {
			err = json.Unmarshal(b, &sum)
		}
	}
	for _, p := range []string{out, h.ws.path(name + ".refused.csv")} {
		os.Remove(p)
	}
	return c, sum, err
}

// discoverScenario: discover's users per second at the default --list-rate against
// Cognito's quota and latency, and unpaced against an emulator without either; its peak
// RSS on a pool of a million users.
func discoverScenario(ctx context.Context, h *harness) (*section, error) {
	s := &section{title: "Discover"}
	paced := h.scale(30_000, 3_000)
	big := h.scale(1_000_000, 100_000)
	s.printf("Command: `go run ./bench/harness -only discover`. Each case: a fresh emulator whose pool holds the users of " +
		"`internal/seedgen` (every case discover judges: half of them plain native users with a verified email, the rest " +
		"unverified, shared, disabled or unconfirmed users, users at four and five identities, google_ and Google_ profiles), " +
		"built in memory, then `bulklink discover --user-pool-id POOL --endpoint-url URL --output d.csv --provider Okta --by email " +
		"--list-rate R --progress never --log-format json`. Users/s is the users listed over the wall time of the process, start " +
		"to exit (the pool read, the listing, the sort and the match, the files written and synced). Peak RSS is bulklink's own, " +
		"from GNU time's `%%M`, as in Memory above; the emulator runs in the harness and is not in it.\n\n")
	type c struct {
		what    string
		opt     emulator.Options
		users   int
		rate    string
		timeout time.Duration
	}
	defaults := emulator.Defaults()
	defaults.Latency = latency
	cases := []c{
		{"default --list-rate (10), Cognito's quotas, 30 ms latency", defaults, paced, "10", 20 * time.Minute},
		{"unpaced (--list-rate 0), no quota, no latency", emulator.Options{}, paced, "0", 10 * time.Minute},
		{"unpaced, no quota, no latency: peak RSS", emulator.Options{}, big, "0", 60 * time.Minute},
	}
	var rows [][]string
	for i, cs := range cases {
		h.logf("discover: %s, %s users", cs.what, count(cs.users))
		url, stop, err := discoverEndpoint(cs.opt, cs.users)
		if err != nil {
			return nil, err
		}
		r, sum, err := h.discoverRun(ctx, url, "discover-"+strconv.Itoa(i), cs.rate, cs.timeout)
		stop()
		if err != nil {
			return nil, err
		}
		perSec := float64(sum.Users) / r.wall.Seconds()
		rows = append(rows, []string{cs.what, count(int(sum.Users)), strconv.FormatInt(sum.Pages, 10), secs(r.wall), f0(perSec),
			fmt.Sprintf("%d, %d, %d", sum.Calls, sum.Retries, sum.Throttle), rss(r.maxRSS),
			fmt.Sprintf("%s / %s", count(int(sum.ByStatus["emitted"])), count(int(sum.ByStatus["refused"])))})
		switch i {
		case 0:
			ok := perSec >= 0.9*600 && sum.Throttle == 0
			s.check("discover at the default --list-rate: ≥ 90% of 10 pages/s × 60 users, never throttled", f0(perSec)+" users/s, "+strconv.FormatInt(sum.Throttle, 10)+" throttled", ok)
		case 2:
			ok := r.maxRSS > 0 && mib(r.maxRSS) < 64
			s.check(fmt.Sprintf("discover peak RSS < 64 MiB, %s users", count(cs.users)), rss(r.maxRSS)+" MiB", ok)
		}
	}
	s.table([]string{"case", "users", "pages", "wall", "users/s", "ListUsers calls, retries, throttled", "peak RSS, MiB", "rows / refused"}, rows)
	s.verdict("At the default --list-rate, discover reads 600 users a second (a third of the UserList quota of 30 calls/s, " +
		"which the application shares): a million users in under half an hour. Unpaced, the emulator and bulklink share the two " +
		"cores. Memory is the sort's buffer (4 MiB of records) and the page in hand, whatever the size of the pool.")
	return s, nil
}
