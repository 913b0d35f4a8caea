//go:build linux

package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"strconv"
	"time"

	"github.com/bulklink/bulklink/emulator"
)

const latency = 30 * time.Millisecond

// quotaOptions are the emulator's settings for the scenarios under Cognito's quotas: its
// default quotas (25 writes/s, 120 AdminGetUser/s, ...) and 30 ms latency.
func quotaOptions() emulator.Options {
	opt := emulator.Defaults()
	opt.Latency = latency
	return opt
}

// runArgs are the flags of a `bulklink run` of in into rep against ep.
func runArgs(ep *endpoint, in, rep string, flags ...string) []string {
	return append([]string{"run", "--input", in, "--report", rep, "--endpoint-url", ep.URL}, flags...)
}

// pacing: achieved/target for --rate 25, 100 and 1,000 with 30 ms latency and no quota.
func pacing(ctx context.Context, h *harness) (*section, error) {
	s := &section{title: "Pacing accuracy"}
	seconds := h.scale(10, 3)
	s.printf("Command: `go run ./bench/harness -only pacing`. Each case: a fresh emulator with 30 ms latency and "+
		"no quota, then `bulklink run --input links-N.csv --report r.csv --endpoint-url URL --rate R --concurrency C "+
		"--progress never --log-format json` with N = %d × R rows (about %d s). The rate is measured at the emulator: link calls received, "+
		"over the window from the first call to the last ((n−1)/window).\n\n", seconds, seconds)
	var rows [][]string
	worst := 0.0 // largest |achieved/target - 1|
	for _, c := range []struct {
		rate        int
		concurrency int
	}{{25, 8}, {100, 8}, {1000, 64}} {
		n := seconds * c.rate
		in, err := h.ws.input(n)
		if err != nil {
			return nil, err
		}
		ep, err := startEndpoint(emulator.Options{Latency: latency}, 0, n)
		if err != nil {
			return nil, err
		}
		rep := h.ws.path("pacing.csv")
		r, err := h.tools.bulklinkReport(ctx, 3*time.Duration(seconds)*time.Second+time.Minute, fmt.Sprintf("pacing-%d", c.rate), rep,
			runArgs(ep, in, rep, "--rate", strconv.Itoa(c.rate), "--concurrency", strconv.Itoa(c.concurrency))...)
		ep.Close()
		if err != nil {
			return nil, err
		}
		_, throttles, _ := ep.throttledShare()
		achieved := ep.rec.stats().sentRate()
		ratio := achieved / float64(c.rate)
		worst = math.Max(worst, math.Abs(ratio-1))
		ok := math.Abs(ratio-1) <= 0.02
		s.check(fmt.Sprintf("pacing within 2%% at --rate %d", c.rate), pct2(ratio)+" of --rate", ok)
		rows = append(rows, []string{
			strconv.Itoa(c.rate), strconv.Itoa(c.concurrency), count(n), secs(r.wall),
			f1(achieved), f3(ratio), strconv.FormatInt(throttles, 10), strconv.FormatInt(r.failed(), 10), metText(ok),
		})
	}
	s.table([]string{"--rate", "--concurrency", "rows", "wall", "calls/s at the emulator", "achieved/target", "throttled", "rows failed", "within 2%"}, rows)
	s.verdict(fmt.Sprintf("Worst deviation from --rate: %s. No quota here, so nothing is throttled; "+
		"that no throttling happens under the quota is checked in the side-by-side (--rate 10 and 25 against a quota of 25).", pct2(worst)))
	return s, nil
}

