package plan

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/bulklink/bulklink/input"
	"github.com/bulklink/bulklink/internal/testseed"
	"github.com/bulklink/bulklink/schema"
)

const pool = "us-east-1_Plan0001"

// fakePools serves pools from a map, counting reads. The SDK path is tested in package job.
type fakePools struct {
	pools map[string]*Pool
	reads map[string]int
}

func (f *fakePools) Pool(_ context.Context, id string) (*Pool, error) {
	f.reads[id]++
	if p, ok := f.pools[id]; ok {
		return p, nil
	}
	return &Pool{ID: id}, nil
}

func newFakePools() *fakePools {
	return &fakePools{reads: map[string]int{}, pools: map[string]*Pool{pool: {ID: pool, Exists: true, Providers: map[string]Provider{
		"Google":   {Name: "Google", Type: "Google"},
		"MyGoogle": {Name: "MyGoogle", Type: "Google"},
		"Okta":     {Name: "Okta", Type: "SAML", Mapping: map[string]string{"email": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"}},
		"Auth0":    {Name: "Auth0", Type: "OIDC", Mapping: map[string]string{"email": "email", "name": "name"}},
	}}}}
}

func row(line int, user, provider, attr, value string) input.Row {
	r := input.Row{Line: line, Request: input.Request{UserPoolID: pool, DestinationProvider: "Cognito", DestinationUser: user,
		SourceProvider: provider, SourceAttribute: attr, SourceValue: value}}
	return r
}

// run plans rows with a first pass and applies the plan in a second, as bulklink does.
func run(t *testing.T, cfg Config, rows []input.Row) []Item {
	t.Helper()
	p := New(cfg)
	for i := range rows {
		r := rows[i]
		if err := p.Visit(t.Context(), &r); err != nil {
			t.Fatalf("Visit line %d: %v", r.Line, err)
		}
	}
	pl, err := p.Finish(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out := make([]Item, len(rows))
	for i := range rows {
		if out[i], err = pl.Apply(t.Context(), rows[i]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

type want struct {
	code             schema.Code
	repeat, repeated bool
}

func check(t *testing.T, got []Item, wants []want) {
	t.Helper()
	for i, w := range wants {
		r := got[i]
		if r.Code != w.code || r.Repeat != w.repeat || r.Repeated != w.repeated {
			t.Errorf("line %d: got %q (%s), repeat %v, repeated %v; want %q, %v, %v",
				r.Line, r.Code, r.Invalid, r.Repeat, r.Repeated, w.code, w.repeat, w.repeated)
		}
	}
}

func TestPoolRules(t *testing.T) {
	f := newFakePools()
	rows := []input.Row{
		row(2, "alice", "Google", "Cognito_Subject", "g1"),
		row(3, "bob", "Facebook", "Cognito_Subject", "f1"),     // not in the pool
		row(4, "carol", "google", "Cognito_Subject", "g2"),     // case matters
		row(5, "dave", "Okta", "email", "dave@example.com"),    // mapped
		row(6, "erin", "Okta", "department", "x"),              // not mapped
		row(7, "frank", "MyGoogle", "email", "f@example.com"),  // a Google-type provider by email
		row(8, "grace", "Auth0", "Cognito_Subject", "auth0|1"), // the subject is always fine
		row(9, "heidi", "Okta", "Cognito_Subject", "00u1"),
		row(10, "ivan", "Auth0", "name", "Ivan"),
	}
	missing := row(11, "judy", "Google", "Cognito_Subject", "g3")
	missing.Request.UserPoolID = "us-east-1_Missing1"
	rows = append(rows, missing)
	got := run(t, Config{Pools: f, DefaultPool: pool, Allow: []string{"Google", "MyGoogle", "Okta", "Facebook"}}, rows)
	check(t, got, []want{
		{}, {code: schema.ProviderNotInPool}, {code: schema.ProviderNotInPool}, {}, {code: schema.AttributeNotMapped},
		{code: schema.AttributeNotMapped}, {code: schema.ProviderNotAllowed}, {}, {code: schema.ProviderNotAllowed}, {code: schema.PoolNotFound},
	})
	if !strings.Contains(got[2].Invalid, `(it has "Google": provider names are case-sensitive)`) {
		t.Errorf("case hint missing: %s", got[2].Invalid)
	}
	if !strings.Contains(got[4].Invalid, "link by one of Cognito_Subject, email") {
		t.Errorf("mapping not named: %s", got[4].Invalid)
	}
	if f.reads[pool] != 1 || f.reads["us-east-1_Missing1"] != 1 {
		t.Errorf("pool reads %v, want each pool read once", f.reads)
	}
}

func TestDefaultPoolMissingIsFatal(t *testing.T) {
	p := New(Config{Pools: newFakePools(), DefaultPool: "us-east-1_Missing1"})
	r := row(2, "alice", "Google", "Cognito_Subject", "g1")
	r.Request.UserPoolID = "us-east-1_Missing1"
	if err := p.Visit(t.Context(), &r); !errors.Is(err, ErrDefaultPool) {
		t.Fatalf("Visit: %v, want ErrDefaultPool", err)
	}
}

func TestOfflineRules(t *testing.T) {
	rows := []input.Row{
		row(2, "alice", "Google", "email", "a@example.com"), // social by name
		row(3, "bob", "Okta", "department", "x"),            // SAML: cannot be judged offline
		row(4, "carol", "Okta", "email", "c@example.com"),
		row(5, "dave", "Facebook", "Cognito_Subject", "f1"), // not allowed
	}
	check(t, run(t, Config{Allow: []string{"Google", "Okta"}}, rows),
		[]want{{code: schema.AttributeNotMapped}, {}, {}, {code: schema.ProviderNotAllowed}})
}

func TestAcrossTheInput(t *testing.T) {
	rows := []input.Row{
		row(2, "alice", "Google", "Cognito_Subject", "g1"),
		row(3, "bob", "Google", "Cognito_Subject", "g1"),   // g1 to two users: both conflict
		row(4, "carol", "Google", "Cognito_Subject", "g2"), // g2 twice to carol: a repeat
		row(5, "carol", "Google", "Cognito_Subject", "g2"),
		row(6, "carol", "Google", "Cognito_Subject", "g2"),
		row(7, "carol", "Google", "Cognito_Subject", "g1"), // g1 again: a conflict
	}
	// dave gets seven identities, one of them twice: rows after the fifth distinct one are
	// refused, the repeat of an earlier one is not.
	for i := range 7 {
		rows = append(rows, row(8+i, "dave", "Okta", "email", fmt.Sprintf("d%d@example.com", i)))
	}
	rows = append(rows, row(15, "dave", "Okta", "email", "d0@example.com"))
	// An invalid row takes no part: erin's identity is mapped to frank, and to erin by a row
	// already invalid.
	bad := row(16, "erin", "Google", "Cognito_Subject", "g9")
	bad.Reject(schema.MissingField, "missing something")
	rows = append(rows, bad, row(17, "frank", "Google", "Cognito_Subject", "g9"))

	got := run(t, Config{Pools: newFakePools()}, rows)
	check(t, got, []want{
		{code: schema.ConflictingSource}, {code: schema.ConflictingSource},
		{repeated: true}, {repeat: true, repeated: true}, {repeat: true}, {code: schema.ConflictingSource},
		{repeated: true}, {}, {}, {}, {}, {code: schema.TooManyIdentities}, {code: schema.TooManyIdentities}, {repeat: true},
		{code: schema.MissingField}, {},
	})
}

// With Merge, a row whose identity's profile (<Provider>_<value>, or with the provider in
// lower case) is a destination of the input makes every row naming that user MergeConflict:
// a merge would delete the user the other rows link to. A row that is its own profile's
// destination too. Other rows, and the same input without Merge, are left alone.
func TestMergeConflicts(t *testing.T) {
	rows := []input.Row{
		row(2, "alice", "Google", "Cognito_Subject", "g1"),     // alice's merge would delete Google_g1...
		row(3, "Google_g1", "Google", "Cognito_Subject", "g2"), // ...which this row links to
		row(4, "bob", "Google", "Cognito_Subject", "g3"),       // google_g3 is carol's destination
		row(5, "google_g3", "Okta", "email", "c@example.com"),  //
		row(6, "dave", "Okta", "email", "dave@example.com"),    // by email: no profile of that name
		row(7, "Okta_dave@example.com", "Google", "Cognito_Subject", "g4"),
		row(8, "Google_g5", "Google", "Cognito_Subject", "g5"), // its own profile
		row(9, "erin", "Google", "Cognito_Subject", "g6"),      // nothing in common
	}
	check(t, run(t, Config{Pools: newFakePools(), Merge: true}, rows), []want{
		{code: schema.MergeConflict}, {code: schema.MergeConflict}, {code: schema.MergeConflict}, {code: schema.MergeConflict},
		{}, {}, {code: schema.MergeConflict}, {},
	})
	check(t, run(t, Config{Pools: newFakePools()}, rows), []want{{}, {}, {}, {}, {}, {}, {}, {}})
}

// TestAcrossTheInputAtScale compares the sorted checks with a plain in-memory count on a
// random input, with runs so small that the merge joins hundreds of them.
func TestAcrossTheInputAtScale(t *testing.T) {
	seed := testseed.Seed(t)
	rng := rand.New(rand.NewPCG(seed, seed))
	var rows []input.Row
	for i := range 6000 {
		rows = append(rows, row(i+2, fmt.Sprintf("u%d", rng.IntN(900)), "Google", "Cognito_Subject", fmt.Sprintf("g%d", rng.IntN(3600))))
	}
	got := run(t, Config{Pools: newFakePools(), RunTuples: 40}, rows)

	// The same rules, counted in memory.
	users := map[string]map[string]bool{} // source → users
	for _, r := range rows {
		if users[r.Request.SourceValue] == nil {
			users[r.Request.SourceValue] = map[string]bool{}
		}
		users[r.Request.SourceValue][r.Request.DestinationUser] = true
	}
	ids := map[string][]string{} // user → its first identities
	seen := map[string]bool{}    // identity+user seen
	for i, r := range rows {
		q := r.Request
		w := want{}
		key := q.SourceValue + "/" + q.DestinationUser
		switch {
		case len(users[q.SourceValue]) > 1:
			w.code = schema.ConflictingSource
		default:
			has := false
			for _, id := range ids[q.DestinationUser] {
				has = has || id == q.SourceValue
			}
			switch {
			case has:
			case len(ids[q.DestinationUser]) < MaxIdentities:
				ids[q.DestinationUser] = append(ids[q.DestinationUser], q.SourceValue)
			default:
				w.code = schema.TooManyIdentities
			}
		}
		if w.code != schema.ConflictingSource {
			w.repeat = seen[key]
			seen[key] = true
			for _, later := range rows[i+1:] {
				if later.Request == q {
					w.repeated = true
					break
				}
			}
		}
		if w.code == schema.TooManyIdentities {
			w.repeat, w.repeated = false, false
		}
		g := got[i]
		if g.Code != w.code || (w.code == "" && (g.Repeat != w.repeat || g.Repeated != w.repeated)) {
			t.Fatalf("line %d (%s → %s): got %q repeat %v repeated %v; want %q %v %v",
				r.Line, q.SourceValue, q.DestinationUser, g.Code, g.Repeat, g.Repeated, w.code, w.repeat, w.repeated)
		}
	}
}
