package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"go.uber.org/zap"

	"github.com/bulklink/bulklink/input"
	"github.com/bulklink/bulklink/job"
	"github.com/bulklink/bulklink/report"
)

// runOptions are the flags of `bulklink run`.
type runOptions struct {
	in         inputOptions
	aws        awsOptions
	engine     engineOptions
	out        outputOptions
	reportPath string
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
	if err := o.engine.validate(); err != nil {
		return err
	}
	return o.out.validate()
}

func runLink(ctx context.Context, args []string, e env) int {
	var o runOptions
	fs := newFlagSet("run", e)
	o.in.register(fs)
	o.aws.register(fs)
	o.engine.register(fs)
	o.out.register(fs)
	fs.StringVar(&o.reportPath, "report", "", "report file, .csv or .jsonl: one record per input row")
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
	sum, err := link(stop, kill, &o, e, log)
	if err != nil {
		errorf(e, "run", err)
	}
	code := exitCode(stop, err, sum != nil && sum.Count(report.Failed)+sum.Count(report.Invalid) > 0)
	if sum != nil {
		sum.ExitCode = code
		if werr := sum.WriteFile(report.SummaryPath(o.reportPath)); werr != nil {
			log.Error("write summary", zap.Error(werr))
		}
		sum.Print(e.stderr)
	}
	return code
}

// link runs the job until the input is done, stop ends (rows in flight may finish), or kill
// ends (calls in flight are cut). The summary is nil when the run could not start.
func link(stop, kill context.Context, o *runOptions, e env, log *zap.Logger) (*report.Summary, error) {
	rd, err := o.in.open(e)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	if err := checkReportPath(o.reportPath, o.in.path); err != nil {
		return nil, err
	}
	api, err := o.aws.client(stop, o.engine.concurrency, log)
	if err != nil {
		return nil, err
	}
	w, err := createReport(o.reportPath, o.in, rd)
	if err != nil {
		return nil, err
	}
	j := job.New(api, o.engine.config(log))
	context.AfterFunc(stop, j.Stop)
	sum := report.NewSummary("run", time.Now())
	sum.Input, sum.Report = o.in.path, o.reportPath
	log.Info("run started", zap.String("input", o.in.path), zap.String("report", o.reportPath),
		zap.Float64("rate", o.engine.rate), zap.Int("concurrency", o.engine.concurrency))

	hideProgress := startProgress(&o.out, e, log, rd, &j.Stats, j.Rate)
	err = j.Run(kill, rd, &reportSink{w: w, sum: sum})
	hideProgress()
	if cerr := w.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("write report: %w", cerr)
	}
	sum.Calls, sum.Throttles = j.Stats.Calls.Load(), j.Stats.Throttles.Load()
	sum.Retries, sum.Checks = j.Stats.Retries.Load(), j.Stats.Checks.Load()
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

func (s *reportSink) Sync() error { return s.w.Sync() }

// checkReportPath refuses a report that would overwrite a previous one or the input.
func checkReportPath(reportPath, inputPath string) error {
	fi, err := os.Stat(reportPath)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return usagef("report: %w", err)
	}
	if in, err := os.Stat(inputPath); err == nil && os.SameFile(fi, in) {
		return usagef("--report %s is the input file", reportPath)
	}
	if fi.Size() > 0 {
		return usagef("report %s exists: bulklink does not overwrite a report; choose another --report path", reportPath)
	}
	return nil
}

// createReport creates the report with the layout the input calls for: a CSV input's extra
// columns follow the report's own; a JSONL input's unknown keys, which rows need not share,
// go as keys of a JSONL report or as one JSON cell of a CSV report.
func createReport(path string, in inputOptions, rd input.Reader) (*report.Writer, error) {
	f, err := report.FormatOf(path)
	if err != nil {
		return nil, usageError{err}
	}
	l := report.Layout{Format: f}
	if in.inputFormat() == input.CSV {
		l.ExtraColumns = rd.Columns()
	} else {
		l.ExtraJSON = f == report.CSV
	}
	w, err := report.Create(path, l)
	if err != nil {
		return nil, usageError{err}
	}
	return w, nil
}
