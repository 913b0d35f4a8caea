package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/bulklink/bulklink/input"
	"github.com/bulklink/bulklink/job"
	"github.com/bulklink/bulklink/report"
)

// validateOptions are the flags of `bulklink validate`.
type validateOptions struct {
	in         inputOptions
	reportPath string
}

func runValidate(ctx context.Context, args []string, e env) int {
	var o validateOptions
	fs := newFlagSet("validate", e)
	o.in.register(fs)
	fs.StringVar(&o.reportPath, "report", "", "optional report, .csv or .jsonl: one record per input row, valid or invalid")
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	stop, _, release := withSignals(ctx, e.signals)
	defer release()
	sum, err := validate(stop, &o, e)
	if err != nil {
		errorf(e, "validate", err)
	}
	code := exitCode(stop, err, sum != nil && sum.Count(report.Invalid) > 0)
	if sum != nil {
		sum.ExitCode = code
		if o.reportPath != "" {
			if werr := sum.WriteFile(report.SummaryPath(o.reportPath)); werr != nil {
				errorf(e, "validate", werr)
			}
		}
		sum.Print(e.stderr)
	}
	return code
}

// validate reads every row and checks it, calling nothing.
func validate(ctx context.Context, o *validateOptions, e env) (*report.Summary, error) {
	if o.reportPath != "" {
		if _, err := report.FormatOf(o.reportPath); err != nil {
			return nil, usageError{err}
		}
	}
	rd, err := o.in.open(e)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	var w *report.Writer
	if o.reportPath != "" {
		if err := checkReportPath(o.reportPath, o.in.path); err != nil {
			return nil, err
		}
		if _, err := os.Stat(report.MetaPath(o.reportPath)); err == nil {
			return nil, usagef("report %s belongs to a run (it has %s): validate does not overwrite it; choose another --report", o.reportPath, report.MetaPath(o.reportPath))
		}
		if w, err = report.Create(o.reportPath, reportLayout(o.reportPath, o.in, rd)); err != nil {
			return nil, usageError{err}
		}
	}
	sum := report.NewSummary("validate", time.Now())
	sum.Input, sum.Report = o.in.path, o.reportPath
	err = check(ctx, rd, w, sum)
	if w != nil {
		if cerr := w.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("write report: %w", cerr)
		}
	}
	sum.Finish(time.Now())
	return sum, err
}

// check reads and checks every row, writing a record of each to w when there is one.
func check(ctx context.Context, rd input.Reader, w *report.Writer, sum *report.Summary) error {
	for ctx.Err() == nil {
		row, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return usagef("read input: %w", err)
		}
		rec := report.Record{Line: row.Line, Status: report.Valid, Request: row.Request, Extra: row.Extra, FinishedAt: time.Now()}
		if !row.Valid() {
			rec.Status, rec.ErrorMessage = report.Invalid, row.Invalid
		}
		if w != nil {
			if err := w.Write(&rec); err != nil {
				return fmt.Errorf("write report: %w", err)
			}
		}
		sum.Add(&rec)
	}
	return job.ErrStopped
}
