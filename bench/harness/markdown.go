//go:build linux

package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// section is a scenario's part of BENCHMARKS.md, with its targets.
type section struct {
	title  string
	body   strings.Builder
	checks []check
}

// check is one target: what was measured against it and whether it was met.
type check struct {
	target   string
	measured string
	met      bool
}

func (s *section) printf(format string, args ...any) { fmt.Fprintf(&s.body, format, args...) }

// table writes a Markdown table.
func (s *section) table(header []string, rows [][]string) {
	s.printf("| %s |\n|%s\n", strings.Join(header, " | "), strings.Repeat("---|", len(header)))
	for _, r := range rows {
		s.printf("| %s |\n", strings.Join(r, " | "))
	}
	s.printf("\n")
}

func (s *section) check(target, measured string, met bool) {
	s.checks = append(s.checks, check{target, measured, met})
}

// verdict writes a section's closing line on its targets.
func (s *section) verdict(why string) {
	met := 0
	for _, c := range s.checks {
		if c.met {
			met++
		}
	}
	switch {
	case len(s.checks) == 0:
	case met == len(s.checks):
		s.printf("**Target met.** ")
	default:
		s.printf("**Target missed** (%d of %d checks met). ", met, len(s.checks))
	}
	s.printf("%s\n\n", why)
}

func metText(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

// Number formats.
func f0(v float64) string   { return withCommas(strconv.FormatFloat(v, 'f', 0, 64)) }
func f1(v float64) string   { return strconv.FormatFloat(v, 'f', 1, 64) }
func f3(v float64) string   { return strconv.FormatFloat(v, 'f', 3, 64) }
func pct2(v float64) string { return strconv.FormatFloat(100*v, 'f', 2, 64) + "%" }
func pct(v float64) string  { return strconv.FormatFloat(100*v, 'f', 1, 64) + "%" }
func secs(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + " s"
}

func withCommas(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// machine describes the computer the numbers come from, read at run time.
func machine(bin string) string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if name, ok := strings.CutPrefix(line, "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(name), ":"))
				break
			}
		}
	}
	mem := "unknown memory"
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		fields := strings.Fields(string(b))
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			if kib, err := strconv.ParseFloat(fields[1], 64); err == nil {
				mem = f1(kib/(1<<20)) + " GiB"
			}
		}
	}
	kernel := "Linux"
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = "Linux " + strings.TrimSpace(string(b))
	}
	version := commandOutput(bin, "version")
	return fmt.Sprintf("%d × %s, %s, %s, %s; %s", runtime.NumCPU(), cpu, mem, kernel, runtime.Version(), version)
}

// commandOutput is the first line a command prints, or "unknown".
func commandOutput(name string, args ...string) string {
	out, err := exec.Command(name, args...).CombinedOutput()
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	if err != nil || line == "" {
		return "unknown"
	}
	return line
}

// goBenchmarks turns the output of `go test -bench` into a section: rows/s of each
// benchmark, against the engine targets.
func goBenchmarks(path string) (*section, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s := &section{title: "Engine overhead, this run"}
	s.printf("The Go benchmarks above, as `scripts/bench.sh` ran them just before the harness " +
		"(raw output: `out/bench/go.txt`).\n\n")
	var rows [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") {
			continue
		}
		name := cutProcs(fields[0])
		var perSec float64
		for i := 2; i+1 < len(fields); i += 2 {
			if fields[i+1] == "rows/s" {
				perSec, _ = strconv.ParseFloat(fields[i], 64)
			}
		}
		target, met := "", ""
		switch {
		case strings.HasPrefix(name, "BenchmarkEngineInProcess"):
			target, met = "≥ 100,000", metText(perSec >= 100_000)
			s.check("engine in-process ≥ 100,000 rows/s ("+strings.TrimPrefix(name, "BenchmarkEngineInProcess/")+")", f0(perSec)+" rows/s", perSec >= 100_000)
		case strings.HasPrefix(name, "BenchmarkEngineSDK"):
			target, met = "≥ 3,000", metText(perSec >= 3_000)
			s.check("engine through the SDK ≥ 3,000 rows/s ("+strings.TrimPrefix(name, "BenchmarkEngineSDK/")+")", f0(perSec)+" rows/s", perSec >= 3_000)
		}
		rows = append(rows, []string{"`" + name + "`", f0(perSec), target, met})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: no benchmark results", path)
	}
	s.table([]string{"benchmark", "rows/s", "target", "met"}, rows)
	s.verdict("The engine alone, and the engine with the SDK and the emulator sharing the two cores; a real run is bound by the quota, hundreds of times lower.")
	return s, nil
}

