//go:build linux

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/bulklink/bulklink/emulator"
	"github.com/bulklink/bulklink/report"
)

// Reading first on a nightly file (issue 21): a file that is mostly the export of the night
// before, whose rows already linked auto settles with a read and no write. Measured twice:
// in process at the size, on a fake clock (job's TestReadFirstTable, whose results
// readFirstInProcess renders), and here through the built binary in real time, scaled down.

// readFirstResults mirrors what job's TestReadFirstTable writes (job/readfirst_test.go).
type readFirstResults struct {
	Rows, Linked, Concurrency int
	App, Quota, ReadQuota     float64
	LatencyMS                 int64 `json:"latency_ms"`
	Orders                    []struct{ Name, Why string }
	Runs                      []struct {
		Case        string  `json:"case"`
		Order       string  `json:"order"`
		Mode        string  `json:"mode"`
		Rate        float64 `json:"rate"`
		ReadRate    float64 `json:"read_rate"`
		Wall        float64 `json:"wall_s"`
		Writes      int64   `json:"writes"`
		Reads       int64   `json:"reads"`
		ReadFirst   int64   `json:"read_first"`
		Linked      int64   `json:"linked"`
		Already     int64   `json:"already_linked"`
		Failed      int64   `json:"failed"`
		Throttled   int64   `json:"throttled"`
		App         int64   `json:"app_calls"`
		AppThrot    int64   `json:"app_throttled"`
		Speedup     float64 `json:"speedup"`
		WritesSaved float64 `json:"writes_saved"`
	}
	Checks []check
	Notes  []string
}

