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
// A group is read twice from the sorted file: once to judge it, once to mark its lines, so
// that no group, however large, is held in memory.
func (pl *Plan) conflicts(ctx context.Context) error {
	p := pl.p
	sorted, err := sortTuples(ctx, p.tuples, p.cfg.TempDir, p.cfg.RunTuples, bySource, nil)
	if err != nil {
		return err
	}
	defer sorted.Close()
	ahead, mark := sorted.Reader(ctx), sorted.Reader(ctx)
	next, err := ahead.Next()
	for err == nil {
		// Judge the group of next.src: how many users, which lines.
		group := next
		users, n := 1, 0
		for ; err == nil && next.src == group.src; n++ {
			if next.dst != group.dst {
				users++
				group.dst = next.dst
			}
			next, err = ahead.Next()
		}
		for i := range n {
			t, merr := mark.Next()
			if merr != nil {
				return merr
			}
			switch {
			case users > 1:
				pl.conflict.Add(int(t.line))
				continue
			case i > 0:
				pl.repeat.Add(int(t.line))
			}
			if i < n-1 {
				pl.repeated.Add(int(t.line))
			}
		}
	}
	if !errors.Is(err, io.EOF) {
		return err
	}
	return nil
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
// the profile a row's merge would delete makes every row naming it MergeConflict. A group is
// read twice, once to judge it and once to mark its lines, as conflicts does.
func (pl *Plan) mergeConflicts(ctx context.Context) error {
	p := pl.p
	sorted, err := sortTuples(ctx, p.merges, p.cfg.TempDir, p.cfg.RunTuples, byDestination, nil)
	if err != nil {
		return err
	}
	defer sorted.Close()
	ahead, mark := sorted.Reader(ctx), sorted.Reader(ctx)
	next, err := ahead.Next()
	for err == nil {
		user := next.dst
		var kinds [2]bool
		n := 0
		for ; err == nil && next.dst == user; n++ {
			kinds[next.src] = true
			next, err = ahead.Next()
		}
		for range n {
			t, merr := mark.Next()
			if merr != nil {
				return merr
			}
			if kinds[mergeDestination] && kinds[mergeProfile] && !pl.conflict.Has(int(t.line)) && !pl.tooMany.Has(int(t.line)) {
				pl.merge.Add(int(t.line))
			}
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