// overAsking: --rate 100 against a quota of 25: achieved/quota, throttled share, failures.
func overAsking(ctx context.Context, h *harness) (*section, error) {
	s := &section{title: "Over-asking the quota"}
	n := h.scale(1000, 250)
	s.printf("Command: `go run ./bench/harness -only overask`: a fresh emulator with Cognito's default quotas (25 writes/s, "+
		"120 AdminGetUser/s) and 30 ms latency, then `bulklink run --input links-%d.csv --report r.csv --endpoint-url URL "+
		"--rate 100 --progress never --log-format json`, every other flag at its default: four times the quota, %d rows (%.0f s at the quota). "+
		"Achieved = link calls the emulator accepted per second, over the window from the first accepted call to the last; "+
		"throttled share = TooManyRequestsException answers / all link calls, counted by the emulator.\n\n", n, n, float64(n)/25)
	in, err := h.ws.input(n)
	if err != nil {
		return nil, err
	}
	o, err := h.overask(ctx, quotaOptions(), "overask", in, n, 100)
	if err != nil {
		return nil, err
	}
	r, calls, throttles, share, st, achieved, missing := o.r, o.calls, o.throttles, o.share, o.stats, o.achieved, o.missing
	okRate, okShare, okFailed := achieved >= 0.9*25, share <= 0.05, r.failed() == 0 && missing == 0
	s.check("over-asking: ≥ 90% of the quota achieved", pct(achieved/25)+" of the quota", okRate)
	s.check("over-asking: ≤ 5% of calls throttled", pct(share)+" throttled", okShare)
	s.check("over-asking: zero failed rows", strconv.FormatInt(r.failed(), 10)+" failed", okFailed)
	s.table([]string{"rows", "wall", "rows/s", "accepted calls/s", "achieved/quota", "link calls", "throttled", "throttled share", "rows failed", "bulklink: calls, retries, throttles, verifications"},
		[][]string{{
			strconv.Itoa(n), secs(r.wall), f1(r.rowsPerSec()), f1(achieved), pct(achieved / 25),
			strconv.FormatInt(calls, 10), strconv.FormatInt(throttles, 10), pct(share),
			fmt.Sprintf("%d (report), %d (not linked at the emulator)", r.failed(), missing),
			fmt.Sprintf("%d, %d, %d, %d", r.sum.Calls, r.sum.Retries, r.sum.Throttles, r.sum.Checks),
		}})
	s.printf("Over time, at the emulator (1 s windows from the first call for 10 s, then 5 s windows; the emulator's " +
		"bucket starts full, so the first second may accept up to 50 calls):\n\n")
	var tl [][]string
	perSecond := st.timeline(time.Second)
	for i := 0; i < len(perSecond); {
		size := 1
		if i >= 10 {
			size = 5
		}
		ws := perSecond[i:min(i+size, len(perSecond))]
		i += size
		from, to := ws[0].from, ws[len(ws)-1].to
		var sent, throttles int
		for _, w := range ws {
			sent, throttles = sent+w.sent, throttles+w.throttles
		}
		d := (to - from).Seconds()
		share := 0.0
		if sent > 0 {
			share = float64(throttles) / float64(sent)
		}
		tl = append(tl, []string{seconds(from) + "–" + seconds(to) + " s", f1(float64(sent) / d), f1(float64(sent-throttles) / d), strconv.Itoa(throttles), pct(share)})
	}
	s.table([]string{"window", "sent/s", "accepted/s", "throttled", "throttled share"}, tl)
	if changes := rateChanges(r.log); len(changes) > 0 {
		s.printf("bulklink's own pacing rate, from its log (it logs a change at most every 5 s): %s.\n\n", changes)
	}
	if len(perSecond) > 2 {
		var early, late, lateSent int
		for i, w := range perSecond {
			if i < 2 {
				early += w.throttles
				continue
			}
			late, lateSent = late+w.throttles, lateSent+w.sent
		}
		s.printf("Of the %d throttles, %d came in the first 2 s, while the pace came down from --rate 100 to the quota: a "+
			"fixed cost of finding the quota, which weighs more on a shorter run. The other %d came over the remaining %s s "+
			"(%s of those %d calls).\n\n", throttles, early, late, seconds(perSecond[len(perSecond)-1].to-perSecond[2].from),
			pct(float64(late)/float64(max(lateSent, 1))), lateSent)
	}
	s.verdict(fmt.Sprintf("At --rate 100 against a quota of 25: %s of the quota achieved (target ≥ 90%%), %s of calls throttled (target ≤ 5%%), %d rows failed (target 0).",
		pct(achieved/25), pct(share), r.failed()))
	return s, nil
}

