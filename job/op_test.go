package job

import (
	"strings"
	"testing"
	"time"

	"github.com/bulklink/bulklink/call"
	"github.com/bulklink/bulklink/input"
	"github.com/bulklink/bulklink/plan"
	"github.com/bulklink/bulklink/report"
)

// A link found in place after an ambiguous answer is this report's when Cognito dated it
// after the report began, whatever the row's history says: a row begun by an earlier run
// (kill -9 after its first call went) whose link is older than the report found it in place,
// and undo must leave it. Without the report's start, a begun row is taken as this report's.
func TestLinkSettleDecidesByTheLinksDate(t *testing.T) {
	since := time.UnixMilli(1_700_000_000_000)
	req := input.Request{UserPoolID: "us-east-1_Example1", DestinationProvider: "Cognito", DestinationUser: "alice",
		SourceProvider: "Google", SourceAttribute: "Cognito_Subject", SourceValue: "g1"}
	dest := func(created time.Time) *Destination {
		return &Destination{Exists: true, Identities: []Identity{{UserID: "g1", ProviderName: "Google", DateCreated: created.UnixMilli()}}}
	}
	for _, tc := range []struct {
		name    string
		created time.Time
		h       History
		want    report.Status
	}{
		{"made after the report began", since.Add(time.Minute), History{Since: since, Unknown: true}, report.Linked},
		{"older than the report", since.Add(-time.Hour), History{Since: since, Unknown: true}, report.AlreadyLinked},
		{"begun by an earlier run, made after the report began", since.Add(time.Minute), History{Since: since, Begun: true}, report.Linked},
		{"begun by an earlier run, older than the report", since.Add(-time.Hour), History{Since: since, Begun: true}, report.AlreadyLinked},
		{"begun, the report's start unknown", since.Add(-time.Hour), History{Begun: true}, report.Linked},
		{"not begun, the report's start unknown", since.Add(-time.Hour), History{}, report.AlreadyLinked},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Link{}.Settle(&Target{Row: &plan.Item{Row: input.Row{Line: 2, Request: req}}, Request: req}, dest(tc.created), tc.h)
			if got.Status != tc.want {
				t.Errorf("Settle = %+v, want %s", got, tc.want)
			}
		})
	}
}

// "Merging is not currently supported" is the source having signed in already: the row fails
// with SourceAlreadySignedIn, naming the profile, unless reading the user finds the link in
// place after all (it has been answered so with the link made), which settles it by its date.
func TestLinkSettleSignedInSource(t *testing.T) {
	since := time.UnixMilli(1_700_000_000_000)
	req := input.Request{UserPoolID: "us-east-1_Example1", DestinationProvider: "Cognito", DestinationUser: "bob",
		SourceProvider: "Google", SourceAttribute: "Cognito_Subject", SourceValue: "1234"}
	const merging = "Merging is not currently supported, provide a SourceUser that has not been signed up in order to link"
	if !call.KindLink.MaybeDone("InvalidParameterException", merging) {
		t.Fatal("the merging answer is not read as one that may mean the link is in place: it would never be looked for")
	}
	h := History{Code: "InvalidParameterException", Message: merging, Since: since}
	target := &Target{Row: &plan.Item{Row: input.Row{Line: 4, Request: req}}, Request: req}
	got := Link{}.Settle(target, &Destination{Exists: true}, h)
	if got.Status != report.Failed || got.Code != "SourceAlreadySignedIn" || !strings.Contains(got.Message, "Google_1234") {
		t.Errorf("link absent: Settle = %+v, want failed SourceAlreadySignedIn naming Google_1234", got)
	}
	for _, tc := range []struct {
		created time.Time
		want    report.Status
	}{{since.Add(time.Minute), report.Linked}, {since.Add(-time.Hour), report.AlreadyLinked}} {
		dest := &Destination{Exists: true, Identities: []Identity{{UserID: "1234", ProviderName: "Google", DateCreated: tc.created.UnixMilli()}}}
		if got := (Link{}).Settle(target, dest, h); got.Status != tc.want || got.Code != "" {
			t.Errorf("link in place, made %v: Settle = %+v, want %s", tc.created, got, tc.want)
		}
	}
}

