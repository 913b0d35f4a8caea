package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/bulklink/bulklink/job"
	"github.com/bulklink/bulklink/report"
	"github.com/bulklink/bulklink/schema"
)

// execution is what run and undo hand the engine once the input is prepared and the report
// open: the rows left, the operation, and where the records go.
type execution struct {
	command string // run or undo
	input   string // the input's path, for the summary
	start   time.Time
	p       *prepared
	rep     *report.Report
	cfg     job.Config // the engine's: op, pacing, retries, Since, Skew, Started
	api     job.API
	auto    *autoRate       // --rate auto; nil: --rate is a number
	only    []schema.Status // the selection of a report's rows
	total   int64           // rows to show progress against; -1 when unknown
	out     *outputOptions
	rate    float64 // --rate, for the log
}

// execute runs the engine over the rows the report does not hold yet, until the input is
// done, stop ends (rows in flight may finish) or kill ends (calls in flight are cut). It
// returns the summary of the whole report, and what ended the run.
func execute(stop, kill context.Context, x execution, e env, log *zap.Logger) (*report.Summary, error) {
	sum := report.NewSummary(x.command, x.start)
	sum.Input, sum.Report = x.input, x.rep.Path
	sum.Resume(x.rep.Journal)
	sum.State = report.StateRunning
	if err := sum.WriteFile(report.SummaryPath(x.rep.Path)); err != nil {
		x.rep.Close()
		return nil, usagef("write summary: %w", err)
	}
	rows, err := x.p.src.Rows(kill)
	if err != nil {
		x.rep.Close()
		return nil, usageError{err}
	}
	j := job.New(x.api, x.cfg)
	context.AfterFunc(stop, j.Stop)
	if x.auto != nil {
		defer x.auto.start(stop, j, x.cfg.Calls, x.p.byPool, log)() // a first signal ends its reads too
	}
	// The selection comes first: rows the run leaves out are not judged again (the first
	// pass did not read their pools).
	sel := &report.Selection{Src: rows, Done: &x.rep.Journal.Done, Only: x.only}
	log.Info(x.command+" started", zap.String("input", x.input), zap.String("report", x.rep.Path),
		zap.Int64("rows", x.p.shape.Rows), zap.Int64("resumed_rows", x.rep.Journal.Records),
		zap.Float64("rate", x.rate), zap.Bool("rate_auto", x.auto != nil), zap.Int("concurrency", x.cfg.Concurrency))
	hideProgress := startProgress(x.out, e, log, progressSource{rows, x.total}, &j.Stats, sum, j.Rate)
	err = j.Run(kill, x.p.plan.Source(kill, sel), &reportSink{w: x.rep.Writer, sum: sum})
	hideProgress()
	if cerr := x.rep.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("write report: %w", cerr)
	}
	sum.Calls, sum.Throttles = j.Stats.Calls(), j.Stats.Throttles()
	sum.Retries, sum.Checks = j.Stats.Retries(), j.Stats.Checks()
	sum.CallsByKind = x.cfg.Calls.ByKind()
	if l, ok := x.cfg.Op.(job.Link); ok && l.First != nil {
		sum.ReadFirst = l.First.Read.Load()
	}
	sum.Skipped = sel.Skipped.Load()
	sum.Finish(time.Now())
	var fe *job.FatalError
	switch {
	case errors.As(err, &fe):
		sum.Aborted = e.red.String(fe.Error())
	case errors.Is(err, job.ErrStopped):
		sum.Aborted = context.Cause(stop).Error()
	case err != nil:
		sum.Aborted = e.red.String(err.Error())
	}
	var re *job.ReadError
	if errors.As(err, &re) {
		err = usageError{err} // unreadable input: exit 2
	}
	return sum, err
}

// lockAll takes the locks of reports, in order. A report another run holds is a
// *report.LockedError (exit 75); any other failure (a missing folder, a file bulklink will
// not touch) a usage error.
func lockAll(paths ...string) (unlock func(), err error) {
	var unlocks []func() error
	unlock = func() {
		for i := len(unlocks) - 1; i >= 0; i-- {
			unlocks[i]()
		}
	}
	for _, path := range paths {
		u, err := report.Lock(path)
		if err != nil {
			unlock()
			if _, locked := errors.AsType[*report.LockedError](err); !locked {
				err = usageError{err}
			}
			return nil, err
		}
		unlocks = append(unlocks, u)
	}
	return unlock, nil
}

// underLock runs body, a run or an undo, with the locks of paths held: the report it writes
// comes last. It returns the summary of that report (nil when the command could not start),
// written beside it with the exit code, and the exit code.
func underLock(stop context.Context, e env, name string, log *zap.Logger, body func() (*report.Summary, error), paths ...string) (*report.Summary, int) {
	unlock, err := lockAll(paths...)
	if err != nil {
		errorf(e, name, err)
		return nil, exitCode(stop, err, false)
	}
	defer unlock()
	sum, err := body()
	if err != nil {
		errorf(e, name, err)
	}
	code := exitCode(stop, err, sum != nil && sum.Count(report.Failed)+sum.Count(report.Invalid) > 0)
	ended(sum, code, paths[len(paths)-1], log)
	return sum, code
}

// ended writes the summary of a command that ran, with its exit code, beside its report.
func ended(sum *report.Summary, code int, reportPath string, log *zap.Logger) {
	if sum == nil {
		return
	}
	sum.ExitCode, sum.State = code, stateOf(code)
	if err := sum.WriteFile(report.SummaryPath(reportPath)); err != nil {
		log.Error("write summary", zap.Error(err))
	}
}
