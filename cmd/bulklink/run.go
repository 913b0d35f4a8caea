package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/bulklink/bulklink/input"
	"github.com/bulklink/bulklink/job"
	"github.com/bulklink/bulklink/report"
	"github.com/bulklink/bulklink/schema"
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
	readFirst   string
	readMode    job.ReadMode // parsed --read-first
	merge       bool         // --merge-signed-in
	unverified  bool         // --merge-unverified

	onlyStatuses []schema.Status // parsed --only
	threshold    job.Threshold   // parsed --max-failures
}

func (o *runOptions) register(g *flagGroups) {
	o.in.register(g)
	g.group(groupInput).StringVar(&o.only, "only", "", "with a report as --input, run only its rows whose status is one of `STATUS,...`, e.g. failed or failed,invalid")
	rep := g.group(groupReport)
	rep.StringVar(&o.reportPath, "report", "", "write a record per input row to `PATH`, .csv or .jsonl; the same report resumes")
	rep.BoolVar(&o.restart, "restart", false, "start the report over instead of resuming it")
	rep.StringVar(&o.maxFailures, "max-failures", "", fmt.Sprintf("stop (exit 3, resumable) once more than `N` rows failed, or N%% of them (judged after %d rows)", job.DefaultMinRows))
	o.aws.register(g)
	o.engine.register(g)
	rep.BoolVar(&o.merge, "merge-signed-in", false, "merge an identity that signed in already (its own <Provider>_<id> profile) into the row's user: back the profile up, delete it, link the identity (see README, Merge)")
	rep.BoolVar(&o.unverified, "merge-unverified", false, "with --merge-signed-in, merge even when the emails of the profile and the user are not both verified and equal")
	g.group(groupPace).StringVar(&o.readFirst, "read-first", string(job.ReadAuto), "read the destination user before the write: `auto|always|never`; a row already linked then costs a read and no write; auto reads first while most recent rows were already linked (default auto)")
	o.out.register(g)
}

func (o *runOptions) validate() error { return o.check(true) }

// check checks the flags; needReport says whether --report is required.
func (o *runOptions) check(needReport bool) error {
	if o.in.path == "" {
		return usagef("--input is required")
	}
	if o.reportPath == "" && needReport {
		return usagef("--report is required")
	}
	if o.reportPath != "" {
		if _, err := report.FormatOf(o.reportPath); err != nil {
			return usageError{err}
		}
		if err := checkReportDir("--report", o.reportPath); err != nil {
			return err
		}
	}
	if o.only != "" {
		var err error
		if o.onlyStatuses, err = parseStatuses("--only", o.only, schema.Run.Final()); err != nil {
			return err
		}
	}
	var err error
	if o.threshold, err = parseThreshold(o.maxFailures); err != nil {
		return err
	}
	if o.readMode, err = job.ParseReadMode(o.readFirst); err != nil {
		return usagef("--read-first: %w", err)
	}
	if o.unverified && !o.merge {
		return usagef("--merge-unverified goes with --merge-signed-in")
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

// runLink is `bulklink run`.
func runLink() *command {
	var o runOptions
	return &command{
		name:     "run",
		synopsis: "--input PATH|- --report PATH [flags]",
		short:    "link every row of an input file",
		long: `Link every row of the input, a CSV or JSONL file of AdminLinkProviderForUser requests,
in a paced pool of workers that retries with backoff and settles ambiguous answers by
reading the user. Before any write, every row is checked and each pool read once (see
validate). Each row gets one record in the report; running the same command again
resumes a run that stopped, and sends no row twice.`,
		examples: `# link, then look at the rows that failed
bulklink run --input links.csv --user-pool-id us-east-1_AbCdEf123 --report links.report.csv
bulklink report links.report.csv --status failed

# run the failed rows again, into a new report
bulklink run --input links.report.csv --only failed --report links.retry.csv

# rehearse against a local Cognito (bulklink emulate)
bulklink run --endpoint-url http://127.0.0.1:9229 --input links.csv --report r.csv`,
		flags: o.register,
		run: func(ctx context.Context, _ []string, e env) int {
			return o.out.serve(ctx, e, "run", o.validate, func(stop, kill context.Context, log *zap.Logger) (*report.Summary, int, []zap.Field) {
				sum, code := o.writer(e).write(stop, kill, e, log)
				return sum, code, nil
			})
		},
	}
}

// writer is run as a writer: link every row of --input into --report.
func (o *runOptions) writer(e env) *writer {
	return &writer{name: "run", command: schema.Run, in: o.in, report: o.reportPath, locks: []string{o.reportPath},
		restart: o.restart, only: o.onlyStatuses, threshold: o.threshold, engine: &o.engine, aws: &o.aws, out: &o.out,
		check: func() error { return checkReportPath(o.reportPath, o.in.path, e.stdin) },
		merge: o.merge, unverified: o.unverified,
		op: func(rep *report.Report, log *zap.Logger, merge *job.Merging) (job.Operation, time.Time) {
			// A resumed report keeps the time it began.
			return job.Link{First: &job.ReadFirst{Mode: o.readMode, Log: log}, Merge: merge}, rep.Meta.CreatedAt
		}}
}

// reportError makes a report that cannot be opened a usage error (exit 2): another input or
// target, a damaged report, a file bulklink will not touch.
func reportError(err error) error { return usageError{err} }

// logOpened tells the operator what became of an existing report.
func logOpened(log *zap.Logger, rep *report.Report) {
	if rep.Journal.Torn > 0 {
		log.Warn("cut a half-written record off the end of the report; its row runs again", zap.Int64("bytes", rep.Journal.Torn))
	}
	if rep.Replaced != "" {
		log.Info("started the report over: it held no record yet", zap.String("report", rep.Path), zap.String("was", rep.Replaced))
	}
	if rep.Resumed {
		log.Info("resuming the report", zap.String("report", rep.Path), zap.Int64("rows_done", rep.Journal.Records))
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

// checkReportPath refuses a report that is the input file: by its path, or by what standard
// input is when the input is "-" (run --input - < report.csv).
func checkReportPath(reportPath, inputPath string, stdin io.Reader) error {
	fi, err := os.Stat(reportPath)
	if err != nil {
		return nil
	}
	var in os.FileInfo
	if inputPath == "-" {
		if f, ok := stdin.(*os.File); ok {
			in, err = f.Stat()
		}
	} else {
		in, err = os.Stat(inputPath)
	}
	if err == nil && in != nil && os.SameFile(fi, in) {
		return usagef("--report %s is the input file", reportPath)
	}
	return nil
}

// reportLayout is the layout of a report at path for the input: a CSV input's carried
// columns follow the report's own (and the merge columns, with --merge-signed-in); a JSONL
// input's carried keys, which rows need not share, go as keys of a JSONL report or as one
// JSON cell of a CSV report.
func reportLayout(path string, in inputOptions, sh *input.Shape, merge bool) report.Layout {
	f, _ := report.FormatOf(path) // checked by validate
	l := report.Layout{Format: f, Merge: merge}
	if in.inputFormat() == input.CSV {
		l.ExtraColumns = sh.Columns
	} else {
		l.ExtraJSON = f == report.CSV
	}
	return l
}
