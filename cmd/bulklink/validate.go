package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"go.uber.org/zap"

	"github.com/bulklink/bulklink/call"
	"github.com/bulklink/bulklink/input"
	"github.com/bulklink/bulklink/job"
	"github.com/bulklink/bulklink/report"
	"github.com/bulklink/bulklink/schema"
)

// validateOptions are the flags of `bulklink validate`: every flag of run, so that a user can
// swap the verb for a dry run (those that only matter to writing are accepted and ignored),
// and its own.
type validateOptions struct {
	runOptions
	offline, online, predict bool
}

// maxShown is how many invalid rows validate prints when it writes no report.
const maxShown = 10

// runValidate is `bulklink validate`.
func runValidate() *command {
	var o validateOptions
	return &command{
		name:     "validate",
		synopsis: "--input PATH|- [--report PATH] [flags]",
		short:    "check every row, calling nothing that writes",
		long: `Check every row as run would, and write nothing to Cognito: the fields, the pools'
identity providers and attribute mappings (read when AWS settings resolve, unless
--offline), conflicts across the input, and with --predict what run would do to each
row. Without --report the first invalid rows are listed. validate takes every flag of
run, so that swapping the verb is a dry run; those that only matter to writing are
accepted and ignored.`,
		examples: `# check a file offline, then against the pool
bulklink validate --input links.csv --user-pool-id us-east-1_AbCdEf123 --offline
bulklink validate --input links.csv --user-pool-id us-east-1_AbCdEf123 --report links.check.csv

# what would run do? (reads each user, at --read-rate)
bulklink validate --input links.csv --user-pool-id us-east-1_AbCdEf123 --predict`,
		flags: func(g *flagGroups) {
			o.runOptions.register(g)
			g.lookup("report").Usage = "write a record per input row, valid or invalid, to `PATH`, .csv or .jsonl (never a run's report)"
			fs := g.group(groupTrust)
			fs.BoolVar(&o.offline, "offline", false, "skip the pool checks: check every row without reading Cognito")
			fs.BoolVar(&o.online, "online", false, "require the pool checks: fail (exit 3) when Cognito cannot be read")
			fs.BoolVar(&o.predict, "predict", false, "also read each destination user and the source's profile, and tell what run would do to each row")
		},
		run: func(ctx context.Context, _ []string, e env) int {
			return o.out.serve(ctx, e, "validate", o.check, func(stop, _ context.Context, log *zap.Logger) (*report.Summary, int, []zap.Field) {
				sum, shown, err := validate(stop, &o, e, log)
				if err != nil {
					errorf(e, "validate", err)
				}
				code := exitCode(stop, err, sum != nil && sum.Count(report.Invalid) > 0)
				if sum != nil {
					sum.ExitCode, sum.State = code, stateOf(code)
					if o.reportPath != "" {
						if werr := sum.WriteFile(report.SummaryPath(o.reportPath)); werr != nil {
							errorf(e, "validate", werr)
						}
					}
					if !o.out.json {
						shown.print(e)
					}
				}
				return sum, code, shown.fields(e)
			})
		},
	}
}

// check checks the flags: run's, without its need for a report.
func (o *validateOptions) check() error {
	if o.offline && o.online {
		return usagef("--offline and --online contradict each other")
	}
	if o.offline && o.predict {
		return usagef("--predict reads Cognito: it cannot be --offline")
	}
	return o.runOptions.check(false)
}

