package main

import (
	"context"
	"math"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/bulklink/bulklink/job"
	"github.com/bulklink/bulklink/metrics"
	"github.com/bulklink/bulklink/report"
)

// metricsEvery is how often --metrics-file is rewritten while a command runs.
const metricsEvery = time.Minute

// metricsWriter writes --metrics-file: when the command starts its rows, every minute, and
// when it ends.
type metricsWriter struct {
	file    *metrics.File
	command string
	started time.Time

	mu   sync.Mutex
	last metrics.Figures // the latest figures, whose pace and input rows the end keeps
}

// openMetrics prepares --metrics-file, when it is given.
func (o *outputOptions) openMetrics(command string) error {
	if o.metricsPath == "" {
		return nil
	}
	f, err := metrics.Open(o.metricsPath)
	if err != nil {
		return usageError{err}
	}
	o.metrics = &metricsWriter{file: f, command: command, started: time.Now(),
		last: metrics.Figures{Command: command, InputRows: -1}}
	return nil
}

// run writes the running command's figures now and every interval until ctx ends.
func (m *metricsWriter) run(ctx context.Context, every time.Duration, sum *report.Summary, st *job.Stats, p *progress, log *zap.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		m.write(m.running(sum, st, p, time.Now()), log)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// running are the figures of a command that runs.
func (m *metricsWriter) running(sum *report.Summary, st *job.Stats, p *progress, now time.Time) metrics.Figures {
	_, byStatus, byCode := sum.Counts()
	fig := metrics.Figures{Command: m.command, Running: true, ByStatus: map[string]int64{}, ByErrorCode: byCode,
		InputRows: p.total, Calls: st.Calls.Load(), Throttles: st.Throttles.Load(), Retries: st.Retries.Load(),
		Verifications: st.Checks.Load(), Pace: p.pace(), Started: m.started, Updated: now}
	for s, n := range byStatus {
		fig.ByStatus[string(s)] = n
	}
	if d := now.Sub(p.start).Seconds(); d > 0 {
		fig.RowsPerSecond = float64(st.Rows.Load()) / d
	}
	return fig
}

// final writes how the command ended: sum is nil when it could not start.
func (m *metricsWriter) final(sum *report.Summary, code int, log *zap.Logger) {
	if code == exitLocked {
		log.Warn("--metrics-file left as it is: another run holds the report's lock, and writes the file")
		return
	}
	m.mu.Lock()
	fig := m.last
	m.mu.Unlock()
	fig.Running, fig.ExitCode, fig.Updated = false, code, time.Now()
	fig.Succeeded = code == exitOK || code == exitRows
	if fig.Started.IsZero() {
		fig.Started = m.started
	}
	if sum != nil {
		_, byStatus, byCode := sum.Counts()
		fig.ByStatus, fig.ByErrorCode = map[string]int64{}, byCode
		for s, n := range byStatus {
			fig.ByStatus[string(s)] = n
		}
		fig.Calls, fig.Throttles, fig.Retries, fig.Verifications = sum.Calls, sum.Throttles, sum.Retries, sum.Checks
		fig.RowsPerSecond = sum.RowsPerSec
	}
	if math.IsInf(fig.Pace, 0) {
		fig.Pace = 0
	}
	m.write(fig, log)
}

func (m *metricsWriter) write(fig metrics.Figures, log *zap.Logger) {
	m.mu.Lock()
	m.last = fig
	m.mu.Unlock()
	if err := m.file.Write(fig); err != nil {
		log.Warn("write --metrics-file", zap.Error(err))
	}
}
