package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"
	"unicode/utf8"

	"github.com/creack/pty"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/bulklink/bulklink/discover"
	"github.com/bulklink/bulklink/emulator"
	"github.com/bulklink/bulklink/job"
	"github.com/bulklink/bulklink/report"
)

// barLine is a line of the live bar: rows done of the total, the share, the bar.
var barLine = regexp.MustCompile(`\d+/[\d,]+ +\d+% \[[=>-]*\]`)

// logLine is a console log line: it starts with its time.
var logLine = regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d{3}\s`)

// On a terminal of 80 columns, with Cognito throttling (so that the pace changes and is
// logged while the bar is up), the screen shows whole log lines above one bar that fits
// the width, and no debris of earlier frames.
func TestProgressOnATerminal(t *testing.T) {
	t.Parallel()
	s := linkScenario(300, 0)
	srv := startEmulator(t, emulator.Options{WriteQuota: 25}, s.seed)
	in := writeFile(t, "links.csv", s.csv())
	rep := in + ".report.csv"

	const width = 80
	cmd := exec.Command(binary, "run", "--input", in, "--report", rep, "--endpoint-url", srv.URL,
		"--rate", "80", "--read-rate", "0")
	cmd.Env = append(cleanEnv(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION=us-east-1", "TERM=xterm")
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 24, Cols: width})
	if err != nil {
		t.Fatalf("start in a pseudo-terminal: %v", err)
	}
	var raw bytes.Buffer
	_, err = io.Copy(&raw, tty) // until the program exits: then reading the terminal fails with EIO
	if err != nil && !errors.Is(err, syscall.EIO) {
		t.Fatalf("read the terminal: %v", err)
	}
	tty.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("bulklink run: %v\n%s", err, raw.String())
	}

	scr := newScreen(width)
	scr.Write(raw.Bytes())
	lines := scr.lines()
	t.Logf("the screen:\n%s", strings.Join(lines, "\n"))

	var bars, rateLogs int
	for i, line := range lines {
		isBar := barLine.MatchString(line)
		if isBar {
			bars++
			if scr.wrapped[i] || i+1 < len(scr.rows) && scr.wrapped[i+1] {
				t.Errorf("line %d: the bar wrapped: %q", i+1, line)
			}
			if n := utf8.RuneCountInString(line); n >= width {
				t.Errorf("line %d: the bar takes %d columns of %d: %q", i+1, n, width, line)
			}
			if strings.Contains(line, "INFO") || strings.Contains(line, "rate ") || strings.Contains(line, "{") {
				t.Errorf("line %d: log text inside the bar: %q", i+1, line)
			}
		}
		if strings.Contains(line, "rate raised") || strings.Contains(line, "rate cut") || strings.Contains(line, "rate lowered") {
			rateLogs++
			if !logLine.MatchString(line) || isBar {
				t.Errorf("line %d: a log line that does not start the line, or shares it with the bar: %q", i+1, line)
			}
		}
	}
	if bars != 1 {
		t.Errorf("%d lines of the bar on the screen, want 1: earlier frames left debris", bars)
	}
	if rateLogs == 0 {
		t.Errorf("no change of the pace logged: the test does not test log lines above the bar")
	}
	if !regexp.MustCompile(`(?m)^run: 300 rows in `).MatchString(strings.Join(lines, "\n")) {
		t.Errorf("no summary below the bar")
	}
	// Frames drawn while the run went on: the bar, its rate and an ETA.
	frames := regexp.MustCompile(`\d+/300 +\d+% \[[=>-]+\] [\d.]+ rows/s[^\r\n\x1b]* ETA \d+s`).FindAll(raw.Bytes(), -1)
	if len(frames) == 0 {
		t.Errorf("no frame of the bar showed an ETA")
	}
}

// Without a terminal (cron), progress is a JSON log record every --progress-interval, with a
// rate and an ETA from the first one on, and the log ends with one summary record that
// carries the counts and the exit code.
func TestProgressWithoutATerminal(t *testing.T) {
	t.Parallel()
	s := linkScenario(200, 3)
	srv := startEmulator(t, emulator.Options{WriteQuota: 40}, s.seed)
	rep, res := runCSV(t, s, srv,
		"--rate", "40", "--read-rate", "0", "--progress-interval", "500ms")
	if res.code != exitRows {
		t.Fatalf("exit %d, want %d", res.code, exitRows)
	}
	var progress, rest []map[string]any
	lines := strings.Split(strings.TrimSpace(res.stderr), "\n")
	for i, line := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("stderr line %d is not a JSON record: %q", i+1, line)
		}
		if rec["msg"] == "progress" {
			progress = append(progress, rec)
		} else {
			rest = append(rest, rec)
		}
	}
	if len(progress) == 0 {
		t.Fatal("no progress record")
	}
	// A record logged before the first row finished has nothing to measure; every other
	// one, the first included, has a rate and an ETA.
	measured := 0
	for i, rec := range progress {
		if rec["done"].(float64) == 0 {
			if measured > 0 {
				t.Errorf("progress record %d: done 0 after rows were done", i+1)
			}
			continue
		}
		measured++
		if rate, _ := rec["rows_per_sec"].(float64); rate <= 0 {
			t.Errorf("progress record %d: rows_per_sec %v, want a rate: %v", i+1, rec["rows_per_sec"], rec)
		}
		if _, ok := rec["eta"].(string); !ok && rec["pct"].(float64) < 100 {
			t.Errorf("progress record %d: no ETA: %v", i+1, rec)
		}
		for _, k := range []string{"total", "pct", "pace", "elapsed"} {
			if _, ok := rec[k]; !ok {
				t.Errorf("progress record %d: no %s: %v", i+1, k, rec)
			}
		}
	}
	if measured == 0 {
		t.Errorf("no progress record after the first row")
	}
	last := rest[len(rest)-1]
	if last["msg"] != "summary" {
		t.Fatalf("the last record is %v, want the summary", last)
	}
	want := map[string]any{"level": "warn", "exit_code": float64(exitRows), "state": "finished", "command": "run",
		"rows": float64(203), "report": rep}
	for k, v := range want {
		if last[k] != v {
			t.Errorf("summary %s = %v, want %v", k, last[k], v)
		}
	}
	if st, _ := last["by_status"].(map[string]any); st["linked"] != float64(200) || st["failed"] != float64(3) {
		t.Errorf("summary by_status %v, want 200 linked and 3 failed", last["by_status"])
	}
	if codes, _ := last["by_error_code"].(map[string]any); codes["LimitExceededException"] != float64(3) {
		t.Errorf("summary by_error_code %v, want 3 LimitExceededException", last["by_error_code"])
	}
	for _, k := range []string{"throttles", "rows_per_sec", "calls", "retries", "seconds"} {
		if _, ok := last[k].(float64); !ok {
			t.Errorf("summary has no %s: %v", k, last)
		}
	}
	for _, rec := range rest {
		if msg, _ := rec["msg"].(string); strings.Contains(msg, "rows in") {
			t.Errorf("a summary for a person inside the JSON log: %v", rec)
		}
	}
}

// Without a terminal, a progress record comes every --progress-interval, not before, with
// the figures of its moment, and none once progress stops (on a synctest clock: the
// intervals pass at once). TestProgressWithoutATerminal shows the records of a real run.
func TestProgressLogsEveryInterval(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		core, logs := observer.New(zapcore.InfoLevel)
		o := &outputOptions{progress: "auto", progressEvery: 30 * time.Second}
		var st job.Stats
		sum := report.NewSummary("run", time.Now())
		stop := startProgress(o, env{stderr: io.Discard}, zap.New(core), progressSource{rows: 100}, &st, sum, func() float64 { return 10 })
		records := func() []observer.LoggedEntry { return logs.FilterMessage("progress").All() }
		for i := 1; i <= 3; i++ {
			st.Rows.Add(10)
			time.Sleep(30*time.Second - time.Millisecond)
			synctest.Wait()
			if n := len(records()); n != i-1 {
				t.Fatalf("a moment before interval %d ends: %d progress records, want %d", i, n, i-1)
			}
			time.Sleep(time.Millisecond)
			synctest.Wait()
			recs := records()
			if len(recs) != i {
				t.Fatalf("after %d intervals: %d progress records, want %d", i, len(recs), i)
			}
			if f := recs[i-1].ContextMap(); f["done"] != int64(10*i) || f["total"] != int64(100) || f["elapsed"] != time.Duration(i)*30*time.Second {
				t.Errorf("record %d: %v, want %d of 100 done, %d s elapsed", i, f, 10*i, 30*i)
			}
		}
		stop()
		time.Sleep(time.Hour)
		if n := len(records()); n != 3 {
			t.Errorf("%d progress records an hour after progress stopped, want the 3 before", n)
		}
	})
}

// A command that cannot start still ends a JSON log with a record of its exit code.
func TestSummaryRecordOfAFailedStart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	in := writeFile(t, "links.csv", linkScenario(2, 0).csv())
	res := bulklink(t, nil, "run", "--input", in, "--report", dir+"/r.csv", "--endpoint-url", "http://127.0.0.1:1",
		"--user-pool-id", "us-east-1_Example1", "--max-attempts", "1", "--log-format", "json")
	lines := strings.Split(strings.TrimSpace(res.stderr), "\n")
	var last map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil {
		t.Fatalf("the last line is not a JSON record: %q", lines[len(lines)-1])
	}
	if last["msg"] != "summary" || last["exit_code"] != float64(res.code) || res.code == exitOK {
		t.Errorf("exit %d, last record %v; want a summary with the exit code", res.code, last)
	}
}

func TestBarFigures(t *testing.T) {
	var p progress
	s := snapshot{done: 12345, total: 100000, rate: 23.44, pace: 25, fraction: 0.12345, eta: 4*time.Minute + 12*time.Second, failed: 3}
	if got, want := p.left(s), "12,345/100,000  12%"; got != want {
		t.Errorf("left %q, want %q", got, want)
	}
	tests := []struct {
		width int
		want  string
	}{
		{80, "23.4 rows/s · pace 25/s · 3 failed · ETA 4m10s"},
		{40, "23.4 rows/s · 3 failed · ETA 4m10s"},
		{30, "23.4 rows/s · ETA 4m10s"},
		{12, "ETA 4m10s"},
		{5, ""},
	}
	for _, tt := range tests {
		got := p.right(s, tt.width)
		if got != tt.want {
			t.Errorf("width %d: %q, want %q", tt.width, got, tt.want)
		}
		if n := utf8.RuneCountInString(got); n > tt.width {
			t.Errorf("width %d: %q takes %d", tt.width, got, n)
		}
	}
	unknown := snapshot{done: 7, total: -1, rate: 0, pace: math.Inf(1), fraction: -1, eta: -1}
	if got, want := p.left(unknown)+" · "+p.right(unknown, 80), "7 rows · 0.0 rows/s · ETA --"; got != want {
		t.Errorf("unknown total: %q, want %q", got, want)
	}
	done := snapshot{done: 10, total: 10, fraction: 1, finished: true, elapsed: 93 * time.Second, pace: 10, rate: 9}
	if got := p.right(done, 80); !strings.HasSuffix(got, "took 1m30s") {
		t.Errorf("finished: %q, want the time it took", got)
	}
}

// discover's bar: users of the estimate on the left; on the right the rate and the ETA, the
// phase, or the time it took, only the last of those where both do not fit.
func TestDiscoverBarFigures(t *testing.T) {
	var d discoverProgress
	listing := discoverSnap{users: 1234, total: 5000, rate: 61.4, fraction: 1234.0 / 5000, eta: 62 * time.Second}
	unknown := discoverSnap{users: 60, fraction: -1, eta: -1}
	matching := discoverSnap{users: 5000, total: 5000, rate: 250.6, fraction: 1, eta: -1, phase: discover.PhaseMatching}
	done := d.finished(discoverSnap{users: 5000, total: 5000, rate: 250.6, fraction: 1, eta: -1, phase: discover.PhaseDone, elapsed: 93 * time.Second})
	for _, tt := range []struct {
		name  string
		s     discoverSnap
		left  string
		right map[int]string // by width
	}{
		{"listing", listing, "1,234/~5,000 users  25%", map[int]string{80: "61 users/s · ETA 1m0s", 20: "ETA 1m0s", 3: "ETA 1m0s", 0: "61 users/s · ETA 1m0s"}},
		{"no estimate", unknown, "60 users", map[int]string{80: "0 users/s", 3: "0 users/s"}},
		{"matching", matching, "5,000/~5,000 users 100%", map[int]string{80: "251 users/s · matching", 20: "matching"}},
		{"finished", done, "5,000/~5,000 users 100%", map[int]string{80: "251 users/s · took 1m30s", 20: "took 1m30s"}},
	} {
		if got := d.left(tt.s); got != tt.left {
			t.Errorf("%s: left %q, want %q", tt.name, got, tt.left)
		}
		for width, want := range tt.right {
			if got := d.right(tt.s, width); got != want {
				t.Errorf("%s, width %d: right %q, want %q", tt.name, width, got, want)
			}
		}
	}
}

func TestScreen(t *testing.T) {
	scr := newScreen(10)
	scr.Write([]byte("0123456789\n"))                // exactly the width: no wrap
	scr.Write([]byte("abcdefghijkl\n"))              // wraps
	scr.Write([]byte("bar 1\n\x1b[1A\x1b[Jbar 2\n")) // redrawn in place
	if got, want := strings.Join(scr.lines(), "|"), "0123456789|abcdefghij|kl|bar 2"; got != want {
		t.Errorf("screen %q, want %q", got, want)
	}
	if scr.wrapped[1] || !scr.wrapped[2] || scr.wrapped[3] {
		t.Errorf("wrapped %v, want only the third line", scr.wrapped)
	}
}
