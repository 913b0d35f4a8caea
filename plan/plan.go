// Package plan decides, before the first write, which rows of an input a run may send. It
// reads the whole input once (input.Source.Scan's first pass) and judges every row by the
// rules that need more than the row itself (docs/trust.md):
//
//   - against its pool, read once per pool (DescribeUserPool, ListIdentityProviders,
//     DescribeIdentityProvider): the pool exists (PoolNotFound), the source provider is one of
//     the pool's (ProviderNotInPool) and of --allow-providers (ProviderNotAllowed), and the
//     source attribute is one the provider can be linked by (AttributeNotMapped);
//   - against the rest of the input: one source identity mapped to two destination users
//     (ConflictingSource, every such row), and more than five identities for one user
//     (TooManyIdentities, the rows after the fifth in input order). The same row twice is no
//     conflict: the planner marks such repeats (Item.Repeat), which the engine runs one
//     after the other.
//
// The rules apply in that order; a row gets the code of the first it breaks, and rows invalid
// for any reason take no part in the later rules. The checks across the input need all of it
// before the first write, within bounded memory: the first pass writes each valid row's
// identity and user as hashes (20 bytes a row) to a temporary file, which is sorted on disk
// in runs that fit a fixed buffer, and read back in order; what is kept in memory is one bit
// per input line for each verdict. The later pass (Plan.Apply) judges each row again, from
// the pools read and those bits, and gets the same answers.
package plan

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"strings"

	"github.com/bulklink/bulklink/input"
	"github.com/bulklink/bulklink/schema"
)

// MaxIdentities is how many identities Cognito links to one user.
const MaxIdentities = 5

// MaxPools bounds the pools one input may name: each is read before the first write.
const MaxPools = 1000

// Pool is what the trust checks know of a user pool.
type Pool struct {
	ID     string
	Exists bool
	// CaseSensitive says whether the pool tells usernames apart by case.
	CaseSensitive bool
	Providers     map[string]Provider // by name
	// EstimatedUsers is DescribeUserPool's EstimatedNumberOfUsers: what discover shows its
	// progress against.
	EstimatedUsers int64
}

// Provider is an identity provider configured in a pool.
type Provider struct {
	Name string
	Type string // SAML, OIDC, Google, Facebook, LoginWithAmazon or SignInWithApple
	// Mapping maps user-pool attributes to the provider's claims.
	Mapping map[string]string
}

// Pools reads pools. A pool that does not exist is a Pool with Exists false, not an error;
// an error is fatal to the run.
type Pools interface {
	Pool(ctx context.Context, id string) (*Pool, error)
}

// Config tunes a Planner.
type Config struct {
	// Allow lists the providers rows may link from (--allow-providers); nil allows any the
	// pool has.
	Allow []string
	// Pools reads the rows' pools; nil plans offline: only the rules that need no read apply
	// (--allow-providers, social providers by name, the checks across the input).
	Pools Pools
	// DefaultPool is --user-pool-id: if it does not exist, the run stops (ErrDefaultPool).
	DefaultPool string
	// TempDir holds the temporary files of the checks across the input; "" is the system's.
	TempDir string
	// RunTuples bounds the memory of the sort: tuples (20 bytes each) sorted at once.
	RunTuples int
	// Merge is run --merge-signed-in: a row whose identity's own profile (<Provider>_<value>)
	// is a destination of the input, its own or another row's, is MergeConflict, with every
	// row naming that user: a merge would delete the user the other rows link to.
	Merge bool
}

// DefaultRunTuples sorts 8 MiB of tuples at a time.
const DefaultRunTuples = 8 << 20 / 24

// ErrOffline, returned by Pools, says that the pool cannot be read and the row is to be
// judged offline, as if Config.Pools were nil.
var ErrOffline = errors.New("judge the row offline")

// ErrDefaultPool reports that the --user-pool-id pool does not exist: no row of the run can
// be sent.
var ErrDefaultPool = errors.New("the --user-pool-id pool does not exist")

