package main

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.uber.org/zap"

	"github.com/bulklink/bulklink/emulator"
	"github.com/bulklink/bulklink/job"
	"github.com/bulklink/bulklink/report"
)

// readMetrics parses a textfile as node_exporter does, into values by name and label.
func readMetrics(t *testing.T, path string) map[string]map[string]float64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("metrics file: %v", err)
	}
	defer f.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(f)
	if err != nil {
		t.Fatalf("parse the metrics file: %v", err)
	}
	out := map[string]map[string]float64{}
	for name, mf := range families {
		out[name] = map[string]float64{}
		for _, m := range mf.GetMetric() {
			key := ""
			for _, l := range m.GetLabel() {
				if l.GetName() != "command" && l.GetName() != "name" {
					key = l.GetValue()
				} else if l.GetName() == "name" && l.GetValue() != "nightly" {
					t.Errorf("%s: name label %q, want the file's name", name, l.GetValue())
				}
			}
			v := m.GetGauge().GetValue()
			if mf.GetType() == dto.MetricType_COUNTER {
				v = m.GetCounter().GetValue()
			}
			out[name][key] = v
		}
	}
	return out
}

// From cron: --metrics-file holds the rows by status and error code, the calls, the exit
// code and the last success, and a failed run after keeps the last success.
func TestMetricsFile(t *testing.T) {
	t.Parallel()
	s := linkScenario(5, 2)
	srv := startEmulator(t, emulator.Options{}, s.seed)
	in := writeFile(t, "links.csv", s.csv())
	prom := filepath.Join(filepath.Dir(in), "nightly.prom")
	res := bulklink(t, nil, "run", "--input", in, "--report", in+".report.csv", "--endpoint-url", srv.URL,
		"--rate", "0", "--read-rate", "0", "--metrics-file", prom)
	if res.code != exitRows {
		t.Fatalf("exit %d, want %d", res.code, exitRows)
	}
	m := readMetrics(t, prom)
	for _, tt := range []struct {
		name, label string
		want        float64
	}{
		{"bulklink_rows", "linked", 5},
		{"bulklink_rows", "failed", 2},
		{"bulklink_row_errors", "LimitExceededException", 2},
		{"bulklink_calls_total", "", 7},
		{"bulklink_throttles_total", "", 0},
		{"bulklink_input_rows", "", 7},
		{"bulklink_running", "", 0},
		{"bulklink_exit_code", "", exitRows},
	} {
		if got, ok := m[tt.name][tt.label]; !ok || got != tt.want {
			t.Errorf("%s{%s} = %v (present %v), want %v", tt.name, tt.label, got, ok, tt.want)
		}
	}
	success := m["bulklink_last_success_timestamp_seconds"][""]
	if age := time.Since(time.Unix(int64(success), 0)); success == 0 || age < 0 || age > time.Hour {
		t.Errorf("last success %v, want the run's end", success)
	}
	for _, name := range []string{"bulklink_rows_per_second", "bulklink_start_timestamp_seconds", "bulklink_last_update_timestamp_seconds", "bulklink_retries_total"} {
		if _, ok := m[name][""]; !ok {
			t.Errorf("no %s", name)
		}
	}

	// The next night, Cognito cannot be reached: exit 3, and the last success stays.
	res = bulklink(t, nil, "run", "--input", in, "--report", in+".next.csv", "--endpoint-url", "http://127.0.0.1:1",
		"--max-attempts", "1", "--metrics-file", prom)
	if res.code != exitFatal {
		t.Fatalf("exit %d, want %d", res.code, exitFatal)
	}
	m = readMetrics(t, prom)
	if m["bulklink_exit_code"][""] != exitFatal || m["bulklink_last_success_timestamp_seconds"][""] != success {
		t.Errorf("after a failed run: exit code %v, last success %v; want %d and %v", m["bulklink_exit_code"][""],
			m["bulklink_last_success_timestamp_seconds"][""], exitFatal, success)
	}

	if res := bulklink(t, nil, "run", "--input", in, "--report", in+".r3.csv", "--metrics-file", filepath.Join(filepath.Dir(in), "m.txt")); res.code != exitUsage {
		t.Errorf("a metrics file node_exporter would not read: exit %d, want %d", res.code, exitUsage)
	}
}

