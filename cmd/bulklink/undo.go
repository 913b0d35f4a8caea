package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/bulklink/bulklink/input"
	"github.com/bulklink/bulklink/job"
	"github.com/bulklink/bulklink/report"
	"github.com/bulklink/bulklink/schema"
)

// undoOptions are the flags of `bulklink undo`.
type undoOptions struct {
	aws         awsOptions
	engine      engineOptions
	out         outputOptions
	userPoolID  string
	reportPath  string // R: the run's report
	undoPath    string // U: this undo's report
	includeAll  bool   // --include-already-linked
	yes         bool
	force       bool
	restart     bool
	maxFailures string
	threshold   job.Threshold
}

func (o *undoOptions) register(g *flagGroups) {
	in := g.group(groupInput)
	in.StringVar(&o.reportPath, "report", "", "undo the run whose report is `PATH`: its linked rows are unlinked")
	in.BoolVar(&o.includeAll, "include-already-linked", false, "also unlink the rows the run found already linked (links older than the run)")
	in.StringVar(&o.userPoolID, "user-pool-id", "", "the pool `ID` the run linked in, when its report does not record it (default: the report's)")
	rep := g.group(groupReport)
	rep.StringVar(&o.undoPath, "undo-report", "", "write a record per row to `PATH`, .csv or .jsonl; the same undo report resumes")
	rep.BoolVar(&o.restart, "restart", false, "start the undo report over instead of resuming it")
	rep.StringVar(&o.maxFailures, "max-failures", "", "stop (exit 3, resumable) once more than `N` rows failed, or N% of them")
	rep.BoolVar(&o.yes, "yes", false, "do not ask for confirmation (needed when not run from a terminal)")
	rep.BoolVar(&o.force, "force", false, "undo against another endpoint, region or --user-pool-id than the run's report records")
	o.aws.register(g)
	o.engine.register(g)
	o.out.register(g)
}

