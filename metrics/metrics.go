// Package metrics writes what a bulklink command did as a Prometheus textfile: the format
// node_exporter's textfile collector reads from *.prom files in its directory, so that runs
// from cron or a systemd timer can be graphed and alerted on without a server of their own.
//
// The file is made with prometheus/client_golang, not by building strings: a registry
// gathers the figures as constant metrics, prometheus.WriteToTextfile encodes them in the
// text exposition format (names, label escaping, HELP and TYPE lines) and renames a
// temporary file over the old one, so that node_exporter never reads half a file.
// prometheus/common's text parser reads the old file back, to keep the time of the last
// success across runs that fail.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/bulklink/bulklink/internal/safefile"
)

// Figures are what one write of the file tells.
type Figures struct {
	Command string // run, validate or undo
	Running bool   // the command has not ended; ExitCode is meaningless then
	// ExitCode is how the command ended.
	ExitCode int
	// Succeeded marks a command that went through its whole input (exit 0 or 1): the time
	// of the write becomes the last success.
	Succeeded   bool
	ByStatus    map[string]int64 // the report's records by status, resumed ones included
	ByErrorCode map[string]int64 // and by error code
	InputRows   int64            // rows of the input; -1 when unknown
	// This command's calls.
	Calls, Throttles, Retries, Verifications int64
	RowsPerSecond                            float64 // of this command, so far
	Pace                                     float64 // the write rate the pacer allows now; 0 or +Inf when none
	Started, Updated                         time.Time
}

// File is a textfile that a command rewrites, every minute and when it ends.
type File struct {
	path        string
	name        string  // the name label: the file's name without .prom, so that the files of several jobs do not collide
	lastSuccess float64 // seconds since the epoch; 0 for never
}

// Open prepares to write the textfile at path. It reads the last success from the file
// when there is one. A path that does not end in .prom is refused: node_exporter would not
// read it.
func Open(path string) (*File, error) {
	if !strings.HasSuffix(path, ".prom") {
		return nil, fmt.Errorf("--metrics-file %s: node_exporter reads only files named *.prom", path)
	}
	if fi, err := os.Stat(filepath.Dir(path)); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("--metrics-file %s: the folder %s does not exist", path, filepath.Dir(path))
	}
	f := &File{path: path, name: strings.TrimSuffix(filepath.Base(path), ".prom")}
	old, err := safefile.Open(context.Background(), path, os.O_RDONLY, safefile.Policy{}) // a FIFO is refused, not waited on
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return f, nil
	case err != nil:
		return nil, fmt.Errorf("--metrics-file: %w", err)
	}
	defer old.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(old)
	if err != nil {
		return f, nil // not ours, or damaged: it is replaced, and the last success is unknown
	}
	if mf := families[lastSuccessName]; mf != nil && len(mf.GetMetric()) > 0 {
		f.lastSuccess = mf.GetMetric()[0].GetGauge().GetValue()
	}
	return f, nil
}

const lastSuccessName = "bulklink_last_success_timestamp_seconds"

// Write writes fig to the file, atomically.
func (f *File) Write(fig Figures) error {
	if fig.Succeeded {
		f.lastSuccess = float64(fig.Updated.UnixMilli()) / 1000
	}
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(&collector{fig: fig, lastSuccess: f.lastSuccess, labels: prometheus.Labels{"command": fig.Command, "name": f.name}}); err != nil {
		return err
	}
	if err := prometheus.WriteToTextfile(f.path, reg); err != nil {
		return fmt.Errorf("write --metrics-file: %w", err)
	}
	return nil
}

// collector hands the figures to the registry as constant metrics.
type collector struct {
	fig         Figures
	lastSuccess float64
	labels      prometheus.Labels
}

// desc is one metric of the file.
type desc struct {
	name, help string
	kind       prometheus.ValueType
	label      string // the variable label, if any
}

var descs = []desc{
	{"bulklink_rows", "Records of the report, by status (rows resumed from an earlier run included).", prometheus.GaugeValue, "status"},
	{"bulklink_row_errors", "Records of the report that carry an error code, by code.", prometheus.GaugeValue, "error_code"},
	{"bulklink_input_rows", "Rows of the input.", prometheus.GaugeValue, ""},
	{"bulklink_calls_total", "Write calls this command sent, every attempt counted.", prometheus.CounterValue, ""},
	{"bulklink_throttles_total", "Calls of this command answered TooManyRequestsException.", prometheus.CounterValue, ""},
	{"bulklink_retries_total", "Attempts of this command beyond each row's first.", prometheus.CounterValue, ""},
	{"bulklink_verifications_total", "AdminGetUser calls this command made to settle ambiguous answers.", prometheus.CounterValue, ""},
	{"bulklink_rows_per_second", "Rows this command finished per second.", prometheus.GaugeValue, ""},
	{"bulklink_pace_calls_per_second", "Write calls per second the pacer allows now.", prometheus.GaugeValue, ""},
	{"bulklink_running", "1 while the command runs (or was killed before it could say it ended), 0 once it ended.", prometheus.GaugeValue, ""},
	{"bulklink_exit_code", "The exit code of the command that ended.", prometheus.GaugeValue, ""},
	{"bulklink_start_timestamp_seconds", "When the command started.", prometheus.GaugeValue, ""},
	{"bulklink_last_update_timestamp_seconds", "When this file was written.", prometheus.GaugeValue, ""},
	{lastSuccessName, "When a command last went through its whole input (exit 0 or 1).", prometheus.GaugeValue, ""},
}

func (d desc) desc(labels prometheus.Labels) *prometheus.Desc {
	var variable []string
	if d.label != "" {
		variable = []string{d.label}
	}
	return prometheus.NewDesc(d.name, d.help, variable, labels)
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range descs {
		ch <- d.desc(c.labels)
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	fig := c.fig
	seconds := func(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }
	for _, d := range descs {
		pd := d.desc(c.labels)
		emit := func(v float64, label ...string) {
			ch <- prometheus.MustNewConstMetric(pd, d.kind, v, label...)
		}
		switch d.name {
		case "bulklink_rows":
			for st, n := range fig.ByStatus {
				emit(float64(n), st)
			}
		case "bulklink_row_errors":
			for code, n := range fig.ByErrorCode {
				emit(float64(n), code)
			}
		case "bulklink_input_rows":
			if fig.InputRows >= 0 {
				emit(float64(fig.InputRows))
			}
		case "bulklink_calls_total":
			emit(float64(fig.Calls))
		case "bulklink_throttles_total":
			emit(float64(fig.Throttles))
		case "bulklink_retries_total":
			emit(float64(fig.Retries))
		case "bulklink_verifications_total":
			emit(float64(fig.Verifications))
		case "bulklink_rows_per_second":
			emit(math.Round(fig.RowsPerSecond*100) / 100)
		case "bulklink_pace_calls_per_second":
			if fig.Pace > 0 && !math.IsInf(fig.Pace, 1) {
				emit(math.Round(fig.Pace*100) / 100)
			}
		case "bulklink_running":
			emit(map[bool]float64{true: 1, false: 0}[fig.Running])
		case "bulklink_exit_code":
			if !fig.Running {
				emit(float64(fig.ExitCode))
			}
		case "bulklink_start_timestamp_seconds":
			if !fig.Started.IsZero() {
				emit(seconds(fig.Started))
			}
		case "bulklink_last_update_timestamp_seconds":
			emit(seconds(fig.Updated))
		case lastSuccessName:
			if c.lastSuccess > 0 {
				emit(c.lastSuccess)
			}
		}
	}
}