// Planner judges the rows of a first pass. Build one with New.
type Planner struct {
	cfg    Config
	pools  map[string]*Pool
	h      maphash.Hash // seeded at random once
	tuples *tupleFile
	merges *tupleFile // with Config.Merge: the users rows name, as destinations and as profiles a merge would delete
	maxLn  int
	Counts map[schema.Code]int64 // rows the plan makes invalid, by code
}

// New returns a Planner.
func New(cfg Config) *Planner {
	if cfg.RunTuples <= 0 {
		cfg.RunTuples = DefaultRunTuples
	}
	return &Planner{cfg: cfg, pools: map[string]*Pool{}, Counts: map[schema.Code]int64{}}
}

// Prefetch reads the default pool (--user-pool-id) before the first pass, so that a Cognito
// out of reach, refused credentials or a missing pool stop the command before the input is
// read. It does nothing offline or without a default pool.
func (p *Planner) Prefetch(ctx context.Context) error {
	if p.cfg.Pools == nil || p.cfg.DefaultPool == "" {
		return nil
	}
	_, err := p.pool(ctx, p.cfg.DefaultPool)
	if errors.Is(err, ErrOffline) {
		return nil
	}
	return err
}

// Online reports whether the planner reads the pools.
func (p *Planner) Online() bool { return p.cfg.Pools != nil }

// Visit judges one row of the first pass: it is input.Source.Scan's visitor.
func (p *Planner) Visit(ctx context.Context, row *input.Row) error {
	p.maxLn = max(p.maxLn, row.Line)
	if err := p.check(ctx, row); err != nil {
		return err
	}
	if !row.Valid() {
		p.Counts[row.Code]++
		return nil
	}
	if p.tuples == nil {
		t, err := newTupleFile(p.cfg.TempDir)
		if err != nil {
			return err
		}
		p.tuples = t
	}
	if p.cfg.Merge {
		if err := p.visitMerge(row); err != nil {
			return err
		}
	}
	return p.tuples.Add(p.tuple(row))
}

// The kinds of user a merge tuple names (its src).
const (
	mergeDestination = 0 // the row's destination
	mergeProfile     = 1 // the profile a merge of the row would delete
)

// visitMerge records the users a row names for the merge conflicts: its destination, and for
// an identity named by its subject (the only kind that has a <Provider>_<value> profile), the
// names its profile may have (the provider's name as the row gives it, and in lower case).
func (p *Planner) visitMerge(row *input.Row) error {
	if p.merges == nil {
		t, err := newTupleFile(p.cfg.TempDir)
		if err != nil {
			return err
		}
		p.merges = t
	}
	q := &row.Request
	if err := p.merges.Add(tuple{src: mergeDestination, dst: p.hash(q.UserPoolID, p.userOf(q).Name), line: uint32(row.Line)}); err != nil {
		return err
	}
	if q.SourceAttribute != input.DefaultSourceAttribute {
		return nil
	}
	names := []string{q.SourceProvider + "_" + q.SourceValue, strings.ToLower(q.SourceProvider) + "_" + q.SourceValue}
	var last uint64
	for i, name := range names {
		h := p.hash(q.UserPoolID, p.pools[q.UserPoolID].User(name).Name)
		if i > 0 && h == last {
			continue
		}
		last = h
		if err := p.merges.Add(tuple{src: mergeProfile, dst: h, line: uint32(row.Line)}); err != nil {
			return err
		}
	}
	return nil
}

// tuple hashes a row's source identity and destination user. The seed is random, so that no
// input can be made to collide on purpose; two different identities share a 64-bit hash by
// chance about once in 10^12 inputs of 10 million rows.
func (p *Planner) tuple(row *input.Row) tuple {
	q := &row.Request
	return tuple{
		src:  p.hash(q.UserPoolID, q.SourceProvider, q.SourceAttribute, q.SourceValue),
		dst:  p.hash(q.UserPoolID, p.userOf(q).Name),
		line: uint32(row.Line),
	}
}