// rateChanges lists the pacing rate changes a bulklink JSON log records, as "t: rate".
func rateChanges(logPath string) string {
	var out string
	var start time.Time
	n := 0
	logRecords(logPath, func(e logRecord) bool {
		if e.Rate == nil {
			return true
		}
		if start.IsZero() {
			start = e.TS
		}
		if e.Msg != "rate lowered" && e.Msg != "rate raised" {
			return true
		}
		if out != "" {
			out += ", "
		}
		out += fmt.Sprintf("%.1f s %s → %s/s", e.TS.Sub(start).Seconds(), e.Msg, f1(*e.Rate))
		n++
		return n < 200
	})
	return out
}

// memory: peak RSS of validate and run by input size.
func memory(ctx context.Context, h *harness) (*section, error) {
	s := &section{title: "Memory"}
	big := h.scale(10_000_000, 1_000_000)
	small := []int{big / 100, big / 10}
	s.printf("Command: `go run ./bench/harness -only memory`. Peak RSS is bulklink's own, as GNU time's `%%M` reports it "+
		"(`/usr/bin/time -f %%M bin/bulklink ...`): the emulator runs in the harness process and is not in it. Not the "+
		"`ru_maxrss` of the harness's own child: Go starts children with vfork, and on exec Linux carries the parent's peak RSS "+
		"into the child's `ru_maxrss`, so `/bin/true` started by a harness holding 300 MB reports 300 MB. Inputs are generated CSV files of about %d bytes a row "+
		"(%s rows: %s MB). `validate` runs as `bulklink validate --offline --input links-N.csv --report v.csv` (every check "+
		"but the pool reads, the checks across the input included: its on-disk sort and one bit per line per verdict); `run` as "+
		"`bulklink run --input links-N.csv --report r.csv --endpoint-url URL --rate 0 --read-rate 0 --concurrency 32 --progress never --log-format json` "+
		"against an emulator without latency or quota.\n\n", rowBytes, count(big), f0(float64(rowBytes*big)/1e6))
	var rows [][]string
	for _, n := range append(small, big) {
		in, err := h.ws.input(n)
		if err != nil {
			return nil, err
		}
		rep := h.ws.path("validate.csv")
		r, err := h.tools.bulklinkReport(ctx, 10*time.Minute, "validate-"+count(n), rep, "validate", "--offline", "--input", in, "--report", rep)
		os.Remove(rep)
		if err != nil {
			return nil, err
		}
		rows = append(rows, []string{"validate", count(n), secs(r.wall), f0(r.rowsPerSec()), rss(r.maxRSS)})
		if n == big {
			ok := r.maxRSS > 0 && mib(r.maxRSS) < 64
			s.check(fmt.Sprintf("peak RSS < 64 MiB: validate, %s rows", count(n)), rss(r.maxRSS)+" MiB", ok)
		}
	}
	for _, n := range small {
		in, err := h.ws.input(n)
		if err != nil {
			return nil, err
		}
		ep, err := startEndpoint(emulator.Options{}, 0, n)
		if err != nil {
			return nil, err
		}
		rep := h.ws.path("run.csv")
		r, err := h.tools.bulklinkReport(ctx, 20*time.Minute, "run-"+count(n), rep,
			runArgs(ep, in, rep, "--rate", "0", "--read-rate", "0", "--concurrency", "32")...)
		ep.Close()
		os.Remove(rep)
		if err != nil {
			return nil, err
		}
		rows = append(rows, []string{"run", count(n), secs(r.wall), f0(r.rowsPerSec()), rss(r.maxRSS)})
	}

	// A full run of the big input takes far too long on two cores; its memory is that of a
	// run that resumes a report holding all but the last 1% of the rows, then runs those.
	todo := big / 100
	done := big - todo
	in, err := h.ws.input(big)
	if err != nil {
		return nil, err
	}
	rep := h.ws.path("resumed.csv")
	ep, err := startEndpoint(emulator.Options{}, done, todo)
	if err == nil {
		if err = writeDoneReport(rep, in, done, ep.URL); err != nil {
			ep.Close()
		}
	}
	if err != nil {
		return nil, err
	}
	r, err := h.tools.bulklinkReport(ctx, 20*time.Minute, "run-resumed-"+count(big), rep,
		runArgs(ep, in, rep, "--rate", "0", "--read-rate", "0", "--concurrency", "32")...)
	ep.Close()
	reportSize := fileSize(rep)
	os.Remove(rep)
	h.ws.dropInput(big)
	if err != nil {
		return nil, err
	}
	ok := r.maxRSS > 0 && mib(r.maxRSS) < 64 && r.sum.Resumed == int64(done) && r.newRows() == int64(todo)
	s.check(fmt.Sprintf("peak RSS < 64 MiB: run, %s rows (resumed)", count(big)), rss(r.maxRSS)+" MiB", ok)
	rows = append(rows, []string{
		fmt.Sprintf("run, resuming a report of %s rows, then running the last %s", count(done), count(todo)),
		count(big), secs(r.wall), f0(r.rowsPerSec()) + " (of the rows run)", rss(r.maxRSS),
	})
	// One line of 200 MB: a record far over the 1 MiB bound, skipped, not held.
	long, err := h.ws.longLine(200 << 20)
	if err != nil {
		return nil, err
	}
	rep = h.ws.path("long.csv")
	r, err = h.tools.bulklinkReport(ctx, 10*time.Minute, "validate-long-line", rep, "validate", "--offline", "--input", long, "--report", rep)
	os.Remove(rep)
	if err != nil {
		return nil, err
	}
	ok = r.maxRSS > 0 && mib(r.maxRSS) < 64 && r.sum.ByErrorCode["RecordTooLong"] == 1 && r.sum.Rows == 2
	s.check("peak RSS < 64 MiB: validate, one line of 200 MB", rss(r.maxRSS)+" MiB", ok)
	rows = append(rows, []string{"validate, one line of 200 MB (RecordTooLong) and a row", "2", secs(r.wall), "", rss(r.maxRSS)})
	ep, err = startEndpoint(emulator.Options{}, 0, 1)
	if err != nil {
		return nil, err
	}
	rep = h.ws.path("long-run.csv")
	r, err = h.tools.bulklinkReport(ctx, 10*time.Minute, "run-long-line", rep, runArgs(ep, long, rep, "--rate", "0", "--read-rate", "0")...)
	ep.Close()
	os.Remove(rep)
	os.Remove(long)
	if err != nil {
		return nil, err
	}
	ok = r.maxRSS > 0 && mib(r.maxRSS) < 64 && r.sum.ByErrorCode["RecordTooLong"] == 1 && r.sum.Rows == 2
	s.check("peak RSS < 64 MiB: run, one line of 200 MB", rss(r.maxRSS)+" MiB", ok)
	rows = append(rows, []string{"run, one line of 200 MB (RecordTooLong) and a row", "2", secs(r.wall), "", rss(r.maxRSS)})
	s.table([]string{"command", "input rows", "wall", "rows/s", "peak RSS, MiB"}, rows)
	s.printf("The resumed run at %s rows: the harness wrote the report (%s MB, %s records `linked`, through bulklink's own "+
		"`report` writer) and its `.meta.json` (the input's SHA-256, as `input.Fingerprint` computes it), as a run "+
		"stopped after those rows would leave them. bulklink then fingerprinted the %s-row input, read the report back, "+
		"read all %s input rows, skipped the %s done and linked the last %s through the emulator: every stage a full run "+
		"has, with a report as large as a full run's, but %s calls instead of %s.",
		count(big), f0(float64(reportSize)/1e6), count(done), count(big), count(big), count(done), count(todo), count(todo), count(big))
	if setup, rest, ok := r.phases(); ok {
		s.printf(" Of its %s, %s went before the first row (lock, fingerprint, reading the report back) and %s to reading "+
			"the input and running the rows.", secs(r.wall), secs(setup), secs(rest))
	}
	s.printf("\n\n")
	s.verdict("Target: peak RSS under 64 MiB at " + count(big) + " rows, for validate and for run.")
	return s, nil
}

