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
	p.rates = newRateWindow(p.start)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	if o.metrics != nil {
		wg.Go(func() { o.metrics.run(ctx, metricsEvery, sum, st, p, log) })
	}
	showProgress(ctx, &wg, o, e, log, p)
	return func() { cancel(); wg.Wait() }
}

// A meter measures one command's progress, in snapshots S, and says how a snapshot is shown:
// progress measures the rows of run and undo, discoverProgress the users discover lists.
// showProgress shows any meter's the same way.
type meter[S any] interface {
	snap(now time.Time) S
	blank() S                    // what the bar shows before the first snap
	finished(s S) S              // s marked as the last snapshot, which the bar is left with
	fraction(s S) float64        // of the work done, which the bar fills; -1 when unknown
	left(s S) string             // the figures left of the bar
	right(s S, width int) string // the figures right of it, in at most width columns
	fields(s S) []zap.Field      // a progress log record's
}

// showProgress shows m's progress until ctx is done, in goroutines of wg: nothing with
// --progress never; a live bar on a terminal (or with --progress always); otherwise a log
// record every --progress-interval.
func showProgress[S any](ctx context.Context, wg *sync.WaitGroup, o *outputOptions, e env, log *zap.Logger, m meter[S]) {
	switch {
	case o.progress == "never":
	case o.live(e):
		bar := newBar(o, e, m)
		wg.Go(func() {
			t := time.NewTicker(liveEvery)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					bar.finish(m.snap(time.Now()))
					return
				case now := <-t.C:
					bar.update(m.snap(now))
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
					log.Info("progress", m.fields(m.snap(now))...)
				}
			}
		})
	}
}

// rateWindow measures a rate over the last window of time (from the start, at first), so
// that it follows a run that slows down or speeds up. Its owner guards it with its lock.
type rateWindow struct {
	samples []sample // the last window's worth, oldest first
}

type sample struct {
	at time.Time
	n  int64
}

func newRateWindow(start time.Time) rateWindow { return rateWindow{samples: []sample{{start, 0}}} }

// rate takes n, the count at now, and says how fast it has grown per second over the window.
func (w *rateWindow) rate(now time.Time, n int64) float64 {
	w.samples = append(w.samples, sample{now, n})
	for len(w.samples) > 2 && now.Sub(w.samples[1].at) >= window {
		w.samples = w.samples[1:]
	}
	if old := w.samples[0]; now.Sub(old.at) > 0 {
		return float64(n-old.n) / now.Sub(old.at).Seconds()
	}
	return 0
}

// timeFor is how long n more take at rate per second.
func timeFor(n, rate float64) time.Duration { return time.Duration(n / rate * float64(time.Second)) }

// progress measures the rows of run and undo.
type progress struct {
	start   time.Time
	st      *job.Stats
	bytes   input.Reader
	total   int64 // rows in the input, estimated; -1 when unknown
	pace    func() float64
	resumed int64 // rows the report held at the start

	mu    sync.Mutex
	rates rateWindow
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

// snap measures the figures now.
func (p *progress) snap(now time.Time) snapshot {
	pace := p.pace() // outside p.mu: the pacer may be logging, and the log may be waiting for the bar
	p.mu.Lock()
	defer p.mu.Unlock()
	s := snapshot{at: now, elapsed: now.Sub(p.start), rows: p.st.Rows.Load(), ok: p.st.OK.Load(),
		failed: p.st.Failed.Load() + p.st.Invalid.Load(), pace: pace, fraction: -1, eta: -1, total: p.total,
		throttles: p.st.Throttles(), attempts: p.st.Calls()}
	s.done = s.rows + p.resumed
	s.rate = p.rates.rate(now, s.rows)
	switch {
	case p.total > 0:
		s.fraction = math.Min(1, float64(s.done)/float64(p.total))
		if s.rate > 0 {
			s.eta = timeFor(float64(max(0, p.total-s.done)), s.rate)
		}
	case p.total == 0:
		s.fraction = 1
	case p.bytes != nil:
		// No row count: judge by the bytes read, which run a little ahead of the rows done.
		if read, size := p.bytes.Position(); size > 0 && read > 0 {
			s.fraction = math.Min(1, float64(read)/float64(size))
			if s.rate > 0 && s.done > 0 && s.fraction < 1 {
				left := float64(s.done) * (1 - s.fraction) / s.fraction
				s.eta = timeFor(left, s.rate)
			}
		}
	}
	return s
}

func (p *progress) blank() snapshot { return snapshot{fraction: -1, eta: -1, total: p.total} }

func (p *progress) finished(s snapshot) snapshot {
	s.finished = true
	return s
}

func (p *progress) fraction(s snapshot) float64 { return s.fraction }

// fields: done, total, percent, rate, pace, ETA.
func (p *progress) fields(s snapshot) []zap.Field {
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
	return fields
}

// liveBar is the bar on a terminal, showing m's snapshots.
type liveBar[S any] struct {
	p   *mpb.Progress
	bar *mpb.Bar
	o   *outputOptions
	m   meter[S]

	mu   sync.Mutex
	last S
}

// perMille is the bar's scale: it shows the fraction of the work done.
const perMille = 1000

// newBar puts the bar up, and the operator's log above it.
func newBar[S any](o *outputOptions, e env, m meter[S]) *liveBar[S] {
	b := &liveBar[S]{o: o, m: m, last: m.blank()}
	opts := []mpb.ContainerOption{mpb.WithOutput(e.stderr), mpb.WithRefreshRate(redrawEvery)}
	if !isTerminal(e.stderr) { // --progress always
		opts = append(opts, mpb.ForceTTY(), mpb.WithAutoRefresh(), mpb.WithWidth(80))
	}
	b.p = mpb.New(opts...)
	b.bar = b.p.New(perMille,
		mpb.BarStyle().Lbound("[").Filler("=").Tip(">").Padding("-").Rbound("]"),
		mpb.PrependDecorators(&figures[S]{b: b, left: true}),
		mpb.AppendDecorators(&figures[S]{b: b}),
	)
	o.sink.swap(b.p)
	return b
}

func (b *liveBar[S]) update(s S) {
	b.mu.Lock()
	b.last = s
	b.mu.Unlock()
	if f := b.m.fraction(s); f >= 0 {
		b.bar.SetCurrent(int64(f * perMille))
	}
}

// finish draws the last figures, leaves the bar on the screen, and gives the terminal back
// to the log.
func (b *liveBar[S]) finish(s S) {
	b.update(b.m.finished(s))
	b.bar.Abort(false) // keep it drawn: the command may not have gone through its work
	b.p.Wait()
	b.o.sink.restore()
}

func (b *liveBar[S]) snapshot() S {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.last
}

// figures is the text on either side of the bar, fitted to the width mpb says is left. The
// right side keeps one column free, so that the line never reaches the terminal's last
// column, where some terminals wrap at once.
type figures[S any] struct {
	decor.WC
	b    *liveBar[S]
	left bool
}

func (f *figures[S]) Decor(st decor.Statistics) (string, int) {
	s := f.b.snapshot()
	if f.left {
		text := f.b.m.left(s)
		return text, utf8.RuneCountInString(text)
	}
	text := f.b.m.right(s, st.AvailableWidth-minBar-1)
	return text, utf8.RuneCountInString(text) + 1
}

// left: rows done of the total, and the share of the input done.
func (p *progress) left(s snapshot) string {
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

// right: rate, pace, failures, ETA (elapsed time once finished), as many as fit in width,
// the least useful dropped first.
func (p *progress) right(s snapshot, width int) string {
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