// hash hashes strings, each ended by a NUL, which no value holds (input.Check refuses
// control characters).
func (p *Planner) hash(parts ...string) uint64 {
	p.h.Reset()
	for _, s := range parts {
		p.h.WriteString(s)
		p.h.WriteByte(0)
	}
	return p.h.Sum64()
}

// pool returns a pool, read on its first sight.
func (p *Planner) pool(ctx context.Context, id string) (*Pool, error) {
	if pl, ok := p.pools[id]; ok {
		return pl, nil
	}
	if len(p.pools) >= MaxPools {
		return nil, fmt.Errorf("the input names more than %d user pools: bulklink reads each one before the first write; split the input", MaxPools)
	}
	pl, err := p.cfg.Pools.Pool(ctx, id)
	if err != nil {
		return nil, err
	}
	if !pl.Exists && id == p.cfg.DefaultPool {
		return nil, fmt.Errorf("%w: %s (check --user-pool-id and --region)", ErrDefaultPool, id)
	}
	p.pools[id] = pl
	return pl, nil
}

// check applies the rules of one row that need its pool but not the rest of the input.
func (p *Planner) check(ctx context.Context, row *input.Row) error {
	if !row.Valid() {
		return nil
	}
	q := &row.Request
	var prov *Provider // nil when judged offline
	if p.cfg.Pools != nil {
		pl, err := p.pool(ctx, q.UserPoolID)
		switch {
		case errors.Is(err, ErrOffline):
		case err != nil:
			return err
		case !pl.Exists:
			row.Reject(schema.PoolNotFound, fmt.Sprintf("user pool %s does not exist (in the region and account of this run)", q.UserPoolID))
			return nil
		default:
			pv, ok := pl.Providers[q.SourceProvider]
			if !ok {
				row.Reject(schema.ProviderNotInPool, notInPool(q.SourceProvider, pl))
				return nil
			}
			prov = &pv
		}
	}
	if p.cfg.Allow != nil && !slices.Contains(p.cfg.Allow, q.SourceProvider) {
		row.Reject(schema.ProviderNotAllowed, fmt.Sprintf("source provider %q is not in --allow-providers (%s)", q.SourceProvider, strings.Join(p.cfg.Allow, ", ")))
		return nil
	}
	if reason := unmapped(q, prov); reason != "" {
		row.Reject(schema.AttributeNotMapped, reason)
	}
	return nil
}

// notInPool explains a provider the pool does not have, naming one it has that differs only
// by case.
func notInPool(name string, pl *Pool) string {
	msg := fmt.Sprintf("source provider %q is not an identity provider of pool %s", name, pl.ID)
	for other := range pl.Providers {
		if strings.EqualFold(other, name) {
			return msg + fmt.Sprintf(" (it has %q: provider names are case-sensitive)", other)
		}
	}
	return msg
}

// unmapped says why a source attribute cannot name an identity of its provider, or "".
// Without the provider (offline), only social providers are judged, by their name.
func unmapped(q *input.Request, prov *Provider) string {
	if q.SourceAttribute == input.DefaultSourceAttribute {
		return ""
	}
	kind := q.SourceProvider
	if prov != nil {
		kind = prov.Type
	}
	switch {
	case input.IsSocial(kind):
		return fmt.Sprintf("%s is a social provider (%s): its users are linked by Cognito_Subject, got source_attribute %q", q.SourceProvider, kind, q.SourceAttribute)
	case prov == nil:
		return ""
	}
	if _, ok := prov.Mapping[q.SourceAttribute]; ok {
		return ""
	}
	mapped := make([]string, 0, len(prov.Mapping))
	for k := range prov.Mapping {
		mapped = append(mapped, k)
	}
	slices.Sort(mapped)
	return fmt.Sprintf("source_attribute %q is not in the attribute mapping of %s, a %s provider: link by one of %s",
		q.SourceAttribute, prov.Name, prov.Type, strings.Join(append([]string{input.DefaultSourceAttribute}, mapped...), ", "))
}
