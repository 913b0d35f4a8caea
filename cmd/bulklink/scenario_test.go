package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/bulklink/bulklink/emulator"
)

// A scenario is a seeded pool, an input that exercises every outcome docs/cognito.md lists, and
// what bulklink must make of each row and of the pool.
type scenario struct {
	pool  string
	seed  emulator.Seed
	rows  []scenarioRow
	links map[string][]string // username → the identities it must hold at the end, "Provider:value", sorted
}

type scenarioRow struct {
	destProvider, destUser           string
	srcProvider, srcAttr, srcValue   string
	malformed                        bool // written as an unreadable record of the input's format
	wantStatus, wantCode, wantReason string
	pairOf                           int // for a repeat: the index of the row it repeats, plus one
}

const mixedPool = "us-east-1_Mixed0001"

// mixedScenario builds n rows (a multiple of 20) cycling through twenty kinds of row.
func mixedScenario(n int) *scenario {
	s := &scenario{pool: mixedPool, links: map[string][]string{}}
	p := emulator.SeedPool{ID: mixedPool, IdentityProviders: []emulator.SeedProvider{
		{Name: "Google", Type: "Google"}, {Name: "Facebook", Type: "Facebook"}, {Name: "Okta", Type: "SAML", AttributeMapping: map[string]string{"email": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"}},
	}}
	addUser := func(u emulator.SeedUser) {
		p.Users = append(p.Users, u)
		for _, id := range u.Identities {
			s.links[u.Username] = append(s.links[u.Username], id.Provider+":"+id.Value)
		}
	}
	link := func(user, provider, value string) {
		s.links[user] = append(s.links[user], provider+":"+value)
	}
	for i := range n {
		u := fmt.Sprintf("u%04d", i)
		addUser(emulator.SeedUser{Username: u})
		r := scenarioRow{destUser: u, srcProvider: "Google", srcValue: fmt.Sprintf("g%04d", i)}
		switch k := i % 20; {
		case k < 8: // a new link
			r.srcAttr = "Cognito_Subject"
			r.wantStatus = "linked"
			link(u, "Google", r.srcValue)
		case k == 8: // SAML, linked on a mapped attribute
			r.srcProvider, r.srcAttr, r.srcValue = "Okta", "email", u+"@example.com"
			r.wantStatus = "linked"
			link(u, "Okta", r.srcValue)
		case k == 9: // the same request as the row nine before
			r = s.rows[i-9]
			r.pairOf = i - 9 + 1
			s.rows[i-9].pairOf = i + 1
		case k == 10: // linked before the run
			addUser(emulator.SeedUser{Username: "p" + u, Identities: []emulator.SeedIdentity{{Provider: "Google", Value: "pre" + u}}})
			r.destUser, r.srcValue = "p"+u, "pre"+u
			r.wantStatus = "already_linked"
		case k == 11: // no such destination
			r.destUser = "missing" + u
			r.wantStatus, r.wantCode = "failed", "UserNotFoundException"
		case k == 12: // the Google user has signed in already: a profile Google_<sub> exists
			addUser(emulator.SeedUser{Username: "Google_s" + u, Federated: true})
			r.srcValue = "s" + u
			r.wantStatus, r.wantCode, r.wantReason = "failed", "SourceAlreadySignedIn", "Google_s"+u
		case k == 13: // a sixth identity
			f := emulator.SeedUser{Username: "f" + u}
			for j := range 5 {
				f.Identities = append(f.Identities, emulator.SeedIdentity{Provider: "Okta", Value: fmt.Sprintf("f%s-%d@example.com", u, j)})
			}
			addUser(f)
			r.destUser = "f" + u
			r.wantStatus, r.wantCode = "failed", "LimitExceededException"
		case k == 14: // the source is linked to another user
			addUser(emulator.SeedUser{Username: "o" + u, Identities: []emulator.SeedIdentity{{Provider: "Google", Value: "x" + u}}})
			r.srcValue = "x" + u
			r.wantStatus, r.wantCode = "failed", "InvalidParameterException"
		case k == 15: // a Cognito user as the source
			r.srcProvider, r.srcValue = "Cognito", "someone"
			r.wantStatus, r.wantCode, r.wantReason = "invalid", "CognitoSource", "Cognito"
		case k == 16: // a federated destination: the Okta profile Okta_d<u>
			addUser(emulator.SeedUser{Username: "Okta_d" + u, Federated: true})
			r.destProvider, r.destUser = "Okta", "d"+u
			r.srcAttr = "Cognito_Subject"
			r.wantStatus = "linked"
			link("Okta_d"+u, "Google", r.srcValue)
		case k == 17: // unreadable
			r.malformed = true
			r.wantStatus, r.wantCode = "invalid", "UnreadableRow"
		case k == 18: // a social provider on another attribute than Cognito_Subject
			r.srcAttr = "email"
			r.wantStatus, r.wantCode, r.wantReason = "invalid", "AttributeNotMapped", "Cognito_Subject"
		case k == 19: // a provider name over 32 characters
			r.srcProvider = strings.Repeat("P", 33)
			r.wantStatus, r.wantCode, r.wantReason = "invalid", "InvalidValue", "32"
		}
		s.rows = append(s.rows, r)
	}
	for _, ids := range s.links {
		slices.Sort(ids)
	}
	s.seed = emulator.Seed{UserPools: []emulator.SeedPool{p}}
	return s
}

// csv renders the scenario as a CSV input with an extra column, ticket.
func (s *scenario) csv() string {
	var b strings.Builder
	b.WriteString("User_Pool_ID,destination_provider,destination_user,source_provider,source_attribute,source_value,ticket\n")
	for i, r := range s.rows {
		if r.malformed {
			if (i/20)%2 == 0 {
				fmt.Fprintf(&b, "%s,%s,%s\n", s.pool, r.destUser, r.srcProvider) // too few fields
			} else {
				fmt.Fprintf(&b, "%s,,%s,Goo\"gle,,%s,T%d\n", s.pool, r.destUser, r.srcValue, i) // a bare quote
			}
			continue
		}
		fmt.Fprintf(&b, "%s,%s,%s,%s,%s,%s,T%d\n", s.pool, r.destProvider, r.destUser, r.srcProvider, r.srcAttr, r.srcValue, i)
	}
	return b.String()
}

// awsJSONL renders the scenario as JSONL in the AWS request shape.
func (s *scenario) awsJSONL() string {
	var b strings.Builder
	type user struct {
		ProviderName           string
		ProviderAttributeName  string `json:",omitempty"`
		ProviderAttributeValue string
	}
	for i, r := range s.rows {
		if r.malformed {
			if (i/20)%2 == 0 {
				fmt.Fprintf(&b, "{\"UserPoolId\": %q, \"DestinationUser\": {\n", s.pool)
			} else {
				b.WriteString("not json at all\n")
			}
			continue
		}
		dp := r.destProvider
		if dp == "" {
			dp = "Cognito"
		}
		line, _ := json.Marshal(map[string]any{
			"UserPoolId":      s.pool,
			"DestinationUser": user{ProviderName: dp, ProviderAttributeValue: r.destUser},
			"SourceUser":      user{ProviderName: r.srcProvider, ProviderAttributeName: r.srcAttr, ProviderAttributeValue: r.srcValue},
			"ticket":          fmt.Sprintf("T%d", i),
		})
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.String()
}

// check compares a report, sorted by line, with the scenario. firstLine is the input line
// of the first row.
func (s *scenario) check(t *testing.T, recs []record, firstLine int) {
	t.Helper()
	if len(recs) != len(s.rows) {
		t.Fatalf("report has %d records, want one per row: %d", len(recs), len(s.rows))
	}
	for i, rec := range recs {
		if got, want := atoi(t, rec["line"]), firstLine+i; got != want {
			t.Fatalf("record %d has line %d, want %d (a row is missing or reported twice)", i, got, want)
		}
	}
	for i, r := range s.rows {
		rec := recs[i]
		status := rec["status"]
		if r.pairOf != 0 {
			// Two rows send the same link: the first makes it, the repeat, run after it,
			// finds it in place.
			want := "linked"
			if r.pairOf-1 < i {
				want = "already_linked"
			}
			if status != want {
				t.Errorf("line %s, of a row and its repeat: %s, want %s", rec["line"], status, want)
			}
			continue
		}
		if status != r.wantStatus || rec["error_code"] != r.wantCode {
			t.Errorf("line %s (%+v): got %s %q (%s), want %s %q", rec["line"], r, status, rec["error_code"], rec["error_message"], r.wantStatus, r.wantCode)
		}
		if r.wantReason != "" && (rec["error_message"] == "" || !strings.Contains(rec["error_message"], r.wantReason)) {
			t.Errorf("line %s: %s with reason %q, want a reason mentioning %q", rec["line"], status, rec["error_message"], r.wantReason)
		}
		if !r.malformed && rec["ticket"] != fmt.Sprintf("T%d", i) {
			t.Errorf("line %s: ticket %q, want the input's T%d carried through", rec["line"], rec["ticket"], i)
		}
	}
}

// checkLinks compares the emulator's state with the links the scenario must leave.
func (s *scenario) checkLinks(t *testing.T, emu *emulator.Emulator) {
	t.Helper()
	bad := 0
	for _, u := range s.seed.UserPools[0].Users {
		ids, ok := emu.Identities(s.pool, u.Username)
		if !ok {
			t.Fatalf("user %s vanished from the emulator", u.Username)
		}
		var got []string
		for _, id := range ids {
			got = append(got, id.ProviderName+":"+id.UserID)
		}
		slices.Sort(got)
		if want := s.links[u.Username]; !slices.Equal(got, want) {
			if bad++; bad <= 20 {
				t.Errorf("user %s holds %v, want %v", u.Username, got, want)
			}
		}
	}
}