// resume: the time a run takes to skip rows a report already holds.
func resume(ctx context.Context, h *harness) (*section, error) {
	s := &section{title: "Resume"}
	n := h.scale(1_000_000, 100_000)
	in, err := h.ws.input(n)
	if err != nil {
		return nil, err
	}
	rep := h.ws.path("resume.csv")
	ep, err := startEndpoint(emulator.Options{}, 0, 0)
	if err == nil {
		if err = writeDoneReport(rep, in, n, ep.URL); err != nil {
			ep.Close()
		}
	}
	if err != nil {
		return nil, err
	}
	r, err := h.tools.bulklinkReport(ctx, 5*time.Minute, "resume-"+count(n), rep, runArgs(ep, in, rep)...)
	ep.Close()
	reportSize := fileSize(rep)
	os.Remove(rep)
	if err != nil {
		return nil, err
	}
	calls := ep.Calls(linkOp) + ep.Calls("AdminGetUser")
	limit := time.Duration(float64(5*time.Second) * float64(n) / 1e6)
	ok := r.wall < limit && calls == 0 && r.sum.Resumed == int64(n)
	s.check(fmt.Sprintf("resume skips %s finished rows in < %s", count(n), secs(limit)), secs(r.wall), ok)
	s.printf("Command: `go run ./bench/harness -only resume`: the harness writes a report holding all %s rows of a %s-row "+
		"input as `linked` (%s MB, through bulklink's own `report` writer) and its `.meta.json`, then times "+
		"`bulklink run --input links-%d.csv --report r.csv --endpoint-url URL --progress never --log-format json` (the same command, run again) "+
		"from start to exit: it fingerprints the input (SHA-256 of %s MB), reads the report back, reads every input row "+
		"and skips it.\n\n", count(n), count(n), f0(float64(reportSize)/1e6), n, f0(float64(fileSize(in))/1e6))
	setup, skip, _ := r.phases()
	s.table([]string{"rows done", "wall, start to exit", "before the first row: lock, fingerprint, read the report back", "reading and skipping the rows", "peak RSS, MiB", "exit", "calls to the emulator"},
		[][]string{{count(n), secs(r.wall), secs(setup), secs(skip), rss(r.maxRSS), strconv.Itoa(r.exit), strconv.FormatInt(calls, 10)}})
	s.printf("The two phases are split at bulklink's `run started` log line. The input and the report were just written, so " +
		"they are read from the page cache, as in a rerun soon after a stop.\n\n")
	s.verdict(fmt.Sprintf("Target: under %s to skip %s finished rows, calling nothing for them.", secs(limit), count(n)))
	return s, nil
}

// rss formats a peak RSS in MiB.
func rss(kib int64) string {
	if kib == 0 {
		return "not measured (no /usr/bin/time)"
	}
	return f1(mib(kib))
}

// seconds formats a duration in seconds, to a tenth, without trailing zeros.
func seconds(d time.Duration) string {
	return strconv.FormatFloat(math.Round(d.Seconds()*10)/10, 'f', -1, 64)
}
