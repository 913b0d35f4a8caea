package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"go.uber.org/zap"

	"github.com/bulklink/bulklink/input"
	"github.com/bulklink/bulklink/job"
	"github.com/bulklink/bulklink/report"
)

// runOptions are the flags of `bulklink run`.
type runOptions struct {
	in          inputOptions
	aws         awsOptions
	engine      engineOptions
	out         outputOptions
	reportPath  string
	restart     bool
	only        string
	maxFailures string

	onlyStatuses []string      // parsed --only
	threshold    job.Threshold // parsed --max-failures
}

func (o *runOptions) register(fs *flag.FlagSet) {
	o.in.register(fs)
	o.aws.register(fs)
	o.engine.register(fs)
	o.out.register(fs)
	fs.StringVar(&o.reportPath, "report", "", "report file, .csv or .jsonl: one record per input row; running again with the same report resumes")
	fs.BoolVar(&o.restart, "restart", false, "start the report over instead of resuming it")
	fs.StringVar(&o.only, "only", "", "with a report as --input: run only the rows whose status was one of these, e.g. failed or failed,invalid")
	fs.StringVar(&o.maxFailures, "max-failures", "", fmt.Sprintf("stop (exit 3) once more than N rows failed, or N%% of the rows (judged after %d rows)", job.DefaultMinRows))
}

func (o *runOptions) validate() error {
	if o.in.path == "" {
		return usagef("--input is required")
	}
	if o.reportPath == "" {
		return usagef("--report is required")
	}
	if _, err := report.FormatOf(o.reportPath); err != nil {
		return usageError{err}
	}
	if o.only != "" {
		for _, s := range strings.Split(o.only, ",") {
			st := report.Status(strings.TrimSpace(s))
			switch st {
			case report.Linked, report.AlreadyLinked, report.Failed, report.Invalid:
			default:
				return usagef("--only: unknown status %q (linked, already_linked, failed, invalid)", s)
			}
			o.onlyStatuses = append(o.onlyStatuses, string(st))
		}
		slices.Sort(o.onlyStatuses)
		o.onlyStatuses = slices.Compact(o.onlyStatuses)
	}
	var err error
	if o.threshold, err = parseThreshold(o.maxFailures); err != nil {
		return err
	}
	if err := o.engine.validate(); err != nil {
		return err
	}
	return o.out.validate()
}

// parseThreshold reads --max-failures: N rows, or N% of the rows.
func parseThreshold(s string) (job.Threshold, error) {
	if s == "" {
		return job.Threshold{}, nil
	}
	if pct, ok := strings.CutSuffix(s, "%"); ok {
		p, err := strconv.ParseFloat(pct, 64)
		if err != nil || math.IsNaN(p) || p <= 0 || p > 100 {
			return job.Threshold{}, usagef("--max-failures %q: want a percentage in (0, 100]", s)
		}
		return job.Threshold{Ratio: p / 100, MinRows: job.DefaultMinRows}, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return job.Threshold{}, usagef("--max-failures %q: want a number of rows or a percentage", s)
	}
	return job.Threshold{Count: n, Counted: true}, nil
}

func runLink(ctx context.Context, args []string, e env) int {
	var o runOptions
	fs := newFlagSet("run", e)
	o.register(fs)
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	if err := o.validate(); err != nil {
		errorf(e, "run", err)
		return exitUsage
	}
	log := o.out.logger(e)
	defer log.Sync()
	stop, kill, release := withSignals(ctx, e.signals)
	defer release()
	sum, code := link(stop, kill, &o, e, log)
	if sum != nil {
		sum.Print(e.stderr)
	}
	return code
}

// link runs the job and returns its exit code, with the summary of the whole report (nil
// when the run could not start), written beside the report while the lock is held.
func link(stop, kill context.Context, o *runOptions, e env, log *zap.Logger) (*report.Summary, int) {
	if err := checkReportPath(o.reportPath, o.in.path); err != nil {
		errorf(e, "run", err)
		return nil, exitCode(stop, err, false)
	}
	unlock, err := report.Lock(o.reportPath)
	if err != nil {
		if _, locked := errors.AsType[*report.LockedError](err); !locked {
			err = usageError{err} // the report's folder is missing or not writable
		}
		errorf(e, "run", err)
		return nil, exitCode(stop, err, false)
	}
	defer unlock()
	sum, err := linkLocked(stop, kill, o, e, log)
	if err != nil {
		errorf(e, "run", err)
	}
	code := exitCode(stop, err, sum != nil && sum.Count(report.Failed)+sum.Count(report.Invalid) > 0)
	if sum != nil {
		sum.ExitCode = code
		if werr := sum.WriteFile(report.SummaryPath(o.reportPath)); werr != nil {
			log.Error("write summary", zap.Error(werr))
		}
	}
	return sum, code
}

