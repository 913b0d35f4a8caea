package main

import (
	"context"
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
	now := time.Now()
	o.metrics = &metricsWriter{file: f, command: command, started: now,
		last: metrics.Figures{Command: command, InputRows: -1, Started: now}}
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
	byStatus, byCode := counts(sum)
	fig := metrics.Figures{Command: m.command, Running: true, ByStatus: byStatus, ByErrorCode: byCode,
		InputRows: p.total, Calls: st.Calls(), Throttles: st.Throttles(), Retries: st.Retries(),
		Verifications: st.Checks(), Pace: p.pace(), Started: m.started, Updated: now}
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
	if sum != nil {
		fig.ByStatus, fig.ByErrorCode = counts(sum)
		fig.Calls, fig.Throttles, fig.Retries, fig.Verifications = sum.Calls, sum.Throttles, sum.Retries, sum.Checks
		fig.RowsPerSecond = sum.RowsPerSec
	}
	m.write(fig, log) // an unlimited pace (+Inf) is left out of the file
}

// counts are the summary's records by status and by error code, as the metrics name them.
func counts(sum *report.Summary) (byStatus, byCode map[string]int64) {
	_, st, byCode := sum.Counts()
	byStatus = make(map[string]int64, len(st))
	for s, n := range st {
		byStatus[string(s)] = n
	}
	return byStatus, byCode
}

func (m *metricsWriter) write(fig metrics.Figures, log *zap.Logger) {
	m.mu.Lock()
	m.last = fig
	m.mu.Unlock()
	if err := m.file.Write(fig); err != nil {
		log.Warn("write --metrics-file", zap.Error(err))
	}
}