// validate reads every row and checks it, calling nothing that writes. It reads the pools
// for the trust checks whenever AWS settings resolve, unless --offline.
func validate(ctx context.Context, o *validateOptions, e env, log *zap.Logger) (*report.Summary, *invalidRows, error) {
	start := time.Now()
	if o.reportPath != "" {
		if err := checkReportPath(o.reportPath, o.in.path, e.stdin); err != nil {
			return nil, nil, err
		}
		unlock, err := lockAll(o.reportPath)
		if err != nil {
			return nil, nil, err
		}
		defer unlock()
	}
	var api *cognito
	var calls *call.Caller
	skipped := ""
	if !o.offline {
		var err error
		api, err = o.aws.client(ctx, o.engine.concurrency, o.in.userPoolID, log, e.red)
		if err != nil {
			if o.online || o.predict || ctx.Err() != nil {
				return nil, nil, err
			}
			skipped = e.red.String(err.Error())
			log.Warn("the pool checks are skipped: AWS settings do not resolve; every row is still checked offline (--online requires the checks)",
				zap.String("reason", skipped))
			api = nil
		}
	}
	po := prepareOptions{in: &o.in, allow: o.engine.allowed(), tempDir: tempDir(o.reportPath), only: o.onlyStatuses,
		fallback: !o.online && !o.predict, merge: o.merge}
	if api != nil {
		calls = o.engine.caller(log, e.red)
		pools := &job.PoolReader{API: api, Calls: calls}
		if po.fallback {
			// A dry run that can do without the reads does not wait long for them.
			pools.MaxAttempts, pools.Timeout = min(o.engine.maxAttempts, 2), min(o.engine.timeout, 5*time.Second)
		}
		po.pools = pools
	}
	p, err := prepare(ctx, po, e, log)
	if err != nil {
		return nil, nil, err
	}
	defer p.src.Close()
	if p.skipped != "" {
		skipped = p.skipped
	}

	var rep *report.Report
	if o.reportPath != "" {
		meta := &report.Meta{Input: o.in.path, Fingerprint: p.shape.Fingerprint, Only: statusNames(o.onlyStatuses), UserPoolID: o.in.userPoolID, Version: version}
		if api != nil {
			meta.Region, meta.Endpoint = api.region, api.endpoint
		}
		rep, err = report.Open(report.Spec{Path: o.reportPath, Command: schema.Validate,
			Layout: reportLayout(o.reportPath, o.in, p.shape, false), Meta: meta, MaxLine: int(p.shape.Lines)})
		if err != nil {
			return nil, nil, reportError(err)
		}
	}
	sum := report.NewSummary("validate", start)
	sum.Input, sum.Report = o.in.path, o.reportPath
	sum.PoolChecks = "done"
	if api == nil || skipped != "" {
		sum.PoolChecks = "skipped"
		if o.offline {
			sum.PoolChecks = "skipped (--offline)"
		}
	}
	var pred *job.Predictor
	if o.predict {
		pred = &job.Predictor{API: api, Calls: calls, Merge: o.merge, Unverified: o.unverified}
	}
	rows, err := p.src.Rows(ctx)
	if err == nil {
		sel := &report.Selection{Src: rows, Only: o.onlyStatuses}
		shown := &invalidRows{}
		err = check(ctx, p.plan.Source(ctx, sel), rep, sum, shown, pred)
		if pred != nil {
			sum.Checks = calls.Count(call.KindGetUser).Calls.Load()
			sum.Predict(o.engine.rate)
		}
		sum.Skipped = sel.Skipped.Load()
		if rep != nil {
			if cerr := rep.Close(); cerr != nil && err == nil {
				err = fmt.Errorf("write report: %w", cerr)
			}
			shown = nil
		}
		sum.Finish(time.Now())
		return sum, shown, err
	}
	if rep != nil {
		rep.Close()
	}
	return nil, nil, usageError{err}
}

// check writes a record of every row to rep, when there is one, and counts it. With a
// predictor, valid rows get what run would make of them.
func check(ctx context.Context, src job.Source, rep *report.Report, sum *report.Summary, shown *invalidRows, pred *job.Predictor) error {
	for ctx.Err() == nil {
		row, err := src.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			return usagef("read input: %w", err)
		}
		rec := report.Record{Line: row.Line, Status: report.Valid, Request: row.Request, Extra: row.Extra}
		if pred != nil && row.Valid() {
			st, code, msg, err := pred.Predict(ctx, &row)
			if err != nil {
				return err
			}
			if st == report.Invalid {
				row.Reject(code, msg)
			} else {
				rec.Status, rec.ErrorMessage = st, msg
			}
		}
		if !row.Valid() {
			rec.Status, rec.ErrorCode, rec.ErrorMessage = report.Invalid, row.Code, row.Invalid
			shown.add(&row.Row)
		}
		rec.FinishedAt = time.Now()
		if rep != nil {
			if err := rep.Write(&rec); err != nil {
				return fmt.Errorf("write report: %w", err)
			}
		}
		sum.Add(&rec)
	}
	return job.ErrStopped
}

// invalidRows keeps the first invalid rows, to show when there is no report.
type invalidRows struct {
	rows []input.Row
	more int64
}

func (s *invalidRows) add(r *input.Row) {
	if s == nil {
		return
	}
	if len(s.rows) < maxShown {
		s.rows = append(s.rows, input.Row{Line: r.Line, Code: r.Code, Invalid: r.Invalid})
		return
	}
	s.more++
}

// print lists the rows kept, a line each. A reason may quote the input (a JSON key as it is
// spelled): it is printed inert.
func (s *invalidRows) print(e env) {
	if s == nil || len(s.rows) == 0 {
		return
	}
	fmt.Fprintln(e.stderr, "invalid rows:")
	for _, r := range s.rows {
		fmt.Fprintf(e.stderr, "  line %d: %s: %s\n", r.Line, r.Code, e.line(r.Invalid))
	}
	if s.more > 0 {
		fmt.Fprintf(e.stderr, "  and %d more (write them all with --report)\n", s.more)
	}
}

// fields are the invalid rows kept, for the summary record of a JSON log.
func (s *invalidRows) fields(e env) []zap.Field {
	if s == nil || len(s.rows) == 0 {
		return nil
	}
	rows := make([]map[string]any, 0, len(s.rows))
	for _, r := range s.rows {
		rows = append(rows, map[string]any{"line": r.Line, "error_code": string(r.Code), "error_message": e.red.String(r.Invalid)})
	}
	return []zap.Field{zap.Any("invalid_rows", rows), zap.Int64("invalid_rows_not_shown", s.more)}
}
