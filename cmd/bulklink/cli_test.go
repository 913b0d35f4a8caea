package main

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// flagsOf returns the flags a command registers, by name.
func flagsOf(c *command) map[string]*pflag.Flag {
	g := c.groups
	if g == nil {
		g = newFlagGroups()
	}
	if c.flags != nil {
		c.flags(g)
	}
	flags := map[string]*pflag.Flag{}
	for _, gr := range g.groups {
		gr.fs.VisitAll(func(f *pflag.Flag) { flags[f.Name] = f })
	}
	return flags
}

// Every command's help: a synopsis, examples, every flag spelled --name under a group,
// its exit codes; the same text from `bulklink help CMD`, `CMD --help` and `CMD -h`.
func TestCommandHelp(t *testing.T) {
	t.Parallel()
	for _, c := range commands() {
		if c.name == "version" {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			res := bulklink(t, nil, "help", c.name)
			if res.code != exitOK || res.stderr != "" {
				t.Fatalf("bulklink help %s: exit %d, stderr %q; want 0 and nothing", c.name, res.code, res.stderr)
			}
			help := res.stdout
			for _, args := range [][]string{{c.name, "--help"}, {c.name, "-h"}} {
				if r := bulklink(t, nil, args...); r.code != exitOK || r.stdout != help {
					t.Errorf("bulklink %s: exit %d, and not the help of bulklink help %s:\n%s", strings.Join(args, " "), r.code, c.name, r.stdout)
				}
			}
			for _, want := range []string{"bulklink " + c.name + ": " + c.short, "\nUsage:\n  bulklink " + c.name + " ", "\nExamples:\n  ", "\nExit codes:\n  0 "} {
				if !strings.Contains(help, want) {
					t.Errorf("the help lacks %q:\n%s", want, help)
				}
			}
			for name := range flagsOf(c) {
				if !regexp.MustCompile(`(?m)^  --` + regexp.QuoteMeta(name) + `\b`).MatchString(help) {
					t.Errorf("--%s is not in the help", name)
				}
			}
			if m := regexp.MustCompile(`(?m)^\s+-[a-z][a-z-]+`).FindString(help); m != "" {
				t.Errorf("a flag spelled with one dash: %q", m)
			}
			for i, line := range strings.Split(help, "\n") {
				if strings.HasPrefix(line, "  --") && len(line) > 80 {
					t.Errorf("line %d is %d columns wide: %q", i+1, len(line), line)
				}
			}
		})
	}
}

func TestRootHelp(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}} {
		res := bulklink(t, nil, args...)
		if res.code != exitOK {
			t.Errorf("bulklink %s: exit %d, want 0", args[0], res.code)
		}
		for _, c := range commands() {
			if !regexp.MustCompile(`(?m)^  ` + c.name + ` +` + regexp.QuoteMeta(c.short) + `$`).MatchString(res.stdout) {
				t.Errorf("bulklink %s does not list %s:\n%s", args[0], c.name, res.stdout)
			}
		}
	}
	if res := bulklink(t, nil); res.code != exitUsage || !strings.Contains(res.stderr, "Commands:") {
		t.Errorf("bulklink alone: exit %d, stderr %q; want %d and the commands", res.code, res.stderr, exitUsage)
	}
}

