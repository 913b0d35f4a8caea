package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/bulklink/bulklink/emulator"
	"github.com/bulklink/bulklink/report"
)

// finishedRun runs 5 rows that link and 2 that fail into a report of the extension ext.
func finishedRun(t *testing.T, ext string) string {
	t.Helper()
	s := linkScenario(5, 2)
	srv := startEmulator(t, emulator.Options{}, s.seed)
	in := writeFile(t, "links.csv", s.csv())
	rep := in + ".report" + ext
	if res := bulklink(t, nil, "run", "--input", in, "--report", rep, "--endpoint-url", srv.URL, "--rate", "0", "--read-rate", "0"); res.code != exitRows {
		t.Fatalf("run: exit %d, want %d", res.code, exitRows)
	}
	return rep
}

// A report at a glance: its state, its rows by status and error code, and which rows to see.
func TestReportSummary(t *testing.T) {
	t.Parallel()
	rep := finishedRun(t, ".csv")
	res := bulklink(t, nil, "report", rep)
	if res.code != exitOK {
		t.Fatalf("exit %d, want 0", res.code)
	}
	for _, want := range []string{
		"the report of bulklink run of ", "finished, exit 1: started ", "\n  7 rows\n",
		"    linked          5\n    failed          2\n", "  errors:\n    LimitExceededException           2\n",
		"see those rows: bulklink report " + rep + " --status failed",
	} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("the summary lacks %q:\n%s", want, res.stdout)
		}
	}

	// A summary that says running while no process holds the lock: a run that was killed.
	var sum map[string]any
	b, _ := os.ReadFile(report.SummaryPath(rep))
	json.Unmarshal(b, &sum)
	sum["state"] = report.StateRunning
	b, _ = json.Marshal(sum)
	os.WriteFile(report.SummaryPath(rep), b, 0o600)
	if res := bulklink(t, nil, "report", rep); !strings.Contains(res.stdout, "and never ended (killed, or the machine stopped): run the same command to resume") {
		t.Errorf("a killed run's report:\n%s", res.stdout)
	}
}

// The rows of a status, piped: CSV in the report's columns, which reads back as an input.
func TestReportRowsAsCSV(t *testing.T) {
	t.Parallel()
	rep := finishedRun(t, ".csv")
	res := bulklink(t, nil, "report", rep, "--status", "failed")
	if res.code != exitOK || res.stderr != "2 of 7 rows (failed)\n" {
		t.Fatalf("exit %d, stderr %q; want 0 and the count", res.code, res.stderr)
	}
	rows, err := csv.NewReader(strings.NewReader(res.stdout)).ReadAll()
	if err != nil || len(rows) != 3 {
		t.Fatalf("stdout is not a header and 2 rows of CSV (%v):\n%s", err, res.stdout)
	}
	head, _ := os.ReadFile(rep)
	if want, _, _ := strings.Cut(string(head), "\n"); strings.Join(rows[0], ",") != want {
		t.Errorf("header %q, want the report's %q", rows[0], want)
	}
	for _, r := range rows[1:] {
		if r[1] != "failed" || r[2] != "LimitExceededException" {
			t.Errorf("row %q: want failed, LimitExceededException", r)
		}
	}
	failed := writeFile(t, "failed.csv", res.stdout)
	if res := bulklink(t, nil, "validate", "--input", failed, "--only", "failed", "--offline"); res.code == exitUsage {
		t.Errorf("the rows printed do not read back as an input:\n%s", res.stderr)
	}
}

func TestReportRowsAsJSONLAndTable(t *testing.T) {
	t.Parallel()
	rep := finishedRun(t, ".jsonl")
	res := bulklink(t, nil, "report", rep, "--error-code", "LimitExceededException")
	lines := strings.Split(strings.TrimSpace(res.stdout), "\n")
	if res.code != exitOK || len(lines) != 2 {
		t.Fatalf("exit %d, %d lines; want 0 and 2 JSONL records:\n%s", res.code, len(lines), res.stdout)
	}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil || m["error_code"] != "LimitExceededException" || m["line"] == nil {
			t.Errorf("record %s: %v", l, err)
		}
	}
	res = bulklink(t, nil, "report", rep, "--status", "failed", "--output", "csv")
	if !strings.HasPrefix(res.stdout, "line,status,error_code,") || !strings.Contains(strings.SplitN(res.stdout, "\n", 2)[0], ",extra") {
		t.Errorf("CSV of a JSONL report: want the report's columns and extra:\n%s", res.stdout)
	}
	res = bulklink(t, nil, "report", rep, "--status", "linked", "--output", "table", "--limit", "3")
	table := strings.Split(strings.TrimSpace(res.stdout), "\n")
	if len(table) != 4 || !regexp.MustCompile(`^LINE +STATUS +ERROR_CODE +DESTINATION_USER`).MatchString(table[0]) {
		t.Errorf("want a header and 3 rows:\n%s", res.stdout)
	}
	if !strings.Contains(res.stderr, "5 of 7 rows (linked) (the first 3 shown)") {
		t.Errorf("stderr %q", res.stderr)
	}
}