func (o *undoOptions) validate() error {
	switch {
	case o.reportPath == "":
		return usagef("--report is required: the report of the run to undo")
	case o.undoPath == "":
		return usagef("--undo-report is required")
	case o.undoPath == o.reportPath || sameFile(o.undoPath, o.reportPath):
		return usagef("--undo-report must not be the run's report")
	}
	if _, err := report.FormatOf(o.reportPath); err != nil {
		return usageError{err}
	}
	if _, err := report.FormatOf(o.undoPath); err != nil {
		return usageError{err}
	}
	if err := checkReportDir("--undo-report", o.undoPath); err != nil {
		return err
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

// statuses are the statuses of the run's rows that undo takes back.
func (o *undoOptions) statuses() []schema.Status {
	if o.includeAll {
		return []schema.Status{schema.AlreadyLinked, schema.Linked, schema.Merged}
	}
	return []schema.Status{schema.Linked, schema.Merged}
}

// runUndo is `bulklink undo`.
func runUndo() *command {
	var o undoOptions
	return &command{
		name:     "undo",
		synopsis: "--report PATH --undo-report PATH [flags]",
		short:    "unlink what a run linked",
		long: `Unlink, with AdminDisableProviderForUser, the rows a run's report has linked (and with
--include-already-linked those it found linked), and write a record per row to the undo
report: unlinked, not_linked or failed. It goes where the run went (the report records
the endpoint, region and pool), asks before the first write on a terminal (--yes
otherwise), and resumes like run.`,
		examples: `bulklink undo --report links.report.csv --undo-report links.undo.csv
bulklink undo --report links.report.csv --undo-report links.undo.csv --yes   # from a script`,
		flags: o.register,
		run: func(ctx context.Context, _ []string, e env) int {
			return o.out.serve(ctx, e, "undo", o.validate, func(stop, kill context.Context, log *zap.Logger) (*report.Summary, int, []zap.Field) {
				sum, code := o.writer().write(stop, kill, e, log)
				return sum, code, nil
			})
		},
	}
}

// writer is undo as a writer: unlink the rows the run's report --report has linked, into
// --undo-report. It goes where the run went: its meta, read with both locks held, gives the
// default pool and region, the target to check, and the time the run began.
func (o *undoOptions) writer() *writer {
	w := &writer{name: "undo", command: schema.Undo, report: o.undoPath, locks: []string{o.reportPath, o.undoPath},
		restart: o.restart, only: o.statuses(), needsReport: "--report must be a bulklink run's report",
		threshold: o.threshold, engine: &o.engine, aws: &o.aws, out: &o.out, confirm: o.confirm}
	var ran *report.Meta
	w.begin = func() error {
		var err error
		if ran, err = runReport(o.reportPath); err != nil {
			return err
		}
		if o.userPoolID == "" {
			o.userPoolID = ran.UserPoolID
		}
		if o.aws.region == "" && ran.Region != "" && o.aws.profile == "" {
			o.aws.fallbackRegion = ran.Region
		}
		f, _ := report.FormatOf(o.reportPath)
		w.in = inputOptions{path: o.reportPath, userPoolID: o.userPoolID, format: string(f), regular: true}
		w.visit = matchesMeta(o.reportPath, ran)
		return nil
	}
	w.target = func(api *cognito) error {
		target := &report.Meta{Region: api.region, Endpoint: api.endpoint, UserPoolID: o.userPoolID}
		if err := ran.SameTarget(target); err != nil && !o.force {
			return usagef("%s was written against another target: %w; undo goes where the run went, or pass --force", o.reportPath, err)
		}
		return nil
	}
	w.op = func(*report.Report, *zap.Logger, *job.Merging) (job.Operation, time.Time) {
		// The links the run made are those Cognito dated after the run's report began.
		return job.Unlink{IncludeOlder: o.includeAll}, ran.CreatedAt
	}
	return w
}

// runReport reads the meta of the report to undo: it must be a run's.
func runReport(path string) (*report.Meta, error) {
	m, err := report.ReadMeta(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, usagef("--report %s is not a bulklink run's report: %s is missing", path, report.MetaPath(path))
	case err != nil:
		return nil, usageError{err}
	case m.Command == schema.Undo:
		return nil, usagef("--report %s is an undo's report: undo takes back what a run linked; to link those rows again, run the original input again", path)
	case m.Command == schema.Validate:
		return nil, usagef("--report %s is validate's report: nothing was linked", path)
	case m.CreatedAt.IsZero():
		return nil, usagef("--report %s: its meta (%s) does not say when the run began, so undo cannot tell the links the run made from older ones", path, report.MetaPath(path))
	}
	return m, nil
}

// matchesMeta refuses a record of the run's report that finished before the report began, as
// its meta says: the meta is another report's, and undo would judge links by the wrong start.
func matchesMeta(path string, m *report.Meta) func(*input.Row) error {
	return func(row *input.Row) error {
		if row.Prior == nil || row.Prior.FinishedAt.IsZero() || !row.Prior.FinishedAt.Before(m.CreatedAt.Add(-time.Second)) {
			return nil
		}
		return fmt.Errorf("--report %s does not match its meta: the record at line %d finished at %s, before the report began (%s, per %s); undo cannot tell which links the run made",
			path, row.Line, row.Prior.FinishedAt.UTC().Format(time.RFC3339), m.CreatedAt.UTC().Format(time.RFC3339), report.MetaPath(path))
	}
}

// confirm says, before the first write, how many rows will be unlinked from which pools, and
// on a terminal asks whether to go on; --yes answers for scripts. The report's name and the
// pools are quoted when a terminal would act on them (asShown): what the operator
// confirms is what is shown.
func (o *undoOptions) confirm(stop context.Context, e env, p *prepared, rep *report.Report) error {
	left := p.selected - rep.Journal.Records
	var pools []string
	for _, id := range slices.Sorted(maps.Keys(p.byPool)) {
		pools = append(pools, fmt.Sprintf("%s (%d)", asShown(id), p.byPool[id]))
	}
	what := "linked"
	if o.includeAll {
		what = "linked or already_linked"
	}
	fmt.Fprintf(e.stderr, "bulklink undo: %d rows of %s are %s; %d of them left to unlink, from %s\n",
		p.selected, asShown(o.reportPath), what, max(left, 0), strings.Join(pools, ", "))
	if n := p.byStatus[schema.Merged]; n > 0 {
		fmt.Fprintf(e.stderr, "  %d of them merged: undo unlinks their identities, whose next sign-in makes a new profile; "+
			"the profiles the run deleted and their subs cannot come back (their backups are in %s)\n", n, asShown(report.BackupPath(o.reportPath)))
	}
	if o.yes || left <= 0 {
		return nil
	}
	if !isTerminal(e.stdin) {
		return usagef("undo unlinks identities in Cognito: confirm with --yes when not run from a terminal")
	}
	fmt.Fprint(e.stderr, "Unlink them? [y/N] ")
	// The answer is read apart, so that the first Ctrl-C or SIGTERM ends the question: the
	// read is left to the process's end.
	answered := make(chan string, 1)
	go func() {
		answer, _ := bufio.NewReader(e.stdin).ReadString('\n')
		answered <- answer
	}()
	select {
	case answer := <-answered:
		if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
			return usagef("not confirmed: nothing was unlinked")
		}
		return nil
	case <-stop.Done():
		fmt.Fprintln(e.stderr)
		return fmt.Errorf("not confirmed, %w: nothing was unlinked", context.Cause(stop))
	}
}

// statusNames are statuses as a meta records them.
func statusNames(sts []schema.Status) []string {
	var s []string
	for _, st := range sts {
		s = append(s, string(st))
	}
	return s
}

// sameFile reports whether two paths name one existing file.
func sameFile(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}
