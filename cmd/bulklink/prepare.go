package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"go.uber.org/zap"

	"github.com/bulklink/bulklink/input"
	"github.com/bulklink/bulklink/job"
	"github.com/bulklink/bulklink/plan"
	"github.com/bulklink/bulklink/report"
	"github.com/bulklink/bulklink/schema"
)

// prepared is an input read once and judged before any write: what run, validate and undo
// need before their second pass.
type prepared struct {
	src     *input.Source
	shape   *input.Shape
	planner *plan.Planner
	plan    *plan.Plan
	priors  int64  // rows that carry a report's status
	skipped string // why the pool checks were skipped, when they were
	// selected counts the rows --only (or undo) selects that are valid after the first
	// pass, and byPool the same by pool.
	selected int64
	byPool   map[string]int64
	byStatus map[schema.Status]int64 // and by the prior status of a report's row
}

// prepareOptions say how to prepare an input.
type prepareOptions struct {
	in       *inputOptions
	allow    []string
	pools    plan.Pools // nil: offline
	tempDir  string     // where the spool and the plan's temporary files go
	fallback bool       // on an unreachable Cognito, go on offline (validate without --online)
	only     []schema.Status
	// needsReport is the error when only is set and the input is not a report.
	needsReport string
	// visit, when set, sees every row of the first pass before the checks; an error stops
	// the command (exit 2).
	visit func(*input.Row) error
	// merge is --merge-signed-in: the plan checks the merges' conflicts (plan.Config.Merge).
	merge bool
}

// prepare opens the input once and runs the first pass: fingerprint, checks of every row,
// the pools read, the checks across the input. It fails, before any write, on an input that
// cannot be read (exit 2), a --user-pool-id pool that does not exist, and a Cognito that does
// not answer or refuses the credentials (exit 3).
func prepare(ctx context.Context, o prepareOptions, e env, log *zap.Logger) (p *prepared, err error) {
	src, err := o.in.open(ctx, e, o.tempDir)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			src.Close()
		}
	}()
	p = &prepared{src: src, byPool: map[string]int64{}, byStatus: map[schema.Status]int64{}}
	sel := &report.Selection{Only: o.only}
	cfg := plan.Config{Allow: o.allow, Pools: o.pools, DefaultPool: o.in.userPoolID, TempDir: o.tempDir, Merge: o.merge}
	if o.fallback && o.pools != nil {
		cfg.Pools = &fallbackPools{Pools: o.pools, skipped: &p.skipped, log: log}
	}
	p.planner = plan.New(cfg)
	// One cheap read before the first row: Cognito answers, takes the credentials, has the
	// --user-pool-id pool.
	if err := p.planner.Prefetch(ctx); err != nil {
		return nil, poolError(err)
	}
	log.Info("reading the input", zap.String("input", src.Name()), zap.Bool("stream", src.Stream()), zap.Bool("pool_checks", o.pools != nil))
	p.shape, err = src.Scan(ctx, func(row *input.Row) error {
		if row.Prior != nil {
			p.priors++
		}
		if o.visit != nil {
			if err := o.visit(row); err != nil {
				return usageError{err}
			}
		}
		if !sel.Selects(row) {
			return nil // a row the run leaves out takes no part in the checks
		}
		if err := p.planner.Visit(ctx, row); err != nil {
			return err
		}
		if row.Valid() {
			p.selected++
			p.byPool[row.Request.UserPoolID]++
			if row.Prior != nil {
				p.byStatus[row.Prior.Status]++
			}
		}
		return nil
	})
	switch {
	case errors.Is(err, plan.ErrDefaultPool):
		return nil, poolError(err)
	case err != nil:
		var fe *job.FatalError
		if errors.As(err, &fe) || ctx.Err() != nil {
			return nil, err
		}
		return nil, usageError{err}
	}
	if len(o.only) > 0 && p.shape.Rows > 0 && p.priors == 0 {
		if o.needsReport != "" {
			return nil, usagef("%s: no row of %s carries a status", o.needsReport, src.Name())
		}
		return nil, usagef("--only needs a bulklink report as --input: no row of %s carries a status", src.Name())
	}
	if p.plan, err = p.planner.Finish(ctx); err != nil {
		return nil, fmt.Errorf("plan the run: %w", err)
	}
	log.Info("input read", zap.Int64("rows", p.shape.Rows), zap.Int64("lines", p.shape.Lines), zap.Bool("gzip", p.shape.Gzip),
		zap.Any("invalid_by_plan", p.planner.Counts))
	if d := p.shape.Delimiter; d != 0 && d != ',' {
		log.Info(fmt.Sprintf("read the CSV with %q between fields, as its header has them", d), zap.String("input", src.Name()))
	}
	return p, nil
}

// fallbackPools reads pools until Cognito proves out of reach; then the pool checks are
// skipped, with a warning, and the rows are judged offline.
type fallbackPools struct {
	plan.Pools
	skipped *string
	log     *zap.Logger
}

func (f *fallbackPools) Pool(ctx context.Context, id string) (*plan.Pool, error) {
	if *f.skipped != "" {
		return nil, errSkipPool
	}
	p, err := f.Pools.Pool(ctx, id)
	var fe *job.FatalError
	if errors.As(err, &fe) && ctx.Err() == nil {
		*f.skipped = fe.Error()
		f.log.Warn("the pool checks are skipped: Cognito cannot be read; every row is still checked offline (--online requires the checks)",
			zap.String("reason", fe.Error()))
		return nil, errSkipPool
	}
	return p, err
}

// errSkipPool tells the planner to judge a row without its pool.
var errSkipPool = plan.ErrOffline

// tempDir is where a command's temporary files go: beside its report, or the system's.
func tempDir(report string) string {
	if report == "" {
		return ""
	}
	return filepath.Dir(report)
}

// poolError makes a --user-pool-id pool that does not exist fatal (exit 3), as Cognito names
// it; other errors pass as they are.
func poolError(err error) error {
	if errors.Is(err, plan.ErrDefaultPool) {
		return &job.FatalError{Code: "ResourceNotFoundException", Message: err.Error(), Err: err}
	}
	return err
}