// cutProcs drops the -GOMAXPROCS suffix go test adds to a benchmark's name.
func cutProcs(name string) string {
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		if _, err := strconv.Atoi(name[i+1:]); err == nil {
			return name[:i]
		}
	}
	return name
}

// marker separates the hand-written part of BENCHMARKS.md from what the harness writes.
const marker = "<!-- Everything below is written by `go run ./bench/harness -write BENCHMARKS.md`: edit the harness, not this. -->"

// writeBenchmarks replaces what follows the marker in the file at path with text. Without
// a marker, the text goes after the "Engine overhead" section (before the next ## heading),
// and whatever followed it is dropped.
func writeBenchmarks(path, text string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	doc := string(b)
	head, _, found := strings.Cut(doc, marker)
	if !found {
		head = doc
		if i := strings.Index(doc, "\n## Engine overhead"); i >= 0 {
			if j := strings.Index(doc[i+1:], "\n## "); j >= 0 {
				head = doc[:i+1+j+1]
			}
		}
	}
	head = strings.TrimRight(head, "\n") + "\n\n"
	return os.WriteFile(path, []byte(head+marker+"\n\n"+text), 0o644)
}

// titles are the sections' titles.
func titles(sections []*section) []string {
	var t []string
	for _, s := range sections {
		t = append(t, s.title)
	}
	return t
}

// updatedSince starts the line that lists the sections a partial run rewrote.
const updatedSince = "Rewritten since by a run of some scenarios only: "

// spliceBenchmarks puts the sections of a run of some scenarios (-only) into the written part
// of the BENCHMARKS.md at path: each replaces the section of its title (or is added at the
// end), each of its targets replaces the row of the same target in the Targets table (or is
// added to it), and note joins the line that says which sections were rewritten since the
// last full run. The other sections, and their targets, stay as they were.
func spliceBenchmarks(path string, sections []*section, note string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	head, doc, found := strings.Cut(string(b), marker)
	if !found {
		return fmt.Errorf("%s has no %q: run every scenario once with -write", path, marker)
	}
	for _, s := range sections {
		text := fmt.Sprintf("### %s\n\n%s", s.title, s.body.String())
		start := strings.Index(doc, "\n### "+s.title+"\n")
		if start < 0 {
			doc = strings.TrimRight(doc, "\n") + "\n\n" + text
		} else {
			end := len(doc)
			if i := strings.Index(doc[start+1:], "\n### "); i >= 0 {
				end = start + 1 + i
			}
			doc = doc[:start+1] + strings.TrimRight(text, "\n") + "\n" + doc[end:]
		}
		for _, c := range s.checks {
			row := fmt.Sprintf("| %s | %s | %s |", c.target, c.measured, metText(c.met))
			doc = replaceTarget(doc, c.target, row)
		}
	}
	lines := strings.Split(doc, "\n")
	at := -1
	for i, l := range lines {
		if strings.HasPrefix(l, updatedSince) {
			lines[i] = l + " " + note
			at = i
			break
		}
	}
	if at < 0 {
		for i, l := range lines {
			if strings.HasPrefix(l, "Command: `make bench`") {
				lines = slices.Insert(lines, i+1, "", updatedSince+note)
				break
			}
		}
	}
	return os.WriteFile(path, []byte(head+marker+strings.Join(lines, "\n")), 0o644)
}

// replaceTarget replaces the Targets row of target in doc with row, or adds row at the end
// of the table.
func replaceTarget(doc, target, row string) string {
	start := strings.Index(doc, "### Targets\n")
	if start < 0 {
		return doc
	}
	end := start + strings.Index(doc[start:], "\n\n|")
	if i := strings.Index(doc[end+2:], "\n\n"); i >= 0 {
		end = end + 2 + i
	} else {
		end = len(doc)
	}
	table := doc[start:end]
	prefix := "| " + target + " |"
	for _, l := range strings.Split(table, "\n") {
		if strings.HasPrefix(l, prefix) {
			return doc[:start] + strings.Replace(table, l, row, 1) + doc[end:]
		}
	}
	return doc[:end] + "\n" + row + doc[end:]
}