// A mistake on the command line is one line: what is wrong, what was probably meant, where
// the help is; exit 2.
func TestCommandLineMistakes(t *testing.T) {
	t.Parallel()
	good := writeFile(t, "links.csv", linkScenario(2, 0).csv())
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"misspelled flag", []string{"run", "--input", good, "--reprot", "r.csv"},
			"bulklink run: unknown flag --reprot (did you mean --report?); see bulklink help run"},
		{"flag cut short", []string{"validate", "--input", good, "--endpoint", "x"}, "unknown flag --endpoint (did you mean --endpoint-url?)"},
		{"unknown flag, nothing near", []string{"run", "--frobnicate"}, "bulklink run: unknown flag --frobnicate; see bulklink help run"},
		{"unknown shorthand", []string{"run", "-x"}, "unknown flag -x"},
		{"a number that is not", []string{"run", "--input", good, "--rate", "fast"}, `bulklink run: --rate "fast": want a number`},
		{"a duration without a unit", []string{"validate", "--input", good, "--timeout", "5"}, `--timeout "5": want a duration such as 500ms, 30s, 5m or 1h30m`},
		{"a value missing", []string{"run", "--input"}, "--input needs a value: --input PATH"},
		{"a stray argument", []string{"validate", "--input", good, "extra"}, `unexpected argument "extra": validate takes flags only`},
		{"misspelled command", []string{"rn", "--input", good}, `bulklink: unknown command "rn" (did you mean run?); the commands: bulklink help`},
		{"help of a misspelled command", []string{"help", "valdate"}, `unknown command "valdate" (did you mean validate?)`},
		{"a report without its path", []string{"report"}, "bulklink report: name the report: bulklink report PATH; see bulklink help report"},
		{"a report of an unknown status", []string{"report", "r.csv", "--status", "faild"}, `bulklink report: --status: unknown status "faild" (did you mean failed?)`},
		{"--only a status run does not write", []string{"run", "--input", good, "--report", "r.csv", "--only", "done"},
			`bulklink run: --only: unknown status "done"; the statuses: linked, already_linked, merged, failed, invalid`},
		{"--only misspelled", []string{"run", "--input", good, "--report", "r.csv", "--only", "failed,invalidd"}, `--only: unknown status "invalidd" (did you mean invalid?)`},
		{"--only of no status", []string{"run", "--input", good, "--report", "r.csv", "--only", " , "}, `bulklink run: --only: no status in " , "`},
		{"an emulator flag's own check", []string{"emulate", "--background-schedule", "soon"}, `bulklink emulate: --background-schedule "soon": schedule "soon": want AT:RATE or AT:RATE/FOR`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := bulklink(t, nil, tt.args...)
			if res.code != exitUsage {
				t.Errorf("exit %d, want %d", res.code, exitUsage)
			}
			if lines := strings.Count(res.stderr, "\n"); lines != 1 || !strings.Contains(res.stderr, tt.want) {
				t.Errorf("stderr (%d lines):\n%s\nwant one line with %q", lines, res.stderr, tt.want)
			}
		})
	}
}

// Command lines written for the versions that parsed flags with the standard library,
// -input and -offline, keep working.
func TestSingleDashFlagsStillWork(t *testing.T) {
	t.Parallel()
	good := writeFile(t, "links.csv", linkScenario(2, 0).csv())
	res := bulklink(t, nil, "validate", "-input", good, "-offline", "-user-pool-id=us-east-1_Example1", "-log-level", "warn")
	if res.code != exitOK {
		t.Errorf("exit %d, want %d", res.code, exitOK)
	}
}

