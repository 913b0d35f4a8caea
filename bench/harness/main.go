//go:build linux

// Command harness measures bulklink end to end, as users run it: the built binary as a
// subprocess against the in-process Cognito emulator on loopback. It prints a Markdown
// section per scenario and, with -write, puts them into BENCHMARKS.md after the
// hand-written part.
//
//	go run ./bench/harness [-only pacing,overask,memory,resume,sidebyside,shared,step,quota50,discover,readfirst] [-quick] [-write BENCHMARKS.md]
//
// Scenarios: pacing accuracy at --rate 25, 100 and 1,000; --rate 100 against a quota of 25;
// peak RSS of validate and run up to 10M rows; the time to skip 1M finished rows on resume;
// the AWS CLI and a boto3 thread pool side by side with bulklink; bulklink and boto3 beside
// the emulator's simulated application, steady (shared) and stepping up (step); and --rate
// 200 against a quota of 50 without an application (quota50); discover's users/s at the
// default --list-rate and unpaced, and its peak RSS on a million users (discover); a nightly
// file mostly linked already, --read-first never and auto (readfirst). -quick scales every
// scenario down, for a smoke check in a few minutes. Run it from the repository root after
// `make build`; Linux only (peak RSS comes from ru_maxrss).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// harness holds what the scenarios share.
type harness struct {
	quick       bool
	ws          *workspace
	tools       *tools
	boto3Script string
}

// scale picks the full or the -quick size of a scenario.
func (h *harness) scale(full, quick int) int {
	if h.quick {
		return quick
	}
	return full
}

// logf reports progress on stderr; stdout is the Markdown.
func (h *harness) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "harness: "+format+"\n", args...)
}

type scenario struct {
	name string
	run  func(context.Context, *harness) (*section, error)
}

var scenarios = []scenario{
	{"pacing", pacing},
	{"overask", overAsking},
	{"memory", memory},
	{"resume", resume},
	{"sidebyside", sideBySide},
	{"shared", sharedSteady},
	{"step", sharedStep},
	{"quota50", quota50},
	{"discover", discoverScenario},
	{"readfirst", readFirstBinary},
}

