package main

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/bulklink/bulklink/input"
	"github.com/bulklink/bulklink/job"
	"github.com/bulklink/bulklink/report"
	"github.com/bulklink/bulklink/schema"
)

// A writer is a command that changes Cognito row by row, from an input into a report: run
// links (and merges), undo unlinks. They take the same steps, in the same order (write): the
// locks, the AWS settings and credentials, the input read once and judged before any write
// (prepare), the report created or resumed with its meta, the engine over the rows left
// (execute), the summary and the exit code. What differs between them is this data; a new
// command of the kind is a new writer, not a copy of the steps.
type writer struct {
	name    string         // the command, in messages
	command schema.Command // what the report's meta records
	in      inputOptions   // where the rows come from: run's --input, undo's --report
	report  string         // the report it writes
	// locks are the reports the command holds while it runs, its own last: undo holds the
	// run's report too, so that no run resumes it meanwhile.
	locks   []string
	restart bool // --restart
	// only are the statuses of a report's rows it takes (run --only, undo); nil is every
	// row. needsReport is the error when only is set and the input is not a report.
	only        []schema.Status
	needsReport string
	// check, when set, runs before the locks are taken (run: the report is not the input).
	check func() error
	// begin, when set, runs with the locks held, before the AWS settings resolve (undo reads
	// the run's report's meta there: its target and its start).
	begin func() error
	// target, when set, checks where the calls go, once the settings resolve.
	target func(api *cognito) error
	// visit, when set, sees every row of the first pass (undo: the records match the meta).
	visit func(*input.Row) error
	// confirm, when set, runs once the report is open, before the first write (undo asks);
	// it ends when stop does.
	confirm func(stop context.Context, e env, p *prepared, rep *report.Report) error
	// op is the operation on each row, and since the time links this report's runs may have
	// made are dated from (run: its report's start; undo: the run's).
	op func(rep *report.Report, log *zap.Logger, merge *job.Merging) (op job.Operation, since time.Time)
	// merge is run --merge-signed-in (unverified: --merge-unverified): the plan checks the
	// merges' conflicts, the report has the merge columns, its backups and sub map lie
	// beside it, and the rows of one user run one after the other.
	merge, unverified bool

	threshold job.Threshold // --max-failures
	engine    *engineOptions
	aws       *awsOptions
	out       *outputOptions
}

// write runs a writer: its locks held, it prepares the input and the report and sends the rows
// left. It returns the summary of the whole report (nil when the command could not start),
// written beside it with the exit code, and the exit code.
func (w *writer) write(stop, kill context.Context, e env, log *zap.Logger) (*report.Summary, int) {
	if w.check != nil {
		if err := w.check(); err != nil {
			errorf(e, w.name, err)
			return nil, exitCode(stop, err, false)
		}
	}
	return underLock(stop, e, w.name, log, func() (*report.Summary, error) { return w.locked(stop, kill, e, log) }, w.locks...)
}

// locked runs the writer with its locks held, until the input is done, stop ends (rows in
// flight may finish), or kill ends (calls in flight are cut).
func (w *writer) locked(stop, kill context.Context, e env, log *zap.Logger) (*report.Summary, error) {
	start := time.Now()
	if w.begin != nil {
		if err := w.begin(); err != nil {
			return nil, err
		}
	}
	api, err := w.aws.client(stop, w.engine.concurrency, w.in.userPoolID, log, e.red)
	if err != nil {
		return nil, err
	}
	if w.target != nil {
		if err := w.target(api); err != nil {
			return nil, err
		}
	}
	calls := w.engine.caller(log, e.red)
	p, err := prepare(stop, prepareOptions{in: &w.in, allow: w.engine.allowed(), pools: &job.PoolReader{API: api, Calls: calls},
		tempDir: tempDir(w.report), only: w.only, needsReport: w.needsReport, visit: w.visit, merge: w.merge}, e, log)
	if err != nil {
		return nil, err
	}
	defer p.src.Close()
	meta := &report.Meta{Input: w.in.path, Fingerprint: p.shape.Fingerprint, Only: statusNames(w.only), Region: api.region,
		Endpoint: api.endpoint, UserPoolID: w.in.userPoolID, Version: version, Merge: w.merge}
	rep, err := report.Open(report.Spec{Path: w.report, Command: w.command, Layout: reportLayout(w.report, w.in, p.shape, w.merge),
		Meta: meta, Restart: w.restart, MaxLine: int(p.shape.Lines)})
	if err != nil {
		return nil, reportError(err)
	}
	logOpened(log, rep)
	if w.confirm != nil {
		if err := w.confirm(stop, e, p, rep); err != nil {
			rep.Close()
			return nil, err
		}
	}
	var merge *job.Merging
	if w.merge {
		backups, err := report.OpenBackups(w.report)
		if err != nil {
			rep.Close()
			return nil, usageError{err}
		}
		defer backups.Close()
		merge = &job.Merging{Backups: backups, Unverified: w.unverified, Failpoint: failpoint()}
		if w.unverified {
			log.Warn("--merge-unverified: profiles are merged into users whatever their emails say; a merge moves an identity for good")
		}
	}
	cfg := w.engine.config(calls, log)
	cfg.Op, cfg.Since = w.op(rep, log, merge)
	cfg.OneRowPerUser = w.merge
	cfg.MaxFailures, cfg.Skew, cfg.Started = w.threshold, api.skew, rep.Started
	total := p.shape.Rows
	if len(w.only) > 0 {
		total = p.selected
	}
	sum, err := execute(stop, kill, execution{command: w.name, input: w.in.path, start: start, p: p, rep: rep, cfg: cfg, api: api,
		auto: w.engine.autoRate(w.aws, api), only: w.only, total: total, out: w.out, rate: w.engine.rate}, e, log)
	if w.merge {
		// The sub map is made from the report, whatever ended the run: it agrees with it.
		if serr := report.WriteSubs(w.report); serr != nil {
			log.Error("write the sub map", zap.String("path", report.SubsPath(w.report)), zap.Error(serr))
		}
	}
	return sum, err
}
