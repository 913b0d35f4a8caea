package discover

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/bulklink/bulklink/internal/extsort"
	"github.com/bulklink/bulklink/internal/testseed"
	"github.com/bulklink/bulklink/plan"
	"github.com/bulklink/bulklink/schema"
)

const testPool = "us-east-1_Match0001"

func testPoolOf(caseSensitive bool) *plan.Pool {
	return &plan.Pool{ID: testPool, Exists: true, CaseSensitive: caseSensitive, Providers: map[string]plan.Provider{
		"Google": {Name: "Google", Type: "Google"},
		"Okta":   {Name: "Okta", Type: "SAML", Mapping: map[string]string{"email": "mail", "custom:employee": "employeeNumber"}},
	}}
}

// u is a listed user, as a table writes it.
type u struct {
	name, email string
	verified    string // email_verified: "true", "false" or "" (absent)
	disabled    bool
	status      string   // default CONFIRMED, or EXTERNAL_PROVIDER for names with _ and federated set
	federated   bool     // a profile: EXTERNAL_PROVIDER
	ids         []string // identities: "Provider:userId", a profile's own first (primary)
	idsRaw      *string  // the identities attribute as it is, instead of ids
	attrs       map[string]string
}

func (x u) userType() types.UserType {
	status := x.status
	switch {
	case x.federated:
		status = statusExternal
	case status == "":
		status = "CONFIRMED"
	}
	var attrs []types.AttributeType
	add := func(n, v string) {
		attrs = append(attrs, types.AttributeType{Name: aws.String(n), Value: aws.String(v)})
	}
	add("sub", "sub-"+x.name)
	if x.email != "" {
		add("email", x.email)
	}
	if x.verified != "" {
		add("email_verified", x.verified)
	}
	if x.idsRaw != nil {
		add("identities", *x.idsRaw)
	} else if len(x.ids) > 0 {
		var parts []string
		for i, id := range x.ids {
			p, v, _ := strings.Cut(id, ":")
			parts = append(parts, fmt.Sprintf(`{"userId":%q,"providerName":%q,"providerType":"X","issuer":null,"primary":%t,"dateCreated":1}`, v, p, x.federated && i == 0))
		}
		add("identities", "["+strings.Join(parts, ",")+"]")
	}
	for n, v := range x.attrs {
		add(n, v)
	}
	return types.UserType{Username: aws.String(x.name), Enabled: !x.disabled, UserStatus: types.UserStatusType(status), Attributes: attrs}
}

// collect is a sink that keeps what it is given.
type collect struct {
	rows     []Row
	refusals []Refused
}

func (c *collect) row(r *Row) error         { c.rows = append(c.rows, *r); return nil }
func (c *collect) refused(r *Refused) error { c.refusals = append(c.refusals, *r); return nil }