func (c *check) UnmarshalJSON(b []byte) error {
	var v struct {
		Target, Measured string
		Met              bool
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*c = check{v.Target, v.Measured, v.Met}
	return nil
}

// inProcess holds the results readFirstInProcess read, for readFirstBinary to compare with;
// nil when the harness was not given them (-read-first).
var inProcess *readFirstResults

// readFirstInProcess turns the results of job's TestReadFirstTable into a section.
func readFirstInProcess(path string) (*section, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var res readFirstResults
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(res.Runs) == 0 {
		return nil, fmt.Errorf("%s: no runs", path)
	}
	inProcess = &res
	s := &section{title: "Reading first on a nightly file (issue 21), in process at full size"}
	s.printf("Command: `go test -run '^TestReadFirstTable$' -v ./job -args -readfirsttable=$PWD/out/bench/readfirst.json` (`scripts/bench.sh` runs it "+
		"before the harness). Each run is the real `job.Run`, through aws-sdk-go-v2, against the emulator in process "+
		"(`emulator.Emulator.Local`, no sockets) on a fake clock (testing/synctest): the wall times are simulated, a run of half an hour "+
		"takes a few seconds, and the same seed gives the same run. The emulator has Cognito's default quotas (%s writes/s, %s AdminGetUser/s) "+
		"and %d ms latency; the application sends %s writes/s into the write quota (Poisson arrivals, seed 1 in every run), as in the "+
		"sharing scenarios, which leaves more than `--rate 10`. bulklink runs at `--rate 10`, `--concurrency %d`, and `--read-rate 20` "+
		"(the defaults) or 60. The file has %s rows, %s of them linked the day before (their links older than the report, so "+
		"`already_linked`); the others are new. Where the new rows are is the order of the export the file comes from:\n\n",
		f0(res.Quota), f0(res.ReadQuota), res.LatencyMS, f0(res.App), res.Concurrency, f0(float64(res.Rows)), f0(float64(res.Linked)))
	for _, o := range res.Orders {
		s.printf("- %s: %s.\n", o.Name, o.Why)
	}
	s.printf("\nA first migration has nothing linked. \"With faults\": 2%% of the write calls lose their answer after the link is made, 1%% answer " +
		"500 before it and 1%% after it (`Options.FaultLost`, `Fault5xx`, `Fault5xxAfter`). Speed-up = never's wall time / the run's; fewer " +
		"writes = 1 − the run's write calls / never's, both against never's run of the same file and rates. Write calls and reads count " +
		"every attempt (the engine's own counts); throttled = its link calls answered TooManyRequestsException / the application's calls " +
		"refused by the quota.\n\n")
	var rows [][]string
	for _, r := range res.Runs {
		rows = append(rows, []string{r.Case, r.Order, f0(r.ReadRate), r.Mode, secs(time.Duration(r.Wall * float64(time.Second))),
			fmt.Sprintf("%.2f×", r.Speedup), f0(float64(r.Writes)), pct(r.WritesSaved), f0(float64(r.Reads)), f0(float64(r.ReadFirst)),
			fmt.Sprintf("%s, %s, %d", f0(float64(r.Linked)), f0(float64(r.Already)), r.Failed),
			fmt.Sprintf("%d / %d", r.Throttled, r.AppThrot)})
	}
	s.table([]string{"case", "new rows", "--read-rate", "mode", "wall (simulated)", "speed-up on never", "write calls", "fewer writes",
		"AdminGetUser calls", "rows read first", "linked, already linked, failed", "throttled: its / the application's"}, rows)
	for _, n := range res.Notes {
		s.printf("%s\n\n", n)
	}
	var missed []string
	for _, c := range res.Checks {
		s.check(c.target, c.measured, c.met)
		if !c.met {
			missed = append(missed, c.target+": "+c.measured)
		}
	}
	why := "The issue's targets, checked in each order of the new rows."
	if len(missed) > 0 {
		why += " Missed: " + strings.Join(missed, "; ") + ". What the order allows, above, says why."
	}
	s.verdict(why)
	return s, nil
}

// readFirstLayout says which of n rows are new (not linked): a tenth of them, at random
// lines, as job's TestReadFirstTable's "scattered" order draws them at its seed.
func readFirstLayout(n int) []bool {
	isNew := make([]bool, n)
	for _, i := range rand.New(rand.NewPCG(21, 1)).Perm(n)[:n/10] {
		isNew[i] = true
	}
	return isNew
}

// readFirstBinary: the built binary, in real time, on a nightly file scaled down: never and
// auto at the default rates, beside the application.
func readFirstBinary(ctx context.Context, h *harness) (*section, error) {
	s := &section{title: "Reading first on a nightly file (issue 21), the binary in real time"}
	rows := h.scale(2000, 400)
	isNew := readFirstLayout(rows)
	in, err := h.ws.input(rows)
	if err != nil {
		return nil, err
	}
	newRows := 0
	for _, n := range isNew {
		if n {
			newRows++
		}
	}
	type result struct {
		mode             string
		r                runResult
		writes, reads    int64 // at the emulator
		throttles        int64
		app, appThrottle int64
		missing          int
	}
	var results []result
	for _, mode := range []string{"never", "auto"} {
		opt := quotaOptions()
		opt.BackgroundRate, opt.Seed = appRate, 1
		srv := emulator.NewServer(opt)
		p := emulator.SeedPool{ID: benchPool, IdentityProviders: []emulator.SeedProvider{{Name: "Google", Type: "Google"}}, Users: make([]emulator.SeedUser, rows)}
		for i := range rows {
			p.Users[i].Username = username(i)
			if !isNew[i] {
				p.Users[i].Identities = []emulator.SeedIdentity{{Provider: "Google", Value: sourceValue(i)}}
			}
		}
		if err := srv.Load(emulator.Seed{UserPools: []emulator.SeedPool{p}}); err != nil {
			srv.Close()
			return nil, err
		}
		ep := &endpoint{Emulator: srv.Emulator, URL: srv.URL, rec: &recorder{}}
		bg0 := srv.Background()
		rep := h.ws.path("readfirst-" + mode + ".csv")
		r, err := h.tools.bulklinkReport(ctx, time.Duration(rows)*time.Second/5+2*time.Minute, "readfirst-"+mode, rep,
			runArgs(ep, in, rep, "--read-first", mode)...)
		if err != nil {
			srv.Close()
			return nil, err
		}
		waitIdle(ctx, ep)
		bg := srv.Background()
		_, throttles, _ := ep.throttledShare()
		missing := ep.notLinked(0, rows)
		results = append(results, result{mode: mode, r: r, writes: srv.Calls(linkOp), reads: srv.Calls("AdminGetUser"), throttles: throttles,
			app: bg.Calls - bg0.Calls, appThrottle: bg.Throttled - bg0.Throttled, missing: missing})
		srv.Close()
	}

	s.printf("Command: `go run ./bench/harness -only readfirst`. The same case as the in-process table, scaled down to %s rows, through the "+
		"built binary in real time: an emulator on loopback with Cognito's default quotas and 30 ms latency, its application sending %g "+
		"writes/s (seed 1, the same for both runs), a pool in which %s of the rows are linked already (the day before), the %s new rows at "+
		"random lines (the in-process table's scattered order, drawn at the same seed). Each mode runs against a freshly seeded emulator: "+
		"`bulklink run --input links-%d.csv --report r.csv --endpoint-url URL --read-first MODE --progress never --log-format json`, every "+
		"other flag at its default (`--rate 10`, `--read-rate 20`). Wall = process start to exit; calls as the emulator counted them.\n\n",
		f0(float64(rows)), appRate, f0(float64(rows-newRows)), f0(float64(newRows)), rows)
	var table [][]string
	never := results[0]
	for _, x := range results {
		sum := x.r.sum
		table = append(table, []string{x.mode, f0(float64(rows)), secs(x.r.wall), fmt.Sprintf("%.2f×", never.r.wall.Seconds()/x.r.wall.Seconds()),
			f0(float64(x.writes)), pct(1 - float64(x.writes)/float64(never.writes)), f0(float64(x.reads)), f0(float64(sum.ReadFirst)),
			fmt.Sprintf("%s, %s, %d", f0(float64(sum.Count(report.Linked))), f0(float64(sum.Count(report.AlreadyLinked))), x.r.failed()),
			fmt.Sprintf("%d / %d", x.throttles, x.appThrottle), strconv.Itoa(x.missing)})
	}
	s.table([]string{"--read-first", "rows", "wall", "speed-up on never", "write calls", "fewer writes", "AdminGetUser calls", "rows read first",
		"linked, already linked, failed (report)", "throttled: its / the application's", "rows not linked (emulator)"}, table)
	auto := results[1]
	speedup := never.r.wall.Seconds() / auto.r.wall.Seconds()
	saved := 1 - float64(auto.writes)/float64(never.writes)
	same := true
	for _, x := range results {
		same = same && x.r.sum.Count(report.Linked) == int64(newRows) && x.r.sum.Count(report.AlreadyLinked) == int64(rows-newRows) &&
			x.r.failed() == 0 && x.missing == 0
	}
	s.check(fmt.Sprintf("real binary, %s-row nightly file (new rows scattered): auto ≥ 1.8× faster than never at the default rates", f0(float64(rows))),
		fmt.Sprintf("%.2f× (%s against %s)", speedup, secs(auto.r.wall), secs(never.r.wall)), speedup >= 1.8)
	s.check(fmt.Sprintf("real binary, %s-row nightly file: auto ≥ 85%% fewer write calls than never", f0(float64(rows))),
		fmt.Sprintf("%s fewer (%d against %d)", pct(saved), auto.writes, never.writes), saved >= 0.85)
	s.check("real binary: both modes' reports the same, and the pool's links", fmt.Sprintf("%d linked and %d already linked in each; %s",
		newRows, rows-newRows, map[bool]string{true: "no row failed or missing", false: "**they differ**"}[same]), same)
	var how []string
	for _, x := range results {
		how = append(how, fmt.Sprintf("%s: %s", x.mode, readFirstSwitches(x.r.log)))
	}
	s.printf("auto's switches, from its log: %s.\n\n", strings.Join(how, "; "))
	compare := "The in-process measurement (`-read-first FILE`) has the same file at 2,000 rows, to compare with."
	if inProcess != nil {
		var same []string
		for _, r := range inProcess.Runs {
			if r.Case == "nightly, 2,000 rows" && int(r.Linked+r.Already) == rows {
				same = append(same, fmt.Sprintf("%s %s and %s write calls", r.Mode, secs(time.Duration(r.Wall*float64(time.Second))), f0(float64(r.Writes))))
			}
		}
		if len(same) > 0 {
			compare = "In process, on a fake clock, the same file took: " + strings.Join(same, "; ") + "."
		}
	}
	s.verdict(fmt.Sprintf("On the real binary, auto took %s against never's %s (%.2f×) with %s fewer write calls. %s",
		secs(auto.r.wall), secs(never.r.wall), speedup, pct(saved), compare))
	return s, nil
}

// readFirstSwitches lists auto's switches a bulklink JSON log records, as "t s: reading first".
func readFirstSwitches(logPath string) string {
	var out []string
	var start time.Time
	logRecords(logPath, func(e logRecord) bool {
		if start.IsZero() {
			start = e.TS
		}
		if mode, _, ok := strings.Cut(e.Msg, ":"); ok && (mode == "reading first" || mode == "writing first") {
			out = append(out, fmt.Sprintf("%.1f s: %s", e.TS.Sub(start).Seconds(), mode))
		}
		return len(out) < 20
	})
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}
