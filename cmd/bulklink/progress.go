package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/bulklink/bulklink/input"
	"github.com/bulklink/bulklink/job"
)

// progressSource is what progress knows of the input: the reader, which tells how many of the
// input's bytes it has read (input.Reader.Position), and its rows (-1 when unknown).
type progressSource struct {
	reader input.Reader
	rows   int64
}

// Progress intervals: a live line on a terminal, a log line otherwise (cron, systemd).
const (
	liveEvery = 500 * time.Millisecond
	window    = 10 * time.Second // the rate shown is measured over this much recent time
)

// startProgress shows the run's progress until the returned stop is called.
func startProgress(o *outputOptions, e env, log *zap.Logger, in progressSource, st *job.Stats, resumed int64, pace func() float64) (stop func()) {
	live := o.progress == "always" || o.progress == "auto" && isTerminal(e.stderr)
	if o.progress == "never" {
		return func() {}
	}
	every := o.progressEvery
	if live {
		every = liveEvery
	}
	p := &progress{start: time.Now(), st: st, bytes: in.reader, total: in.rows, pace: pace, resumed: resumed}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				if live {
					p.draw(e.stderr, time.Now())
					fmt.Fprintln(e.stderr)
				}
				return
			case now := <-t.C:
				if live {
					p.draw(e.stderr, now)
				} else {
					p.log(log, now)
				}
			}
		}
	})
	return func() { cancel(); wg.Wait() }
}

type sample struct {
	at   time.Time
	rows int64
}

type progress struct {
	start   time.Time
	st      *job.Stats
	bytes   input.Reader
	total   int64 // rows in the input, estimated; -1 when unknown
	pace    func() float64
	resumed int64    // rows the report held at the start
	samples []sample // the last window's worth, oldest first
}

// snapshot is what both displays show.
type snapshot struct {
	rows, ok, failed int64
	rate, pace       float64
	fraction         float64       // of the input done; -1 when unknown
	eta              time.Duration // -1 when unknown
}

func (p *progress) snap(now time.Time) snapshot {
	s := snapshot{rows: p.st.Rows.Load(), ok: p.st.OK.Load(), failed: p.st.Failed.Load() + p.st.Invalid.Load(),
		pace: p.pace(), fraction: -1, eta: -1}
	p.samples = append(p.samples, sample{now, s.rows})
	for len(p.samples) > 2 && now.Sub(p.samples[1].at) >= window {
		p.samples = p.samples[1:]
	}
	if old := p.samples[0]; now.Sub(old.at) > 0 {
		s.rate = float64(s.rows-old.rows) / now.Sub(old.at).Seconds()
	}
	done := s.rows + p.resumed
	switch {
	case p.total > 0:
		s.fraction = math.Min(1, float64(done)/float64(p.total))
		if s.rate > 0 {
			s.eta = time.Duration(float64(max(0, p.total-done)) / s.rate * float64(time.Second))
		}
	case p.bytes != nil:
		// No row count: judge by the bytes read, which run a little ahead of the rows done.
		if read, size := p.bytes.Position(); size > 0 && read > 0 {
			s.fraction = math.Min(1, float64(read)/float64(size))
			if s.rate > 0 && done > 0 && s.fraction < 1 {
				left := float64(done) * (1 - s.fraction) / s.fraction
				s.eta = time.Duration(left / s.rate * float64(time.Second))
			}
		}
	}
	return s
}

func (p *progress) draw(w io.Writer, now time.Time) {
	s := p.snap(now)
	line := fmt.Sprintf("%d rows", s.rows+p.resumed)
	if p.total > 0 {
		line += fmt.Sprintf("/%d", p.total)
	}
	line += fmt.Sprintf(" (%d ok, %d failed", s.ok, s.failed)
	if p.resumed > 0 {
		line += fmt.Sprintf(", %d done before", p.resumed)
	}
	line += fmt.Sprintf(") · %.1f rows/s", s.rate)
	if !math.IsInf(s.pace, 1) {
		line += fmt.Sprintf(" · pace %.1f/s", s.pace)
	}
	if s.fraction >= 0 {
		line += fmt.Sprintf(" · %.0f%%", 100*s.fraction)
	}
	if s.eta >= 0 {
		line += " · ETA " + s.eta.Round(time.Second).String()
	}
	line += " · " + now.Sub(p.start).Round(time.Second).String()
	fmt.Fprintf(w, "\r\033[K%s", line)
}

func (p *progress) log(log *zap.Logger, now time.Time) {
	s := p.snap(now)
	fields := []zap.Field{
		zap.Int64("done", s.rows+p.resumed), zap.Int64("ok", s.ok), zap.Int64("failed", s.failed), zap.Int64("resumed", p.resumed),
		zap.Float64("rows_per_sec", math.Round(s.rate*10)/10),
		zap.Duration("elapsed", now.Sub(p.start).Round(time.Second)),
	}
	if p.total > 0 {
		fields = append(fields, zap.Int64("total", p.total))
	}
	if s.fraction >= 0 {
		fields = append(fields, zap.Float64("pct", math.Round(1000*s.fraction)/10))
	}
	if s.eta >= 0 {
		fields = append(fields, zap.Duration("eta", s.eta.Round(time.Second)))
	}
	log.Info("progress", fields...)
}