// The counts of calls, throttles and retries are the calls Cognito saw: here a write quota
// of 2 a second under --rate 20 throttles some of them.
func TestMetricsCountTheCalls(t *testing.T) {
	t.Parallel()
	s := linkScenario(6, 0)
	srv := startEmulator(t, emulator.Options{WriteQuota: 2}, s.seed)
	in := writeFile(t, "links.csv", s.csv())
	prom := filepath.Join(filepath.Dir(in), "nightly.prom")
	res := bulklink(t, nil, "run", "--input", in, "--report", in+".report.csv", "--endpoint-url", srv.URL,
		"--rate", "20", "--read-rate", "0", "--metrics-file", prom)
	if res.code != exitOK {
		t.Fatalf("exit %d, want %d\n%s", res.code, exitOK, tail(res.stderr, 2000))
	}
	m := readMetrics(t, prom)
	calls, throttled := srv.Calls("AdminLinkProviderForUser"), srv.Outcomes("AdminLinkProviderForUser")["TooManyRequestsException"]
	if throttled == 0 {
		t.Fatalf("Cognito throttled none of %d calls: the test needs some", calls)
	}
	for _, tt := range []struct {
		name string
		want int64
	}{
		{"bulklink_calls_total", calls},
		{"bulklink_throttles_total", throttled},
		{"bulklink_retries_total", calls - int64(len(s.rows))}, // each row linked, after its throttles
	} {
		if got := m[tt.name][""]; got != float64(tt.want) {
			t.Errorf("%s = %v, want %d: what Cognito saw", tt.name, got, tt.want)
		}
	}
}

// While a command runs, the file says so from the start, and is rewritten every interval
// (on a synctest clock: the intervals pass at once).
func TestMetricsWhileRunning(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "nightly.prom")
	synctest.Test(t, func(t *testing.T) {
		o := &outputOptions{metricsPath: path}
		if err := o.openMetrics("run"); err != nil {
			t.Fatal(err)
		}
		var st job.Stats
		st.Rows.Store(3)
		start := time.Now()
		sum := report.NewSummary("run", start)
		sum.Add(&report.Record{Status: report.Linked})
		var pace atomic.Int64 // what the pacer allows, read by the writer
		pace.Store(7)
		p := &progress{start: start.Add(-time.Second), total: 10, pace: func() float64 { return float64(pace.Load()) }}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { o.metrics.run(ctx, 30*time.Second, sum, &st, p, zap.NewNop()); close(done) }()
		synctest.Wait() // the first write is made before the first interval passes
		m := readMetrics(t, path)
		if m["bulklink_running"][""] != 1 || m["bulklink_rows"]["linked"] != 1 || m["bulklink_pace_calls_per_second"][""] != 7 {
			t.Errorf("metrics of a running command: %v", m)
		}
		if _, ok := m["bulklink_exit_code"]; ok {
			t.Errorf("an exit code while running")
		}
		if got, want := m["bulklink_last_update_timestamp_seconds"][""], float64(start.Unix()); got != want {
			t.Errorf("written at %v, want at the start, %v", got, want)
		}

		for i := 1; i <= 3; i++ {
			sum.Add(&report.Record{Status: report.Failed, ErrorCode: "Timeout"})
			st.Rows.Add(1)
			pace.Store(int64(7 + i))
			time.Sleep(30*time.Second - time.Millisecond)
			synctest.Wait()
			if got := readMetrics(t, path)["bulklink_rows"]["failed"]; got != float64(i-1) {
				t.Fatalf("interval %d, a moment before it ends: %v failed rows, want the %d of the write before", i, got, i-1)
			}
			time.Sleep(time.Millisecond)
			synctest.Wait()
			m := readMetrics(t, path)
			if m["bulklink_rows"]["failed"] != float64(i) || m["bulklink_pace_calls_per_second"][""] != float64(pace.Load()) ||
				m["bulklink_last_update_timestamp_seconds"][""] != float64(start.Add(time.Duration(i)*30*time.Second).Unix()) {
				t.Errorf("after %d intervals: %v; want the figures of now: %d failed, pace %d, written %d s after the start", i, m, i, pace.Load(), 30*i)
			}
		}
		cancel()
		<-done
	})
}
