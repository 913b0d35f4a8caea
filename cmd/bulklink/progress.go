package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"go.uber.org/zap"

	"github.com/bulklink/bulklink/input"
	"github.com/bulklink/bulklink/job"
	"github.com/bulklink/bulklink/report"
)

// Progress is shown two ways. On a terminal, a live bar drawn by vbauerster/mpb: it measures
// the terminal at every redraw (so the bar fits after a resize), prints what is written to it
// above the bar (the operator's log goes there while the bar is up: see swapWriter), and only
// redraws on a terminal. Drawing it by hand took escape codes that wrapped on narrow
// terminals and let log lines land inside the bar. Without a terminal (cron, systemd), a log
// record every --progress-interval, with a rate and an ETA from the first one on. The bar
// shows only figures bulklink counts, never a value of the input; the log lines above it
// are inert already (terminal.go).

// progressSource is what progress knows of the input: the reader, which tells how many of the
// input's bytes it has read (input.Reader.Position), and its rows (-1 when unknown).
type progressSource struct {
	reader input.Reader
	rows   int64
}

// Progress intervals.
const (
	liveEvery   = 500 * time.Millisecond // the bar's figures are measured this often
	redrawEvery = 150 * time.Millisecond // the bar is redrawn, and the log above it flushed, this often
	window      = 10 * time.Second       // the rate shown is measured over this much recent time
	minBar      = 10                     // columns the bar itself keeps before figures are dropped
)

// startProgress shows the run's progress until the returned stop is called. sum is the
// summary the run's records are counted in (its Resumed rows were done before), pace the
// current write rate; metrics, when --metrics-file is given, are written from both.
func startProgress(o *outputOptions, e env, log *zap.Logger, in progressSource, st *job.Stats, sum *report.Summary, pace func() float64) (stop func()) {
	p := &progress{start: time.Now(), st: st, bytes: in.reader, total: in.rows, pace: pace, resumed: sum.Resumed}
	p.samples = []sample{{p.start, 0}} // the first figures are measured from the start
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	if o.metrics != nil {
		wg.Go(func() { o.metrics.run(ctx, metricsEvery, sum, st, p, log) })
	}
	switch {
	case o.progress == "never":
	case o.live(e):
		bar := p.newBar(o, e)
		wg.Go(func() {
			t := time.NewTicker(liveEvery)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					bar.finish(p.snap(time.Now()))
					return
				case now := <-t.C:
					bar.update(p.snap(now))
				}
			}
		})
	default:
		wg.Go(func() {
			t := time.NewTicker(o.progressEvery)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case now := <-t.C:
					p.log(log, now)
				}
			}
		})
	}
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
	resumed int64 // rows the report held at the start

	mu      sync.Mutex
	samples []sample // the last window's worth, oldest first
}

// snapshot is what every display shows.
type snapshot struct {
	at                  time.Time
	elapsed             time.Duration
	done, total         int64 // rows done, resumed ones included; total -1 when unknown
	rows, ok, failed    int64 // rows done by this run, and of those ok and failed or invalid
	rate, pace          float64
	fraction            float64       // of the input done; -1 when unknown
	eta                 time.Duration // -1 when unknown
	finished            bool
	throttles, attempts int64
}