// linkLocked runs the job, with the report's lock held, until the input is done, stop ends
// (rows in flight may finish), or kill ends (calls in flight are cut). It resumes the report
// when it exists. The summary, of the whole report, is nil when the run could not start.
func linkLocked(stop, kill context.Context, o *runOptions, e env, log *zap.Logger) (*report.Summary, error) {
	meta, total, e, err := fingerprint(o, e)
	if err != nil {
		return nil, err
	}
	rd, err := o.in.open(e)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	api, err := o.aws.client(stop, o.engine.concurrency, log)
	if err != nil {
		return nil, err
	}
	meta.Region, meta.Endpoint, meta.UserPoolID = api.Options().Region, aws.ToString(api.Options().BaseEndpoint), o.in.userPoolID
	maxLine := math.MaxInt32
	if total >= 0 {
		maxLine = int(total) + 2 // the lines, less the header, which fingerprint took off
	}
	w, journal, err := openReport(o.reportPath, reportLayout(o.reportPath, o.in, rd), meta, o.restart, maxLine, log)
	if err != nil {
		return nil, err
	}

	cfg := o.engine.config(log)
	cfg.MaxFailures = o.threshold
	j := job.New(api, cfg)
	context.AfterFunc(stop, j.Stop)
	sum := report.NewSummary("run", time.Now())
	sum.Input, sum.Report = o.in.path, o.reportPath
	sum.Resume(journal)
	src := &selection{src: rd, done: &journal.Done, only: o.onlyStatuses}
	log.Info("run started", zap.String("input", o.in.path), zap.String("report", o.reportPath),
		zap.Int64("resumed_rows", journal.Records), zap.Float64("rate", o.engine.rate), zap.Int("concurrency", o.engine.concurrency))

	if len(o.onlyStatuses) > 0 {
		total = -1 // a selection of the rows: their number is not known up front
	}
	hideProgress := startProgress(&o.out, e, log, progressSource{rd, total}, &j.Stats, journal.Records, j.Rate)
	err = j.Run(kill, src, &reportSink{w: w, sum: sum})
	hideProgress()
	if cerr := w.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("write report: %w", cerr)
	}
	sum.Calls, sum.Throttles = j.Stats.Calls.Load(), j.Stats.Throttles.Load()
	sum.Retries, sum.Checks = j.Stats.Retries.Load(), j.Stats.Checks.Load()
	sum.Skipped = src.skipped.Load()
	sum.Finish(time.Now())
	var fe *job.FatalError
	switch {
	case errors.As(err, &fe):
		sum.Aborted = fe.Error()
	case errors.Is(err, job.ErrStopped):
		sum.Aborted = context.Cause(stop).Error()
	case err != nil:
		sum.Aborted = err.Error()
	}
	var re *job.ReadError
	if errors.As(err, &re) {
		err = usageError{err} // unreadable input: exit 2
	}
	return sum, err
}

// fingerprint identifies the input for the report's meta file, and estimates its rows from
// its lines (-1: unknown). A stream (stdin) is identified by its first MiB, peeked through a
// buffer that then replaces e.stdin.
func fingerprint(o *runOptions, e env) (meta *report.Meta, rows int64, _ env, err error) {
	var fp string
	var partial bool
	rows = -1
	if o.in.path == "-" {
		br := bufio.NewReaderSize(e.stdin, input.FingerprintPrefix)
		e.stdin = br
		fp, partial, err = input.FingerprintStream(br)
	} else {
		var lines int64
		fp, lines, err = input.Fingerprint(o.in.path)
		if lines >= 0 {
			rows = lines
			if o.in.inputFormat() == input.CSV {
				rows-- // the header
			}
		}
	}
	if err != nil {
		return nil, 0, e, usagef("read input: %w", err)
	}
	meta = &report.Meta{Input: o.in.path, Fingerprint: fp, Only: o.onlyStatuses, Partial: partial, CreatedAt: time.Now().UTC(), Version: version}
	return meta, rows, e, nil
}