// Unlink decides a row from its destination user, before the write (Check) and after an
// "isn't linked" answer (Settle): an identity is unlinked by its own value unless it is a
// SAML/OIDC identity linked by a mapped attribute, whose subject may name it since; a link
// older than the run's report is left alone.
func TestUnlinkDecides(t *testing.T) {
	since := time.UnixMilli(1_700_000_000_000)
	in := since.Add(time.Minute) // when the run linked the row
	row := func(provider, attr, value string) *Target {
		req := input.Request{UserPoolID: "us-east-1_Example1", DestinationProvider: "Cognito", DestinationUser: "alice",
			SourceProvider: provider, SourceAttribute: attr, SourceValue: value}
		typ := map[string]string{"Google": "Google", "Okta": "SAML"}[provider]
		it := &plan.Item{Row: input.Row{Line: 2, Request: req, Prior: &input.Prior{Status: report.Linked, FinishedAt: in}}, Provider: &plan.Provider{Name: provider, Type: typ}}
		return &Target{Row: it, Request: req}
	}
	id := func(provider, value string, created time.Time) Identity {
		return Identity{ProviderName: provider, UserID: value, DateCreated: created.UnixMilli()}
	}
	dest := func(ids ...Identity) *Destination { return &Destination{Exists: true, Identities: ids} }
	google := row("Google", "Cognito_Subject", "g1")
	okta := row("Okta", "email", "alice@example.com")
	lost := History{Since: since, Unknown: true}
	for _, tc := range []struct {
		name   string
		op     Unlink
		check  bool // Check (before the write), else Settle
		t      *Target
		dest   *Destination
		h      History
		want   report.Status
		code   string
		target string // the value of a new target (Again)
	}{
		{"in place: unlink it", Unlink{}, true, google, dest(id("Google", "g1", in)), History{Since: since}, "", "", ""},
		{"older than the run", Unlink{}, true, google, dest(id("Google", "g1", since.Add(-time.Hour))), History{Since: since}, report.Failed, "PredatesRun", ""},
		{"older, --include-already-linked", Unlink{IncludeOlder: true}, true, google, dest(id("Google", "g1", since.Add(-time.Hour))), History{Since: since}, "", "", ""},
		{"absent before any write", Unlink{}, true, google, dest(id("Google", "g2", in)), History{Since: since}, report.NotLinked, "", ""},
		{"absent, begun by a killed undo", Unlink{}, true, google, dest(id("Google", "g2", in)), History{Since: since, Begun: true}, report.Unlinked, "", ""},
		{"social, absent after a lost answer, others in place", Unlink{}, false, google, dest(id("Google", "g2", in), id("Google", "g3", in)), lost, report.Unlinked, "", ""},
		{"social, absent, nothing lost", Unlink{}, false, google, dest(id("Google", "g2", in)), History{Since: since}, report.NotLinked, "", ""},
		{"social, still listed after 'not linked'", Unlink{}, false, google, dest(id("Google", "g1", in)), History{Since: since}, report.Failed, "", ""},
		{"SAML by email, signed in since", Unlink{}, true, okta, dest(id("Okta", "00u-alice", in)), History{Since: since}, "", "", "00u-alice"},
		{"SAML by email, the one identity older than the run: not the row's", Unlink{}, true, okta, dest(id("Okta", "00u-alice", since.Add(-time.Hour))), History{Since: since}, report.NotLinked, "", ""},
		{"SAML by email, signed in, older than the run, report without times", Unlink{}, true, &Target{Row: &plan.Item{Row: input.Row{Line: 2, Request: okta.Request}, Provider: okta.Row.Provider}, Request: okta.Request},
			dest(id("Okta", "00u-alice", since.Add(-time.Hour))), History{Since: since}, report.Failed, "PredatesRun", ""},
		{"SAML by email, two candidates", Unlink{}, true, okta, dest(id("Okta", "00u-a", in), id("Okta", "00u-b", in)), History{Since: since}, report.Failed, "", ""},
		{"SAML by email, one candidate outside the row's time", Unlink{}, true, okta, dest(id("Okta", "00u-a", in), id("Okta", "00u-b", in.Add(time.Hour))), History{Since: since}, "", "", "00u-a"},
		{"SAML by email, retargeted, absent after a lost answer", Unlink{}, false, okta, dest(), History{Since: since, Unknown: true, Retargeted: true}, report.Unlinked, "", ""},
		{"by email, provider type unknown: no retarget", Unlink{}, true, &Target{Row: &plan.Item{Row: okta.Row.Row}, Request: okta.Request}, dest(id("Okta", "00u-alice", in)), History{Since: since}, report.NotLinked, "", ""},
		{"destination gone", Unlink{}, true, google, &Destination{}, History{Since: since}, report.NotLinked, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v Verdict
			if tc.check {
				v = tc.op.Check(tc.t, tc.dest, tc.h)
			} else {
				v = tc.op.Settle(tc.t, tc.dest, tc.h)
			}
			if v.Status != tc.want || tc.code != "" && v.Code != tc.code {
				t.Errorf("got %+v, want status %q code %q", v, tc.want, tc.code)
			}
			switch {
			case tc.target == "" && v.Again != nil:
				t.Errorf("retargeted to %+v, want no new target", *v.Again)
			case tc.target != "" && (v.Again == nil || v.Again.SourceValue != tc.target || v.Again.SourceAttribute != "Cognito_Subject"):
				t.Errorf("got %+v, want a new target Cognito_Subject=%s", v, tc.target)
			}
		})
	}
}
