package job

import (
	"strings"
	"testing"
	"time"

	"github.com/bulklink/bulklink/input"
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
			got := Link{}.Settle(&Target{Row: &input.Row{Line: 2, Request: req}, Request: req}, dest(tc.created), tc.h)
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
	if !(Link{}).Ambiguous("InvalidParameterException", merging) {
		t.Fatal("the merging answer is not read as ambiguous: the link would never be looked for")
	}
	h := History{Code: "InvalidParameterException", Message: merging, Since: since}
	target := &Target{Row: &input.Row{Line: 4, Request: req}, Request: req}
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