// openReport creates the report, or resumes it: when it exists, belongs to this input and
// this selection of rows, its records are read back (a torn last one cut off) and new ones
// are appended.
func openReport(path string, l report.Layout, meta *report.Meta, restart bool, maxLine int, log *zap.Logger) (*report.Writer, *report.Journal, error) {
	fi, err := os.Stat(path)
	if restart || errors.Is(err, fs.ErrNotExist) || err == nil && fi.Size() == 0 {
		w, err := createReport(path, l, meta)
		if err != nil {
			return nil, nil, usageError{err}
		}
		return w, &report.Journal{}, nil
	}
	if err != nil {
		return nil, nil, usagef("report: %w", err)
	}
	old, err := report.ReadMeta(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, usagef("report %s exists but %s does not, so it cannot be resumed: use --restart to overwrite it, or another --report", path, report.MetaPath(path))
	}
	if err != nil {
		return nil, nil, usagef("report meta: %w", err)
	}
	if err := old.Matches(meta); err != nil {
		return nil, nil, usagef("cannot resume %s: %w; use --restart to start it over, or another --report", path, err)
	}
	j, err := report.Recover(path, l, maxLine)
	if err != nil {
		return nil, nil, usagef("cannot resume: %w", err)
	}
	if j.Torn > 0 {
		log.Warn("cut a half-written record off the end of the report; its row runs again", zap.Int64("bytes", j.Torn))
	}
	w, err := report.Append(path, l)
	if err != nil {
		return nil, nil, usageError{err}
	}
	log.Info("resuming the report", zap.String("report", path), zap.Int64("rows_done", j.Records))
	return w, j, nil
}

// createReport starts a report over. The order survives a crash at any step: the old meta
// goes first (a report without one is never resumed), then the report is emptied, and the
// new meta comes last, once the report it describes is on disk.
func createReport(path string, l report.Layout, meta *report.Meta) (*report.Writer, error) {
	if err := report.RemoveMeta(path); err != nil {
		return nil, fmt.Errorf("remove the old report meta: %w", err)
	}
	if err := os.Remove(report.SummaryPath(path)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("remove the old summary: %w", err)
	}
	w, err := report.Create(path, l)
	if err != nil {
		return nil, err
	}
	if err := meta.WriteFile(path); err != nil {
		w.Close()
		return nil, err
	}
	return w, nil
}

// selection passes on the rows still to do: not in the report yet and, with --only, of a
// selected prior status.
type selection struct {
	src     job.Source
	done    *report.LineSet
	only    []string
	skipped atomic.Int64 // rows --only left out; read by the summary
	rows    int64        // rows read
	priors  int64        // rows that carried a prior status
}

func (s *selection) Next() (input.Row, error) {
	for {
		row, err := s.src.Next()
		if errors.Is(err, io.EOF) && len(s.only) > 0 && s.rows > 0 && s.priors == 0 {
			return row, errors.New("--only needs a bulklink report as --input: no row carries a status")
		}
		if err != nil {
			return row, err
		}
		s.rows++
		if row.Prior != nil {
			s.priors++
		}
		if s.done.Has(row.Line) {
			continue
		}
		if len(s.only) > 0 {
			if row.Prior == nil || !slices.Contains(s.only, row.Prior.Status) {
				s.skipped.Add(1)
				continue
			}
		}
		return row, nil
	}
}

// reportSink writes the job's records to the report and counts them in the summary.
type reportSink struct {
	w   *report.Writer
	sum *report.Summary
}

func (s *reportSink) Write(r *report.Record) error {
	if err := s.w.Write(r); err != nil {
		return err
	}
	s.sum.Add(r)
	return nil
}

func (s *reportSink) Flush() error { return s.w.Flush() }
func (s *reportSink) Sync() error  { return s.w.Sync() }

// checkReportPath refuses a report that is the input file.
func checkReportPath(reportPath, inputPath string) error {
	fi, err := os.Stat(reportPath)
	if err != nil {
		return nil
	}
	if in, err := os.Stat(inputPath); err == nil && os.SameFile(fi, in) {
		return usagef("--report %s is the input file", reportPath)
	}
	return nil
}

// reportLayout is the layout of a report at path for the input: a CSV input's extra
// columns follow the report's own; a JSONL input's unknown keys, which rows need not share,
// go as keys of a JSONL report or as one JSON cell of a CSV report.
func reportLayout(path string, in inputOptions, rd input.Reader) report.Layout {
	f, _ := report.FormatOf(path) // checked by validate
	l := report.Layout{Format: f}
	if in.inputFormat() == input.CSV {
		l.ExtraColumns = rd.Columns()
	} else {
		l.ExtraJSON = f == report.CSV
	}
	return l
}