func TestGNUArgs(t *testing.T) {
	g := newFlagGroups()
	var o runOptions
	o.register(g)
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	g.addTo(fs)
	tests := []struct{ in, want string }{
		{"-input a.csv -restart -rate=5", "--input a.csv --restart --rate=5"},
		{"--input -rate --report r", "--input -rate --report r"}, // a value that looks like a flag stays a value
		{"-x -input a -- -report", "-x --input a -- -report"},
		{"--only failed -h", "--only failed -h"},
	}
	for _, tt := range tests {
		if got := strings.Join(gnuArgs(fs, strings.Fields(tt.in)), " "); got != tt.want {
			t.Errorf("gnuArgs(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// validate takes every flag of run, so that swapping the verb is a dry run.
func TestValidateTakesEveryRunFlag(t *testing.T) {
	v := flagsOf(runValidate())
	for name, f := range flagsOf(runLink()) {
		if vf, ok := v[name]; !ok || vf.Value.Type() != f.Value.Type() {
			t.Errorf("validate lacks run's --%s (%s)", name, f.Value.Type())
		}
	}
}

func TestNearest(t *testing.T) {
	names := []string{"report", "restart", "region", "rate", "read-rate", "endpoint-url", "input"}
	tests := []struct{ typed, want string }{
		{"reprot", "report"},
		{"endpoint", "endpoint-url"},
		{"inptu", "input"},
		{"raet", "rate"},
		{"frobnicate", ""},
		{"re", ""}, // a prefix of several: no guess
	}
	for _, tt := range tests {
		if got := nearest(tt.typed, names, 0); got != tt.want {
			t.Errorf("nearest(%q) = %q, want %q", tt.typed, got, tt.want)
		}
	}
}

// A spreadsheet's export is read, or refused in one message that says what to do.
func TestInputDiagnostics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file, content string
		code                int
		want                string
	}{
		{"semicolons", "links.csv", "destination_user;source_provider;source_value\nalice;Google;1\n", exitOK, `read the CSV with ';' between fields`},
		{"a workbook", "links.csv", "PK\x03\x04\x14\x00\x06\x00", exitUsage, "it is a zip archive, such as an Excel workbook (.xlsx) named .csv"},
		{"a typo", "links.csv", "destination_user,source_providr,source_value\nalice,Google,1\n", exitUsage, `(did you mean source_provider?)`},
		{"a directory", "", "", exitUsage, "is a directory: want a .csv or .jsonl file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := t.TempDir()
			if tt.file != "" {
				in = writeFile(t, tt.file, tt.content)
			}
			res := bulklink(t, nil, "validate", "--input", in, "--user-pool-id", "us-east-1_Example1", "--offline", "--log-format", "console")
			if res.code != tt.code || !strings.Contains(res.stderr, tt.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant %d and %q", res.code, res.stderr, tt.code, tt.want)
			}
			if tt.code == exitUsage && strings.Count(res.stderr, "bulklink validate:") != 1 {
				t.Errorf("the error is not told once:\n%s", res.stderr)
			}
		})
	}
}

// Mistakes of configuration are told in the operator's words, once, naming the flag.
func TestConfigurationMessages(t *testing.T) {
	t.Parallel()
	good := writeFile(t, "links.csv", linkScenario(2, 0).csv())
	dir := t.TempDir()
	tests := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"a report in a missing folder", nil, []string{"run", "--input", good, "--report", dir + "/no/r.csv"},
			"bulklink run: --report " + dir + "/no/r.csv: the folder " + dir + "/no does not exist: create it first (mkdir -p " + dir + "/no)"},
		{"an undo report in a missing folder", nil, []string{"undo", "--report", good + ".r.csv", "--undo-report", dir + "/no/u.csv"},
			"--undo-report " + dir + "/no/u.csv: the folder " + dir + "/no does not exist"},
		{"a profile that is not there", nil, []string{"validate", "--input", good, "--profile", "nope", "--online"},
			"bulklink validate: --profile nope: no such profile in /dev/null (AWS_CONFIG_FILE); aws configure list-profiles lists those there are"},
		{"AWS_PROFILE that is not there", []string{"AWS_PROFILE=nope"}, []string{"validate", "--input", good, "--online"},
			`bulklink validate: the profile "nope" (from AWS_PROFILE): no such profile`},
		{"--only on a plain input", nil, []string{"run", "--input", good, "--report", dir + "/o.csv", "--only", "failed", "--endpoint-url", "http://127.0.0.1:1"},
			"--only needs a bulklink report as --input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := bulklink(t, tt.env, append(tt.args, "--log-format", "console")...)
			if res.code != exitUsage || !strings.Contains(res.stderr, tt.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant %d and %q", res.code, res.stderr, exitUsage, tt.want)
			}
			if n := strings.Count(res.stderr, "bulklink "+tt.args[0]+":"); n != 1 {
				t.Errorf("the error is told %d times", n)
			}
			if strings.Contains(res.stderr, "lock") || strings.Contains(res.stderr, "failed to get shared config profile") {
				t.Errorf("the message talks of the lock file or quotes the SDK:\n%s", res.stderr)
			}
		})
	}
	if _, err := os.Stat(dir + "/o.csv"); err == nil {
		t.Errorf("--only on a plain input left a report behind")
	}
}