// snap measures the figures now. The rate is over the last window (from the start, at
// first), so that it follows a run that slows down or speeds up.
func (p *progress) snap(now time.Time) snapshot {
	pace := p.pace() // outside p.mu: the pacer may be logging, and the log may be waiting for the bar
	p.mu.Lock()
	defer p.mu.Unlock()
	s := snapshot{at: now, elapsed: now.Sub(p.start), rows: p.st.Rows.Load(), ok: p.st.OK.Load(),
		failed: p.st.Failed.Load() + p.st.Invalid.Load(), pace: pace, fraction: -1, eta: -1, total: p.total,
		throttles: p.st.Throttles(), attempts: p.st.Calls()}
	s.done = s.rows + p.resumed
	p.samples = append(p.samples, sample{now, s.rows})
	for len(p.samples) > 2 && now.Sub(p.samples[1].at) >= window {
		p.samples = p.samples[1:]
	}
	if old := p.samples[0]; now.Sub(old.at) > 0 {
		s.rate = float64(s.rows-old.rows) / now.Sub(old.at).Seconds()
	}
	switch {
	case p.total > 0:
		s.fraction = math.Min(1, float64(s.done)/float64(p.total))
		if s.rate > 0 {
			s.eta = time.Duration(float64(max(0, p.total-s.done)) / s.rate * float64(time.Second))
		}
	case p.total == 0:
		s.fraction = 1
	case p.bytes != nil:
		// No row count: judge by the bytes read, which run a little ahead of the rows done.
		if read, size := p.bytes.Position(); size > 0 && read > 0 {
			s.fraction = math.Min(1, float64(read)/float64(size))
			if s.rate > 0 && s.done > 0 && s.fraction < 1 {
				left := float64(s.done) * (1 - s.fraction) / s.fraction
				s.eta = time.Duration(left / s.rate * float64(time.Second))
			}
		}
	}
	return s
}

// log writes one progress record: done, total, percent, rate, pace, ETA.
func (p *progress) log(log *zap.Logger, now time.Time) {
	s := p.snap(now)
	fields := []zap.Field{
		zap.Int64("done", s.done), zap.Int64("ok", s.ok), zap.Int64("failed", s.failed), zap.Int64("resumed", p.resumed),
		zap.Float64("rows_per_sec", math.Round(s.rate*10)/10),
		zap.Duration("elapsed", s.elapsed.Round(time.Second)),
	}
	if s.total >= 0 {
		fields = append(fields, zap.Int64("total", s.total))
	}
	if s.fraction >= 0 {
		fields = append(fields, zap.Float64("pct", math.Round(1000*s.fraction)/10))
	}
	if !math.IsInf(s.pace, 1) && s.pace > 0 {
		fields = append(fields, zap.Float64("pace", math.Round(s.pace*10)/10))
	}
	if s.eta >= 0 {
		fields = append(fields, zap.Duration("eta", roundETA(s.eta)))
	}
	log.Info("progress", fields...)
}

// liveBar is the bar on a terminal.
type liveBar struct {
	p   *mpb.Progress
	bar *mpb.Bar
	o   *outputOptions

	mu   sync.Mutex
	last snapshot
}

// perMille is the bar's scale: it shows the fraction of the input done.
const perMille = 1000

// newBar puts the bar up, and the operator's log above it.
func (p *progress) newBar(o *outputOptions, e env) *liveBar {
	b := &liveBar{o: o, last: snapshot{fraction: -1, eta: -1, total: p.total}}
	opts := []mpb.ContainerOption{mpb.WithOutput(e.stderr), mpb.WithRefreshRate(redrawEvery)}
	if !isTerminal(e.stderr) { // --progress always
		opts = append(opts, mpb.ForceTTY(), mpb.WithAutoRefresh(), mpb.WithWidth(80))
	}
	b.p = mpb.New(opts...)
	b.bar = b.p.New(perMille,
		mpb.BarStyle().Lbound("[").Filler("=").Tip(">").Padding("-").Rbound("]"),
		mpb.PrependDecorators(&figures{b: b, left: true}),
		mpb.AppendDecorators(&figures{b: b}),
	)
	o.sink.swap(b.p)
	return b
}

func (b *liveBar) update(s snapshot) {
	b.mu.Lock()
	b.last = s
	b.mu.Unlock()
	if s.fraction >= 0 {
		b.bar.SetCurrent(int64(s.fraction * perMille))
	}
}

