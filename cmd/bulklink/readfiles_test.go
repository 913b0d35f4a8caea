package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bulklink/bulklink/report"
	"github.com/bulklink/bulklink/schema"
)

// bounded runs the binary as bulklink does, but ends it and fails the test once limit has
// passed: a command that blocks on a planted file must not hang the test too.
func bounded(t *testing.T, limit time.Duration, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), limit)
	defer cancel()
	c := exec.CommandContext(ctx, binary, args...)
	c.Env = append(cleanEnv(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION=us-east-1")
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	err := c.Run()
	if ctx.Err() != nil {
		t.Fatalf("bulklink %s: still running after %v (ended with SIGKILL)\n%s", strings.Join(args, " "), limit, tail(stderr.String(), 2000))
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run bulklink: %v", err)
	}
	return result{code, stdout.String(), stderr.String()}
}

// TestHostileReadFIFOs plants a FIFO, which nobody writes to, at each file bulklink reads
// (issue 23, item 1): the report `bulklink report` shows, its summary, meta and lock, the
// started list of a resumed run, the report undo reads as its input, the metrics file and an
// emulator's seed. Each is refused at once, exit 2, with a message that names the file and
// says what it is; before, each open waited for a writer that never came, through every
// signal. --input takes a FIFO on purpose (TestHostileStreams).
func TestHostileReadFIFOs(t *testing.T) {
	t.Parallel()
	const limit = 30 * time.Second // a bound for a hang, not a measure of speed
	good := hostileHeader + "alice,Google,fifo-a,x\n"
	// fifo replaces path with a FIFO.
	fifo := func(t *testing.T, path string) {
		t.Helper()
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		if err := syscall.Mkfifo(path, 0o600); err != nil {
			t.Skip("mkfifo:", err)
		}
	}
	refused := func(t *testing.T, res result, path string) {
		t.Helper()
		if res.code != exitUsage || !strings.Contains(res.stderr, path+" is not a regular file (a FIFO)") {
			t.Errorf("exit %d, want %d and a message that %s is not a regular file (a FIFO):\n%s", res.code, exitUsage, path, tail(res.stderr, 2000))
		}
	}
	for _, suffix := range []string{"", ".summary.json", ".meta.json", ".lock"} {
		t.Run("report, its "+strings.TrimPrefix(suffix, "."), func(t *testing.T) {
			t.Parallel()
			h := newHostile(t)
			_, rep := h.linked(good)
			if suffix == ".lock" {
				// The lock is only read for a summary that says the run is running.
				b, err := os.ReadFile(report.SummaryPath(rep))
				must(t, err)
				b = bytes.Replace(b, []byte(`"state": "finished"`), []byte(`"state": "running"`), 1)
				must(t, os.WriteFile(report.SummaryPath(rep), b, 0o600))
			}
			fifo(t, rep+suffix)
			refused(t, bounded(t, limit, "report", rep), rep+suffix)
			if suffix == "" {
				refused(t, bounded(t, limit, "report", rep, "--status", "linked"), rep)
			}
		})
	}
	t.Run("run resumed, its started list", func(t *testing.T) {
		t.Parallel()
		h := newHostile(t)
		in, rep := h.linked(good)
		fifo(t, report.StartedPath(rep))
		refused(t, bounded(t, limit, h.args("run", "--input", in, "--report", rep)...), report.StartedPath(rep))
	})
	t.Run("undo, the run's report", func(t *testing.T) {
		t.Parallel()
		h := newHostile(t)
		_, rep := h.linked(good)
		fifo(t, rep) // its meta stays: undo reads it first
		refused(t, bounded(t, limit, h.args("undo", "--report", rep, "--undo-report", filepath.Join(h.dir, "u.csv"), "--yes")...), rep)
		h.noCalls("AdminDisableProviderForUser")
	})
	t.Run("run, its metrics file", func(t *testing.T) {
		t.Parallel()
		h := newHostile(t)
		in := h.file("links.csv", good)
		prom := filepath.Join(h.dir, "bulklink.prom")
		fifo(t, prom)
		refused(t, bounded(t, limit, h.args("run", "--input", in, "--report", filepath.Join(h.dir, "r.csv"), "--metrics-file", prom)...), prom)
		h.noCalls("AdminLinkProviderForUser")
	})
	t.Run("emulate, its seed", func(t *testing.T) {
		t.Parallel()
		seed := filepath.Join(t.TempDir(), "seed.json")
		fifo(t, seed)
		refused(t, bounded(t, limit, "emulate", "--listen", "127.0.0.1:0", "--seed", seed), seed)
	})
}

// TestReportStopsOnSignals: `bulklink report` blocked writing rows to a pipe nobody reads
// (a pager left waiting, a stalled consumer) ends at the first SIGINT or SIGTERM, exit 130 or
// 143 (issue 23, item 1): before, main caught the signals for every command and report
// never read them, so only SIGKILL ended it.
func TestReportStopsOnSignals(t *testing.T) {
	t.Parallel()
	// A report of 20,000 rows, by hand: its rows, printed, fill any pipe's buffer.
	rep := filepath.Join(t.TempDir(), "r.csv")
	var b strings.Builder
	b.WriteString(strings.Join(schema.ColumnNames(), ",") + "\n")
	for i := range 20000 {
		fmt.Fprintf(&b, "%d,linked,,,1,%s,Cognito,user-%d,Google,Cognito_Subject,sub-%d,12,2026-01-02T03:04:05.000Z\n", i+2, hostilePool, i, i)
	}
	must(t, os.WriteFile(rep, []byte(b.String()), 0o600))
	for _, s := range []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGINT, exitSIGINT}, {syscall.SIGTERM, exitSIGTERM}} {
		t.Run(s.sig.String(), func(t *testing.T) {
			t.Parallel()
			r, w, err := os.Pipe()
			must(t, err)
			defer r.Close()
			c := exec.Command(binary, "report", rep, "--status", "linked", "--output", "csv")
			c.Env = cleanEnv()
			c.Stdout = w
			f, err := os.CreateTemp(t.TempDir(), "stderr")
			must(t, err)
			defer f.Close()
			c.Stderr = f
			must(t, c.Start())
			w.Close()
			t.Cleanup(func() { c.Process.Kill(); c.Wait() })
			// Its first row printed, it is running (past main's signal set-up) and is about
			// to fill the pipe, which is read no further.
			if _, err := bufio.NewReader(r).ReadString('\n'); err != nil {
				t.Fatalf("read the first line: %v", err)
			}
			stopsOn(t, c, fileOutput{f}, s.sig, s.code, 10*time.Second)
			if _, err := io.Copy(io.Discard, r); err != nil {
				t.Error(err)
			}
		})
	}
}
