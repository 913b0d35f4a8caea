package plan

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/bulklink/bulklink/input"
	"github.com/bulklink/bulklink/schema"
)

// Plan is a first pass's verdicts, for the later passes to apply.
type Plan struct {
	p        *Planner
	conflict input.LineSet // ConflictingSource
	tooMany  input.LineSet // TooManyIdentities
	merge    input.LineSet // MergeConflict
	repeat   input.LineSet // repeats an earlier row
	repeated input.LineSet // repeated by a later row
}

// Finish ends the first pass and runs the checks across the input. It stops once ctx ends.
func (p *Planner) Finish(ctx context.Context) (*Plan, error) {
	pl := &Plan{p: p}
	if p.tuples == nil {
		return pl, nil
	}
	defer p.tuples.Close()
	if err := pl.conflicts(ctx); err != nil {
		return nil, err
	}
	if err := pl.identities(ctx); err != nil {
		return nil, err
	}
	if p.merges != nil {
		defer p.merges.Close()
		if err := pl.mergeConflicts(ctx); err != nil {
			return nil, err
		}
	}
	p.Counts[schema.ConflictingSource] += int64(pl.conflict.Len())
	p.Counts[schema.TooManyIdentities] += int64(pl.tooMany.Len())
	p.Counts[schema.MergeConflict] += int64(pl.merge.Len())
	for _, c := range []schema.Code{schema.ConflictingSource, schema.TooManyIdentities, schema.MergeConflict} {
		if p.Counts[c] == 0 {
			delete(p.Counts, c)
		}
	}
	return pl, nil
}

// conflicts reads the tuples by source identity: an identity given to two users makes all of
// its rows ConflictingSource; the rows of an identity and user after the first are repeats.
func (pl *Plan) conflicts(ctx context.Context) error {
	var users int   // the identity's distinct users so far
	var user uint64 // the last of them (the group is sorted by user)
	return pl.eachGroup(ctx, pl.p.tuples, bySource, func(t tuple) uint64 { return t.src },
		func(t tuple, first bool) {
			switch {
			case first:
				users, user = 1, t.dst
			case t.dst != user:
				users, user = users+1, t.dst
			}
		},
		func(t tuple, i, n int) {
			switch {
			case users > 1:
				pl.conflict.Add(int(t.line))
				return
			case i > 0:
				pl.repeat.Add(int(t.line))
			}
			if i < n-1 {
				pl.repeated.Add(int(t.line))
			}
		})
}

// identities reads the tuples by user, in input order, the conflicting rows aside: the rows
// of a sixth distinct identity and beyond are TooManyIdentities.
func (pl *Plan) identities(ctx context.Context) error {
	p := pl.p
	sorted, err := sortTuples(ctx, p.tuples, p.cfg.TempDir, p.cfg.RunTuples, byDestination,
		func(t tuple) bool { return !pl.conflict.Has(int(t.line)) })
	if err != nil {
		return err
	}
	defer sorted.Close()
	rd := sorted.Reader(ctx)
	var user uint64
	var ids []uint64 // the user's first identities, at most MaxIdentities
	started := false
	for {
		t, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if !started || t.dst != user {
			user, ids, started = t.dst, ids[:0], true
		}
		switch {
		case containsID(ids, t.src):
		case len(ids) < MaxIdentities:
			ids = append(ids, t.src)
		default:
			pl.tooMany.Add(int(t.line))
		}
	}
}

// mergeConflicts reads the merge tuples by user: a user that is both a row's destination and
// the profile a row's merge would delete makes every row naming it MergeConflict.
func (pl *Plan) mergeConflicts(ctx context.Context) error {
	var kinds [2]bool // what the user is named as: mergeDestination, mergeProfile
	return pl.eachGroup(ctx, pl.p.merges, byDestination, func(t tuple) uint64 { return t.dst },
		func(t tuple, first bool) {
			if first {
				kinds = [2]bool{}
			}
			kinds[t.src] = true
		},
		func(t tuple, _, _ int) {
			if kinds[mergeDestination] && kinds[mergeProfile] && !pl.conflict.Has(int(t.line)) && !pl.tooMany.Has(int(t.line)) {
				pl.merge.Add(int(t.line))
			}
		})
}

// eachGroup sorts the tuples of in by order and reads them a group at a time, a group being
// the tuples of one key. It reads each group twice, from two readers of the sorted file, so
// that no group, however large, is held in memory: judge sees its tuples (first at the
// group's first), then mark gets them again, each with its place i of the group's n.
func (pl *Plan) eachGroup(ctx context.Context, in *tupleFile, order func(a, b tuple) int, key func(tuple) uint64,
	judge func(t tuple, first bool), mark func(t tuple, i, n int)) error {
	sorted, err := sortTuples(ctx, in, pl.p.cfg.TempDir, pl.p.cfg.RunTuples, order, nil)
	if err != nil {
		return err
	}
	defer sorted.Close()
	ahead, marks := sorted.Reader(ctx), sorted.Reader(ctx)
	next, err := ahead.Next()
	for err == nil {
		k, n := key(next), 0
		for ; err == nil && key(next) == k; n++ {
			judge(next, n == 0)
			next, err = ahead.Next()
		}
		for i := range n {
			t, merr := marks.Next()
			if merr != nil {
				return merr
			}
			mark(t, i, n)
		}
	}
	if !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

func containsID(ids []uint64, id uint64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// Apply judges a row of a later pass as the first pass did: the rules of its pool, then the
// checks across the input; it marks repeats.
func (pl *Plan) Apply(ctx context.Context, row input.Row) (Item, error) {
	if err := pl.p.check(ctx, &row); err != nil {
		return Item{}, err
	}
	it := Item{Row: row, User: pl.p.userOf(&row.Request)}
	if !row.Valid() {
		return it, nil
	}
	if p := pl.p.pools[row.Request.UserPoolID]; p != nil {
		it.Pool = p
		if prov, ok := p.Providers[row.Request.SourceProvider]; ok {
			it.Provider = &prov
		}
	}
	switch {
	case pl.conflict.Has(row.Line):
		q := &row.Request
		it.Reject(schema.ConflictingSource, fmt.Sprintf("source identity %s %s=%s is mapped to more than one destination user in this input: none of its rows is linked",
			q.SourceProvider, q.SourceAttribute, q.SourceValue))
	case pl.tooMany.Has(row.Line):
		it.Reject(schema.TooManyIdentities, fmt.Sprintf("the input gives %s more than %d identities, Cognito's limit: this row's comes after the fifth, in input order",
			row.Request.DestinationUser, MaxIdentities))
	case pl.merge.Has(row.Line):
		it.Reject(schema.MergeConflict, fmt.Sprintf("with --merge-signed-in, a merge would delete the profile of an identity this input also links to (%s, or %s_%s): no row naming that user is merged or linked",
			row.Request.DestinationUser, row.Request.SourceProvider, row.Request.SourceValue))
	default:
		it.Repeat, it.Repeated = pl.repeat.Has(row.Line), pl.repeated.Has(row.Line)
	}
	return it, nil
}

// Source passes on the rows of src, judged by the plan.
func (pl *Plan) Source(ctx context.Context, src interface{ Next() (input.Row, error) }) *Planned {
	return &Planned{pl: pl, ctx: ctx, src: src}
}

// Planned is a source of rows judged by a plan.
type Planned struct {
	pl  *Plan
	ctx context.Context
	src interface{ Next() (input.Row, error) }
}

func (s *Planned) Next() (Item, error) {
	row, err := s.src.Next()
	if err != nil {
		return Item{Row: row}, err
	}
	return s.pl.Apply(s.ctx, row)
}
