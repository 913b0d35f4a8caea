package main

import (
	"bufio"
	"encoding/json"
	"strings"
	"testing"

	"github.com/bulklink/bulklink/emulator"
)

// --rate auto, end to end: the binary reads the quota and the usage from the emulator
// (Service Quotas and CloudWatch on the same endpoint) while the emulator's application
// traffic shares the quota, paces under the headroom, and fails no row.
func TestRunRateAuto(t *testing.T) {
	t.Parallel()
	s := linkScenario(120, 0)
	srv := startEmulator(t, emulator.Options{WriteQuota: 25, BackgroundRate: 10}, s.seed)
	rep, res := runCSV(t, s, srv,
		"--rate", "auto", "--rate-margin", "20%", "--log-format", "json", "--progress", "never")
	if res.code != exitOK {
		t.Errorf("exit code %d, want %d: every row linked", res.code, exitOK)
	}
	s.check(t, readReport(t, rep), 2)
	s.checkLinks(t, srv.Emulator)

	// The log tells the ceiling read, from the quota the emulator applies.
	var read map[string]any
	var started bool
	sc := bufio.NewScanner(strings.NewReader(res.stderr))
	for sc.Scan() {
		var e map[string]any
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			continue
		}
		switch e["msg"] {
		case "rate auto: ceiling from the quota's headroom":
			if read == nil {
				read = e
			}
		case "run started":
			started = e["rate_auto"] == true
			if read == nil {
				t.Error("the run started before the first read of the quota")
			}
		}
	}
	if read == nil {
		t.Fatalf("no ceiling read in the log:\n%s", tail(res.stderr, 3000))
	}
	// The emulator's newest complete minute holds at most a minute of its application's
	// traffic: the headroom is between 25 − 10 and 25, give or take its noise.
	c, _ := read["ceiling"].(float64)
	if read["region"] != "us-east-1" || read["quota"] != 25.0 || read["margin"] != 0.2 || c < 0.8*12 || c > 0.8*25 {
		t.Errorf("the first read: %v, want us-east-1, quota 25, margin 0.2 and a ceiling of 80%% of 12 to 25", read)
	}
	if !started {
		t.Error(`the "run started" line does not say rate_auto`)
	}
	if calls := srv.Calls("GetMetricData"); calls < 1 {
		t.Errorf("%d GetMetricData calls, want the usage read", calls)
	}
	if bg := srv.Background(); bg.Calls == 0 {
		t.Error("no application traffic while bulklink ran")
	}
}

// --rate and --rate-margin take what they say, and refuse the rest as usage errors.
func TestRateFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string // in stderr
	}{
		{[]string{"--rate", "fast"}, "want a number of write calls per second, or auto"},
		{[]string{"--rate", "auto", "--rate-margin", "100%"}, "want a share of the headroom in [0%, 100%)"},
		{[]string{"--rate", "auto", "--rate-margin", "-0.1"}, "want a share of the headroom"},
		{[]string{"--rate", "-1"}, "--rate must not be negative"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			in := writeFile(t, "links.csv", linkScenario(1, 0).csv())
			res := bulklink(t, nil, append([]string{"run", "--input", in, "--report", in + ".report.csv", "--endpoint-url", "http://127.0.0.1:9"}, tc.args...)...)
			if res.code != exitUsage || !strings.Contains(res.stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", res.code, tail(res.stderr, 500), exitUsage, tc.want)
			}
		})
	}
	res := bulklink(t, nil, "run", "-h")
	if res.code != 0 || !strings.Contains(res.stdout, "--rate N") || !strings.Contains(res.stdout, "--rate-margin share") || !strings.Contains(res.stdout, "(default 10%)") || !strings.Contains(res.stdout, "auto: the quota's headroom") {
		t.Errorf("run -h: exit %d, does not show --rate auto and --rate-margin 10%%:\n%s", res.code, res.stdout)
	}
}
