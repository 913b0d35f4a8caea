package metrics

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// parse reads a textfile back as node_exporter does.
func parse(t *testing.T, path string) map[string]*dto.MetricFamily {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(f)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	return families
}

// value returns the value of the metric of family name whose labels include labels.
func value(t *testing.T, families map[string]*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	mf := families[name]
	if mf == nil {
		return 0, false
	}
metrics:
	for _, m := range mf.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range labels {
			if have[k] != v {
				continue metrics
			}
		}
		switch mf.GetType() {
		case dto.MetricType_COUNTER:
			return m.GetCounter().GetValue(), true
		default:
			return m.GetGauge().GetValue(), true
		}
	}
	return 0, false
}

func TestWriteAndKeepTheLastSuccess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nightly.prom")
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Unix(1_800_000_000, 0)
	fig := Figures{Command: "run", Running: true, ByStatus: map[string]int64{"linked": 3}, ByErrorCode: map[string]int64{},
		InputRows: 10, Calls: 4, Throttles: 1, Pace: 9.5, Started: start, Updated: start.Add(time.Minute)}
	if err := f.Write(fig); err != nil {
		t.Fatal(err)
	}
	got := parse(t, path)
	for _, tt := range []struct {
		name   string
		labels map[string]string
		want   float64
		there  bool
	}{
		{"bulklink_running", map[string]string{"command": "run", "name": "nightly"}, 1, true},
		{"bulklink_rows", map[string]string{"status": "linked"}, 3, true},
		{"bulklink_input_rows", nil, 10, true},
		{"bulklink_throttles_total", nil, 1, true},
		{"bulklink_pace_calls_per_second", nil, 9.5, true},
		{"bulklink_exit_code", nil, 0, false}, // not while running
		{"bulklink_last_success_timestamp_seconds", nil, 0, false},
	} {
		v, ok := value(t, got, tt.name, tt.labels)
		if ok != tt.there || ok && v != tt.want {
			t.Errorf("%s%v = %v (present %v), want %v (present %v)", tt.name, tt.labels, v, ok, tt.want, tt.there)
		}
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644: node_exporter runs as another user", fi.Mode().Perm())
	}

	// A run that went through; then one that failed, in a new process: the last success stays.
	end := start.Add(2 * time.Minute)
	fig.Running, fig.ExitCode, fig.Succeeded, fig.Updated = false, 1, true, end
	if err := f.Write(fig); err != nil {
		t.Fatal(err)
	}
	f2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f2.Write(Figures{Command: "run", ExitCode: 3, InputRows: -1, Updated: end.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	got = parse(t, path)
	if v, _ := value(t, got, "bulklink_last_success_timestamp_seconds", nil); v != float64(end.Unix()) {
		t.Errorf("last success %v, want %v", v, end.Unix())
	}
	if v, ok := value(t, got, "bulklink_exit_code", nil); !ok || v != 3 {
		t.Errorf("exit code %v (%v), want 3", v, ok)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("files beside the metrics: %v, want the one file (no temporary left)", entries)
	}
}

func TestOpenRefuses(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct{ path, want string }{
		{filepath.Join(dir, "m.txt"), "only files named *.prom"},
		{filepath.Join(dir, "no", "m.prom"), "does not exist"},
	} {
		if _, err := Open(tt.path); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Open(%s): %v, want %q", tt.path, err, tt.want)
		}
	}
}

// TestOpenReplacesADamagedFile: a file that is not a textfile (a torn write of another tool,
// a stray file under the name) does not stop the command: the last success is unknown, and
// the first Write replaces the file with ours.
func TestOpenReplacesADamagedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.prom")
	if err := os.WriteFile(path, []byte("bulklink_last_success_timestamp_seconds{ 17\x00 not a textfile\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatalf("Open of a damaged file: %v, want it taken to be replaced", err)
	}
	if err := f.Write(Figures{Command: "run", ExitCode: 3, InputRows: -1, Updated: time.Unix(1_800_000_000, 0)}); err != nil {
		t.Fatal(err)
	}
	got := parse(t, path)
	if v, ok := value(t, got, "bulklink_exit_code", nil); !ok || v != 3 {
		t.Errorf("exit code %v (%v), want 3: the file is ours now", v, ok)
	}
	if v, ok := value(t, got, "bulklink_last_success_timestamp_seconds", nil); ok {
		t.Errorf("last success %v, want none: the damaged file's is unknown", v)
	}
}