// finish draws the last figures, leaves the bar on the screen, and gives the terminal back
// to the log.
func (b *liveBar) finish(s snapshot) {
	s.finished = true
	b.update(s)
	b.bar.Abort(false) // keep it drawn: the run may not have gone through the input
	b.p.Wait()
	b.o.sink.restore()
}

func (b *liveBar) snapshot() snapshot {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.last
}

// figures is the text on either side of the bar, fitted to the width mpb says is left. The
// right side keeps one column free, so that the line never reaches the terminal's last
// column, where some terminals wrap at once.
type figures struct {
	decor.WC
	b    *liveBar
	left bool
}

func (f *figures) Decor(st decor.Statistics) (string, int) {
	s := f.b.snapshot()
	if f.left {
		text := leftFigures(s)
		return text, utf8.RuneCountInString(text)
	}
	text := rightFigures(s, st.AvailableWidth-minBar-1)
	return text, utf8.RuneCountInString(text) + 1
}

// leftFigures: rows done of the total, and the share of the input done.
func leftFigures(s snapshot) string {
	text := commas(s.done)
	if s.total >= 0 {
		text += "/" + commas(s.total)
	} else {
		text += " rows"
	}
	if s.fraction >= 0 {
		text += fmt.Sprintf(" %3.0f%%", 100*s.fraction)
	}
	return text
}

// rightFigures: rate, pace, failures, ETA (elapsed time once finished), as many as fit in
// width, the least useful dropped first.
func rightFigures(s snapshot, width int) string {
	type part struct {
		text     string
		priority int // lower is kept first
	}
	var parts []part
	parts = append(parts, part{fmt.Sprintf("%.1f rows/s", s.rate), 1})
	if !math.IsInf(s.pace, 1) && s.pace > 0 {
		parts = append(parts, part{fmt.Sprintf("pace %.3g/s", s.pace), 3})
	}
	if s.failed > 0 {
		parts = append(parts, part{commas(s.failed) + " failed", 2})
	}
	switch {
	case s.finished:
		parts = append(parts, part{"took " + roundETA(s.elapsed).String(), 0})
	case s.eta >= 0:
		parts = append(parts, part{"ETA " + roundETA(s.eta).String(), 0})
	default:
		parts = append(parts, part{"ETA --", 0})
	}
	keep := make([]bool, len(parts))
	used := 0
	for pr := 0; pr <= 3; pr++ {
		for i, pt := range parts {
			// Each part takes its text and a separator, " · ", but for the first one.
			if n := utf8.RuneCountInString(pt.text) + 3; pt.priority == pr && used+n <= width+3 {
				keep[i] = true
				used += n
			}
		}
	}
	var out []string
	for i, pt := range parts {
		if keep[i] {
			out = append(out, pt.text)
		}
	}
	return strings.Join(out, " · ")
}

// roundETA rounds a duration as an ETA is read: 42s, 4m10s, 2h5m0s.
func roundETA(d time.Duration) time.Duration {
	switch {
	case d < time.Minute:
		return d.Round(time.Second)
	case d < time.Hour:
		return d.Round(10 * time.Second)
	}
	return d.Round(time.Minute)
}

// commas writes n with thousands separators: 1,234,567.
func commas(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return s
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// swapWriter is where the operator's log goes: stderr, or while the live bar is up, the
// bar's container, which prints it above the bar. A write the container refuses (it has just
// shut down) goes to stderr.
type swapWriter struct {
	mu       sync.Mutex
	w        io.Writer
	fallback io.Writer
}

func newSwapWriter(w io.Writer) *swapWriter { return &swapWriter{w: w, fallback: w} }

func (s *swapWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	w := s.w
	s.mu.Unlock()
	n, err := w.Write(b)
	if err != nil && w != s.fallback {
		return s.fallback.Write(b)
	}
	return n, err
}

func (s *swapWriter) swap(w io.Writer) {
	s.mu.Lock()
	s.w = w
	s.mu.Unlock()
}

func (s *swapWriter) restore() { s.swap(s.fallback) }