// matchUsers runs users through what a discover does with them: entries, the spill, the
// sort (in runs of a few records, so that groups straddle them), the match.
func matchUsers(t *testing.T, q Query, pool *plan.Pool, users []u) *collect {
	t.Helper()
	sp, err := extsort.Temp(t.TempDir(), "spill-*", entries)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	for _, x := range users {
		ut := x.userType()
		if e, keep := q.toEntry(&ut); keep {
			if err := sp.Add(e); err != nil {
				t.Fatal(err)
			}
		}
	}
	sorted, err := extsort.Sort(t.Context(), sp, order(pool), nil, extsort.Options{MaxRecords: 3, FanIn: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer sorted.Close()
	c := &collect{}
	m := &matcher{q: &q, pool: pool, out: c}
	if err := m.run(t.Context(), sorted); err != nil {
		t.Fatal(err)
	}
	return c
}

// outcomes says what became of each candidate: "row <destination> <source value>", or its
// refusal's code (and candidate), keyed by the candidate's username.
func (c *collect) outcomes(q Query) map[string]string {
	m := map[string]string{}
	for _, r := range c.rows {
		key := r.Request.DestinationUser
		if q.Mode == Duplicates {
			key = r.Profile
		}
		if _, dup := m[key]; dup {
			m[key] += " TWICE"
			continue
		}
		m[key] = fmt.Sprintf("row %s %s %s", r.Request.DestinationUser, r.Request.SourceProvider, r.Request.SourceValue)
		if r.Unverified {
			m[key] += " unverified"
		}
	}
	for _, r := range c.refusals {
		if _, dup := m[r.Username]; dup {
			m[r.Username] += " TWICE"
			continue
		}
		m[r.Username] = r.Code
		if r.Candidate != "" {
			m[r.Username] += " " + r.Candidate
		}
	}
	return m
}

func ids(s ...string) []string { return s }

func TestMatchByAttribute(t *testing.T) {
	okta := Query{Mode: ByAttribute, Provider: "Okta", Attribute: "email"}
	tests := []struct {
		name  string
		q     Query
		users []u
		want  map[string]string
	}{
		{"a verified email is matched, trimmed, its case kept", okta,
			[]u{{name: "alice", email: "  Alice@Corp.example\t", verified: "true"}},
			map[string]string{"alice": "row alice Okta Alice@Corp.example"}},
		{"no email", okta, []u{{name: "bob"}}, map[string]string{"bob": schema.NoEmail}},
		{"an unverified or unsaid email_verified", okta,
			[]u{{name: "carol", email: "carol@corp.example", verified: "false"}, {name: "dave", email: "dave@corp.example"}},
			map[string]string{"carol": schema.EmailNotVerified, "dave": schema.EmailNotVerified}},
		{"--allow-unverified-email lets it through, marked", Query{Mode: ByAttribute, Provider: "Okta", Attribute: "email", AllowUnverified: true},
			[]u{{name: "carol", email: "carol@corp.example", verified: "false"}},
			map[string]string{"carol": "row carol Okta carol@corp.example unverified"}},
		{"two users with one email, whatever its case and spaces: both refused, the unverified one for that", okta,
			[]u{{name: "erin", email: "erin@corp.example", verified: "true"}, {name: "erin2", email: " ERIN@corp.example", verified: "true"},
				{name: "erin3", email: "Erin@Corp.Example", verified: "false"}},
			map[string]string{"erin": schema.AmbiguousEmail, "erin2": schema.AmbiguousEmail, "erin3": schema.EmailNotVerified}},
		{"disabled", okta, []u{{name: "frank", email: "frank@corp.example", verified: "true", disabled: true}},
			map[string]string{"frank": schema.DestinationDisabled}},
		{"the statuses that sign in, and those that do not", okta,
			[]u{{name: "s1", email: "s1@x", verified: "true", status: "UNCONFIRMED"},
				{name: "s2", email: "s2@x", verified: "true", status: "FORCE_CHANGE_PASSWORD"},
				{name: "s3", email: "s3@x", verified: "true", status: "RESET_REQUIRED"},
				{name: "s4", email: "s4@x", verified: "true", status: "COMPROMISED"},
				{name: "s5", email: "s5@x", verified: "true", status: "ARCHIVED"},
				{name: "s6", email: "s6@x", verified: "true", status: "UNKNOWN"}},
			map[string]string{"s1": schema.DestinationNotConfirmed, "s2": "row s2 Okta s2@x", "s3": "row s3 Okta s3@x",
				"s4": schema.DestinationNotConfirmed, "s5": schema.DestinationNotConfirmed, "s6": schema.DestinationNotConfirmed}},
		{"an identity of the provider already, five identities, four", okta,
			[]u{{name: "g1", email: "g1@x", verified: "true", ids: ids("Okta:00u1")},
				{name: "g5", email: "g5@x", verified: "true", ids: ids("Google:1", "Google:2", "Google:3", "Google:4", "Google:5")},
				{name: "g4", email: "g4@x", verified: "true", ids: ids("Google:1", "Google:2", "Google:3", "Google:4")}},
			map[string]string{"g1": schema.AlreadyLinkedCode, "g5": schema.TooManyIdentities, "g4": "row g4 Okta g4@x"}},
		{"identities that cannot be read", okta,
			[]u{{name: "h", email: "h@x", verified: "true", idsRaw: aws.String("[{")}},
			map[string]string{"h": schema.UnreadableRow}},
		{"a value run would refuse: an invisible character", okta,
			[]u{{name: "i", email: "i\u200b@x", verified: "true"}},
			map[string]string{"i": schema.UnreadableRow}},
		{"a Kelvin sign is not a k: no ambiguity, two rows", okta,
			[]u{{name: "kate", email: "kate@x", verified: "true"}, {name: "kelvin", email: "\u212Aate@x", verified: "true"}},
			map[string]string{"kate": "row kate Okta kate@x", "kelvin": "row kelvin Okta \u212Aate@x"}},
		{"profiles take no part", okta,
			[]u{{name: "Google_1", email: "j@x", verified: "true", federated: true, ids: ids("Google:1")}, {name: "j", email: "j@x", verified: "true"}},
			map[string]string{"j": "row j Okta j@x"}},
		{"--email-domain: only its users, whatever the case", Query{Mode: ByAttribute, Provider: "Okta", Attribute: "email", EmailDomain: "@Corp.example"},
			[]u{{name: "in", email: "in@CORP.example", verified: "true"}, {name: "out", email: "out@corp.example.evil", verified: "true"}, {name: "none"}},
			map[string]string{"in": "row in Okta in@CORP.example"}},
		{"--by another attribute: its value, no email needed", Query{Mode: ByAttribute, Provider: "Okta", Attribute: "custom:employee"},
			[]u{{name: "e1", attrs: map[string]string{"custom:employee": " 42 "}}, {name: "e2"},
				{name: "e3", attrs: map[string]string{"custom:employee": "7"}}, {name: "e4", attrs: map[string]string{"custom:employee": "7"}}},
			map[string]string{"e1": "row e1 Okta 42", "e2": schema.NoValue, "e3": schema.AmbiguousValue, "e4": schema.AmbiguousValue}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := matchUsers(t, tt.q, testPoolOf(true), tt.users).outcomes(tt.q)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got  %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestMatchDuplicates(t *testing.T) {
	dup := Query{Mode: Duplicates}
	native := func(name, email string) u { return u{name: name, email: email, verified: "true"} }
	profile := func(name, email, id string) u {
		return u{name: name, email: email, verified: "true", federated: true, ids: ids(id)}
	}
	tests := []struct {
		name          string
		q             Query
		caseSensitive bool
		users         []u
		want          map[string]string
	}{
		{"google_ and Google_ profiles are Google's, by their subject", dup, true,
			[]u{native("alice", "alice@x"), profile("google_111", "Alice@X", "Google:111"), profile("Google_222", "alice@x ", "Google:222")},
			map[string]string{"google_111": "row alice Google 111", "Google_222": "row alice Google 222"}},
		{"a case-insensitive pool lowers the username, not the subject", dup, false,
			[]u{native("bob", "bob@x"), profile("google_abcdef", "bob@x", "Google:AbCdEf")},
			map[string]string{"google_abcdef": "row bob Google AbCdEf"}},
		{"without identities: the suffix in a case-sensitive pool", dup, true,
			[]u{native("bob", "bob@x"), {name: "Google_XyZ", email: "bob@x", verified: "true", federated: true}},
			map[string]string{"Google_XyZ": "row bob Google XyZ"}},
		{"without identities: unknown in a case-insensitive pool", dup, false,
			[]u{native("bob", "bob@x"), {name: "google_xyz", email: "bob@x", verified: "true", federated: true}},
			map[string]string{"google_xyz": schema.SubjectUnknown + " bob"}},
		{"a prefix that names no provider", dup, true,
			[]u{native("c", "c@x"), profile("Gogle_1", "c@x", "Gogle:1")},
			map[string]string{"Gogle_1": schema.ProviderNotInPool + " c"}},
		{"unverified on either side", dup, true,
			[]u{native("d", "d@x"), {name: "Google_1", email: "d@x", verified: "false", federated: true, ids: ids("Google:1")},
				{name: "e", email: "e@x"}, profile("Google_2", "e@x", "Google:2")},
			map[string]string{"Google_1": schema.EmailNotVerified + " d", "Google_2": schema.EmailNotVerified + " e"}},
		{"--allow-unverified-email", Query{Mode: Duplicates, AllowUnverified: true}, true,
			[]u{{name: "e", email: "e@x"}, profile("Google_2", "e@x", "Google:2")},
			map[string]string{"Google_2": "row e Google 2 unverified"}},
		{"a disabled profile", dup, true,
			[]u{native("f", "f@x"), {name: "Google_3", email: "f@x", verified: "true", federated: true, disabled: true, ids: ids("Google:3")}},
			map[string]string{"Google_3": schema.SourceDisabled + " f"}},
		{"two native users with the email", dup, true,
			[]u{native("g1", "g@x"), native("g2", "G@x"), profile("Google_4", "g@x", "Google:4")},
			map[string]string{"Google_4": schema.AmbiguousEmail}},
		{"the destination disabled, unconfirmed", dup, true,
			[]u{{name: "h", email: "h@x", verified: "true", disabled: true}, profile("Google_5", "h@x", "Google:5"),
				{name: "i", email: "i@x", verified: "true", status: "UNCONFIRMED"}, profile("Google_6", "i@x", "Google:6")},
			map[string]string{"Google_5": schema.DestinationDisabled + " h", "Google_6": schema.DestinationNotConfirmed + " i"}},
		{"the identity linked already", dup, true,
			[]u{{name: "j", email: "j@x", verified: "true", ids: ids("Google:7")}, profile("Google_7", "j@x", "Google:7")},
			map[string]string{"Google_7": schema.AlreadyLinkedCode + " j"}},
		{"room for one more identity: the first profile by username takes it", dup, true,
			[]u{{name: "k", email: "k@x", verified: "true", ids: ids("Okta:1", "Okta:2", "Okta:3", "Okta:4")},
				profile("Google_9", "k@x", "Google:9"), profile("Google_8", "k@x", "Google:8")},
			map[string]string{"Google_8": "row k Google 8", "Google_9": schema.TooManyIdentities + " k"}},
		{"no native user with the email: not a duplicate", dup, true,
			[]u{native("l", "l@x"), profile("Google_10", "m@x", "Google:10"), {name: "n", email: "l2@x", verified: "true"}},
			map[string]string{}},
		{"a Kelvin sign is not a k: the profile matches no one", dup, true,
			[]u{native("kate", "kate@x"), profile("Google_11", "\u212Aate@x", "Google:11")},
			map[string]string{}},
		{"--provider: that provider's profiles only", Query{Mode: Duplicates, Provider: "Okta"}, true,
			[]u{native("o", "o@x"), profile("Google_12", "o@x", "Google:12"), profile("Okta_00u1", "o@x", "Okta:00u1"), profile("Gogle_3", "o@x", "Gogle:3")},
			map[string]string{"Okta_00u1": "row o Okta 00u1"}},
		{"a profile listed twice is one candidate", dup, true,
			[]u{native("p", "p@x"), profile("Google_13", "p@x", "Google:13"), profile("Google_13", "p@x", "Google:13")},
			map[string]string{"Google_13": "row p Google 13"}},
		{"native users need not be enabled to be counted: a disabled twin still makes it ambiguous", dup, true,
			[]u{native("q1", "q@x"), {name: "q2", email: "q@x", verified: "false", disabled: true}, profile("Google_14", "q@x", "Google:14")},
			map[string]string{"Google_14": schema.AmbiguousEmail}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := matchUsers(t, tt.q, testPoolOf(tt.caseSensitive), tt.users).outcomes(tt.q)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got  %v\nwant %v", got, tt.want)
			}
		})
	}
}

// In a case-insensitive pool, usernames that differ only in case are one user: listed
// twice, it is one candidate.
func TestMatchUserKey(t *testing.T) {
	q := Query{Mode: ByAttribute, Provider: "Okta", Attribute: "email"}
	users := []u{{name: "Alice", email: "a@x", verified: "true"}, {name: "alice", email: "a@x", verified: "true"}}
	if got := matchUsers(t, q, testPoolOf(false), users).outcomes(q); len(got) != 1 || !strings.HasPrefix(got["Alice"]+got["alice"], "row") {
		t.Errorf("case-insensitive pool: got %v, want one row", got)
	}
	if got := matchUsers(t, q, testPoolOf(true), users).outcomes(q); got["Alice"] != schema.AmbiguousEmail || got["alice"] != schema.AmbiguousEmail {
		t.Errorf("case-sensitive pool: got %v, want two users, ambiguous", got)
	}
}

// What a discover writes does not depend on the order users are listed in.
func TestMatchOrderIndependent(t *testing.T) {
	rnd := rand.New(rand.NewPCG(testseed.Seed(t), 3))
	var users []u
	for i := range 300 {
		email := fmt.Sprintf("user%d@x", rnd.IntN(200))
		switch rnd.IntN(4) {
		case 0:
			users = append(users, u{name: fmt.Sprintf("Google_%d", i), email: email, verified: "true", federated: true, ids: ids(fmt.Sprintf("Google:%d", i))})
		case 1:
			users = append(users, u{name: fmt.Sprintf("n%d", i), email: email, verified: fmt.Sprint(rnd.IntN(3) > 0), disabled: rnd.IntN(10) == 0})
		default:
			users = append(users, u{name: fmt.Sprintf("n%d", i), email: email, verified: "true"})
		}
	}
	for _, q := range []Query{{Mode: Duplicates}, {Mode: ByAttribute, Provider: "Okta", Attribute: "email"}} {
		first := matchUsers(t, q, testPoolOf(true), users)
		rnd.Shuffle(len(users), func(i, j int) { users[i], users[j] = users[j], users[i] })
		again := matchUsers(t, q, testPoolOf(true), users)
		if !slices.EqualFunc(first.rows, again.rows, func(a, b Row) bool { return a == b }) ||
			!slices.EqualFunc(first.refusals, again.refusals, func(a, b Refused) bool { return a == b }) {
			t.Errorf("%s: the rows or refusals changed with the listing's order", q.describe())
		}
		if len(first.rows) == 0 || len(first.refusals) == 0 {
			t.Errorf("%s: %d rows, %d refused: the test tested nothing", q.describe(), len(first.rows), len(first.refusals))
		}
	}
}

func TestEntryRoundTrip(t *testing.T) {
	e := entry{key: "k", username: "u", value: "v", email: "E", status: "CONFIRMED", flags: native | verified,
		ids: []ident{{"Google", "1", true}, {"Okta", "x", false}}}
	b := entries.Append(nil, e)
	got, err := entries.Decode(b)
	if err != nil || fmt.Sprint(got) != fmt.Sprint(e) {
		t.Errorf("got %+v, %v; want %+v", got, err, e)
	}
	if _, err := entries.Decode(b[:len(b)-1]); err == nil {
		t.Error("a cut record decoded")
	}
}
