//go:build linux

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bulklink/bulklink/report"
)

// child is how a subprocess ended.
type child struct {
	start  time.Time
	wall   time.Duration
	cpu    time.Duration // user and system time of the child and the processes it waited for
	exit   int
	maxRSS int64 // peak resident set, KiB; 0 when not measured
	log    string
}

// tools run the contenders as subprocesses with a hermetic AWS environment: dummy
// credentials, us-east-1, no profile, no proxy, and no retry settings (each tool keeps its
// defaults, as users run it).
type tools struct {
	bin     string // bulklink
	timeBin string // GNU time, which measures bulklink's peak RSS
	env     []string
	ws      *workspace
}

func newTools(bin string, ws *workspace) *tools {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		upper := strings.ToUpper(name)
		if strings.HasPrefix(upper, "AWS_") || strings.HasSuffix(upper, "_PROXY") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env,
		"AWS_ACCESS_KEY_ID=AKIABENCH0000000000", "AWS_SECRET_ACCESS_KEY=bench-secret",
		"AWS_REGION=us-east-1", "AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE="+ws.dir+"/aws-config", "AWS_SHARED_CREDENTIALS_FILE="+ws.dir+"/aws-credentials",
		"AWS_EC2_METADATA_DISABLED=true", "NO_PROXY=127.0.0.1,localhost",
	)
	timeBin, _ := exec.LookPath("/usr/bin/time")
	return &tools{bin: bin, timeBin: timeBin, env: env, ws: ws}
}

// start runs name with args until it exits or timeout passes, its output to a log file in
// the workspace. The child leads its own process group, which is killed when it exits, when
// it times out, or when the harness dies, so that nothing it started outlives it.
func (t *tools) start(ctx context.Context, timeout time.Duration, logName, name string, args ...string) (child, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c := child{log: t.ws.logPath(logName)}
	logFile, err := os.Create(c.log)
	if err != nil {
		return c, err
	}
	defer logFile.Close()

	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = t.env
	cmd.Dir = t.ws.dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second

	c.start = time.Now()
	err = cmd.Start()
	if err != nil {
		return c, fmt.Errorf("start %s: %w", name, err)
	}
	err = cmd.Wait()
	c.wall = time.Since(c.start)
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // grandchildren left behind, if any
	if ctx.Err() != nil {
		return c, fmt.Errorf("%s: %w after %s (log: %s)", name, ctx.Err(), c.wall.Round(time.Second), c.log)
	}
	if _, ok := errors.AsType[*exec.ExitError](err); err != nil && !ok {
		return c, fmt.Errorf("%s: %w", name, err)
	}
	c.exit = cmd.ProcessState.ExitCode()
	c.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return c, nil
}

// bulklink runs the bulklink binary with args, adding to run --progress never and
// --log-format json (the default without a terminal, said outright), and measures its peak
// RSS.
//
// The peak RSS comes from GNU time (%M), not from the rusage of the harness's own child:
// Go starts children with vfork (CLONE_VM), and on exec Linux records the parent's peak RSS
// as the child's ru_maxrss, so a child of a harness that holds a seeded emulator would
// report the harness's peak, not its own. GNU time forks a copy of its own small process,
// which sets the floor at about 1 MiB.
func (t *tools) bulklink(ctx context.Context, timeout time.Duration, logName string, args ...string) (child, error) {
	if len(args) > 0 && args[0] == "run" {
		args = append(args, "--progress", "never", "--log-format", "json")
	}
	if t.timeBin == "" {
		return t.start(ctx, timeout, logName, t.bin, args...)
	}
	rssFile := t.ws.path(logName + ".maxrss")
	c, err := t.start(ctx, timeout, logName, t.timeBin, append([]string{"-f", "%M", "-o", rssFile, t.bin}, args...)...)
	if err != nil {
		return c, err
	}
	// With a non-zero exit, GNU time writes "Command exited with non-zero status N" first.
	b, err := os.ReadFile(rssFile)
	if err == nil {
		lines := strings.Fields(string(b))
		if len(lines) == 0 {
			err = fmt.Errorf("%s is empty", rssFile)
		} else {
			c.maxRSS, err = strconv.ParseInt(lines[len(lines)-1], 10, 64)
		}
	}
	if err != nil {
		return c, fmt.Errorf("peak RSS of bulklink: %w", err)
	}
	return c, nil
}

// runResult is a finished `bulklink run` or `validate`: its process and its summary.
type runResult struct {
	child
	sum *report.Summary
}

// bulklinkReport runs bulklink with args and reads the summary it wrote beside reportPath.
// An exit code other than 0 or 1 (some rows failed) is an error.
func (t *tools) bulklinkReport(ctx context.Context, timeout time.Duration, logName, reportPath string, args ...string) (runResult, error) {
	c, err := t.bulklink(ctx, timeout, logName, args...)
	if err != nil {
		return runResult{child: c}, err
	}
	if c.exit != 0 && c.exit != 1 {
		return runResult{child: c}, fmt.Errorf("bulklink %s exited %d (log: %s)", args[0], c.exit, c.log)
	}
	sum, err := report.ReadSummary(reportPath)
	if err != nil {
		return runResult{child: c}, err
	}
	return runResult{child: c, sum: sum}, nil
}

// failed is the rows the run reported failed or invalid.
func (r runResult) failed() int64 { return r.sum.Count(report.Failed) + r.sum.Count(report.Invalid) }

// newRows is the rows this run did, not counting those a resumed report held.
func (r runResult) newRows() int64 { return r.sum.Rows - r.sum.Resumed }

func (r runResult) rowsPerSec() float64 { return float64(r.newRows()) / r.wall.Seconds() }

// phases splits a run's wall time at its "run started" log line: before it, the run locks
// and fingerprints the input and reads a resumed report back; after it, it reads the input
// and runs the rows. ok is false when the log has no such line.
func (r runResult) phases() (setup, rows time.Duration, ok bool) {
	logRecords(r.log, func(e logRecord) bool {
		if e.Msg == "run started" {
			setup, rows, ok = e.TS.Sub(r.start), r.wall-e.TS.Sub(r.start), true
		}
		return !ok
	})
	return setup, rows, ok
}

// logRecord is the part of a bulklink JSON log record the harness reads.
type logRecord struct {
	TS          time.Time `json:"ts"`
	Msg         string    `json:"msg"`
	Rate        *float64  `json:"rate"`
	Ceiling     float64   `json:"ceiling"`
	Application float64   `json:"application"`
}

// logRecords passes each record of the bulklink JSON log at path to each, until each returns
// false; lines that are not JSON records are passed over, and a log that cannot be read has
// none.
func logRecords(path string, each func(logRecord) bool) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var e logRecord
		if json.Unmarshal(sc.Bytes(), &e) == nil && !each(e) {
			return
		}
	}
}

func mib(kib int64) float64 { return float64(kib) / 1024 }