func run(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("harness", flag.ContinueOnError)
	only := fs.String("only", "", "comma-separated scenarios to run (default all): pacing, overask, memory, resume, sidebyside, shared, step, quota50, discover, readfirst")
	quick := fs.Bool("quick", false, "scale every scenario down, for a smoke check")
	bin := fs.String("bin", "bin/bulklink", "the bulklink binary (make build)")
	script := fs.String("boto3-script", "bench/boto3_link.py", "the boto3 contender")
	goBench := fs.String("go-bench", "", "output of the Go benchmarks, to summarise against the engine targets")
	readFirst := fs.String("read-first", "", "results of the in-process read-first measurement (go test ./job -run TestReadFirstTable -readfirsttable FILE), to put beside the scenarios")
	write := fs.String("write", "", "put the results into this BENCHMARKS.md, after its hand-written part; with -only, just those scenarios' sections and targets")
	out := fs.String("out", "", "also write the Markdown to this file")
	logs := fs.String("logs", "", "keep the tools' logs in this directory (default: deleted with the temporary directory)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	selected := scenarios
	if *only != "" {
		selected = nil
		for name := range strings.SplitSeq(*only, ",") {
			i := slices.IndexFunc(scenarios, func(s scenario) bool { return s.name == strings.TrimSpace(name) })
			if i < 0 {
				fmt.Fprintf(os.Stderr, "harness: unknown scenario %q\n", name)
				return 2
			}
			selected = append(selected, scenarios[i])
		}
	}
	binPath, err := filepath.Abs(*bin)
	if err == nil {
		_, err = os.Stat(binPath)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "harness: bulklink binary: %v (run make build)\n", err)
		return 2
	}
	scriptPath, _ := filepath.Abs(*script)

	ws, err := newWorkspace()
	if err != nil {
		fmt.Fprintf(os.Stderr, "harness: %v\n", err)
		return 1
	}
	defer ws.remove()
	if *logs != "" {
		if err := os.MkdirAll(*logs, 0o755); err != nil {
			fmt.Fprintf(os.Stderr, "harness: %v\n", err)
			return 1
		}
		ws.logDir = *logs
	}
	h := &harness{quick: *quick, ws: ws, tools: newTools(binPath, ws), boto3Script: scriptPath}

	var sections []*section
	if *goBench != "" {
		s, err := goBenchmarks(*goBench)
		if err != nil {
			fmt.Fprintf(os.Stderr, "harness: go benchmarks: %v\n", err)
			return 1
		}
		sections = append(sections, s)
	}
	if *readFirst != "" {
		s, err := readFirstInProcess(*readFirst)
		if err != nil {
			fmt.Fprintf(os.Stderr, "harness: read-first measurement: %v\n", err)
			return 1
		}
		sections = append(sections, s)
	}
	started := time.Now()
	for _, sc := range selected {
		t := time.Now()
		h.logf("%s ...", sc.name)
		s, err := sc.run(ctx, h)
		if err != nil {
			fmt.Fprintf(os.Stderr, "harness: %s: %v\n", sc.name, err)
			return 1
		}
		h.logf("%s done in %s", sc.name, time.Since(t).Round(time.Second))
		sections = append(sections, s)
	}

	doc := render(sections, binPath, *quick, time.Since(started))
	fmt.Print(doc)
	if *out != "" {
		if err := os.WriteFile(*out, []byte(doc), 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "harness: %v\n", err)
			return 1
		}
	}
	if *write != "" && *only != "" {
		// Only some scenarios ran: their sections and targets replace theirs, the others stay.
		note := fmt.Sprintf("%s: `go run ./bench/harness -only %s -write %s`, %s.", strings.Join(titles(sections), ", "), *only, *write,
			time.Now().UTC().Format("2006-01-02 15:04 UTC"))
		if err := spliceBenchmarks(*write, sections, note); err != nil {
			fmt.Fprintf(os.Stderr, "harness: %v\n", err)
			return 1
		}
		h.logf("updated %s", *write)
	} else if *write != "" {
		if err := writeBenchmarks(*write, doc); err != nil {
			fmt.Fprintf(os.Stderr, "harness: %v\n", err)
			return 1
		}
		h.logf("wrote %s", *write)
	}
	return 0
}

// render puts the sections together under a table of every target.
func render(sections []*section, bin string, quick bool, took time.Duration) string {
	var b strings.Builder
	title := "End to end (issues 5 and 13)"
	if quick {
		title += ", -quick: scaled down, not the reference numbers"
	}
	fmt.Fprintf(&b, "## %s\n\n", title)
	fmt.Fprintf(&b, "Command: `make bench` (`scripts/bench.sh`: the Go benchmarks, then `go run ./bench/harness -go-bench out/bench/go.txt -write BENCHMARKS.md`), "+
		"%s, harness scenarios %s.\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"), took.Round(time.Second))
	fmt.Fprintf(&b, "Machine, read at run time: %s. The harness runs the built binary (`bin/bulklink`) as a subprocess "+
		"against the emulator, which runs in the harness process on loopback (127.0.0.1), on the same cores. The machine is "+
		"shared with other work (see Machine above): throughput, the Go benchmarks' above all, varies between runs.\n\n", machine(bin))

	fmt.Fprintf(&b, "### Targets\n\n| target | measured | |\n|---|---|---|\n")
	for _, s := range sections {
		for _, c := range s.checks {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", c.target, c.measured, metText(c.met))
		}
	}
	b.WriteString("\n")
	for _, s := range sections {
		fmt.Fprintf(&b, "### %s\n\n%s", s.title, s.body.String())
	}
	return b.String()
}
