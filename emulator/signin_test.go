package emulator_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/bulklink/bulklink/emulator"
)

// wireIdentity is an entry of the identities attribute.
type wireIdentity struct {
	UserID       string `json:"userId"`
	ProviderName string `json:"providerName"`
	DateCreated  int64  `json:"dateCreated"`
}

// identitiesOf reads a user's identities attribute through the SDK.
func identitiesOf(t *testing.T, client *cip.Client, pool, username string) []wireIdentity {
	t.Helper()
	out, err := client.AdminGetUser(t.Context(), &cip.AdminGetUserInput{UserPoolId: aws.String(pool), Username: aws.String(username)})
	check(t, err, want{})
	var ids []wireIdentity
	if v, ok := attributes(out.UserAttributes)["identities"]; ok {
		if err := json.Unmarshal([]byte(v), &ids); err != nil {
			t.Fatalf("identities of %s: %v", username, err)
		}
	}
	return ids
}

func providerUser(provider, attribute, value string) *types.ProviderUserIdentifierType {
	return &types.ProviderUserIdentifierType{
		ProviderName: aws.String(provider), ProviderAttributeName: aws.String(attribute), ProviderAttributeValue: aws.String(value),
	}
}

// TestSignedInIdentity follows an identity linked by a mapped attribute that signs in: it is
// known by its subject from then on, for reading, linking and unlinking.
func TestSignedInIdentity(t *testing.T) {
	t.Parallel()
	srv, client := start(t, emulator.Options{})
	before := identitiesOf(t, client, poolID, "carol")
	if err := srv.SignIn(poolID, "Okta", "carol@example.com", "00u-carol"); err != nil {
		t.Fatal(err)
	}

	// carol's identities show the subject, created when the link was made.
	after := identitiesOf(t, client, poolID, "carol")
	last := after[len(after)-1]
	if len(after) != len(before) || last.UserID != "00u-carol" || last.ProviderName != "Okta" || last.DateCreated != before[len(before)-1].DateCreated {
		t.Errorf("got identities %+v, want %+v with Okta's userId now 00u-carol", after, before)
	}
	ids, _ := srv.Identities(poolID, "carol")
	if got := ids[len(ids)-1]; got.Subject != "00u-carol" || got.AttributeName != "email" || got.UserID != "carol@example.com" {
		t.Errorf("got %+v, want the link by email, signed in as 00u-carol", got)
	}

	unlink := func(attribute, value string) error {
		_, err := client.AdminDisableProviderForUser(t.Context(), &cip.AdminDisableProviderForUserInput{
			UserPoolId: aws.String(poolID), User: providerUser("Okta", attribute, value),
		})
		return err
	}
	link := func(destination, attribute, value string) error {
		_, err := client.AdminLinkProviderForUser(t.Context(), linkInput("Cognito", destination, "Okta", attribute, value))
		return err
	}
	for _, step := range []struct {
		name string
		call func() error
		want want
	}{
		{"unlink by the linked attribute", func() error { return unlink("email", "carol@example.com") }, want{"InvalidParameterException", msgNotLinked, 400}},
		{"unlink by the subject under another attribute", func() error { return unlink("email", "00u-carol") }, want{"InvalidParameterException", msgNotLinked, 400}},
		{"link the subject elsewhere", func() error { return link("alice", "Cognito_Subject", "00u-carol") }, want{"InvalidParameterException", msgAlreadyLinked, 400}},
		// The linked attribute no longer names the identity: a link by it is a new one
		// (a guess, docs/emulator.md).
		{"link the linked attribute again", func() error { return link("alice", "email", "carol@example.com") }, want{}},
		{"unlink by the subject", func() error { return unlink("Cognito_Subject", "00u-carol") }, want{}},
		{"unlink by the subject again", func() error { return unlink("Cognito_Subject", "00u-carol") }, want{"InvalidParameterException", msgNotLinked, 400}},
		{"unlink the new link", func() error { return unlink("email", "carol@example.com") }, want{}},
	} {
		t.Run(step.name, func(t *testing.T) { check(t, step.call(), step.want) })
	}
	if got := identitiesOf(t, client, poolID, "carol"); len(got) != len(before)-1 {
		t.Errorf("carol: got identities %+v, want those before but Okta's", got)
	}
	if got := identitiesOf(t, client, poolID, "alice"); len(got) != 0 {
		t.Errorf("alice: got identities %+v, want none", got)
	}
}

func TestSignInErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, pool, provider, value, subject string
		want                                 string
	}{
		{"pool missing", "us-east-1_Missing1", "Okta", "bob@example.com", "00u", "does not exist"},
		{"not linked", poolID, "Okta", "nobody@example.com", "00u", "no identity of Okta is linked"},
		{"empty subject", poolID, "Okta", "carol@example.com", "", "empty"},
		{"linked by subject, another subject", poolID, "Google", "c1", "c9", "signs in with that subject"},
		{"subject of another link", poolID, "Google", "c1", "c1", ""}, // its own: fine
		{"subject of another identity", poolID, "Okta", "carol@example.com", "bob@example.com", "another identity of Okta"},
		{"source with a profile", poolID, "Google", "1234", "1234", "no identity of Google is linked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, _ := start(t, emulator.Options{})
			err := srv.SignIn(tc.pool, tc.provider, tc.value, tc.subject)
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
	t.Run("twice", func(t *testing.T) {
		t.Parallel()
		srv, _ := start(t, emulator.Options{})
		if err := srv.SignIn(poolID, "Okta", "bob@example.com", "bob@example.com"); err != nil {
			t.Fatal(err)
		}
		if err := srv.SignIn(poolID, "Okta", "bob@example.com", "bob@example.com"); err == nil || !strings.Contains(err.Error(), "signed in already") {
			t.Errorf("got %v, want an error: signed in already", err)
		}
	})
}

func TestSeedSignedInSubject(t *testing.T) {
	t.Parallel()
	okta := []emulator.SeedProvider{{Name: "Okta", Type: "SAML", AttributeMapping: map[string]string{"email": emailClaim}}}
	pool := func(users ...emulator.SeedUser) emulator.Seed {
		return emulator.Seed{UserPools: []emulator.SeedPool{{ID: "us-east-1_Signed1", IdentityProviders: okta, Users: users}}}
	}
	signedIn := func(username, value, subject string) emulator.SeedUser {
		return emulator.SeedUser{Username: username, Identities: []emulator.SeedIdentity{
			{Provider: "Okta", Attribute: "email", Value: value, SignedInSubject: subject},
		}}
	}

	srv, client := start(t, emulator.Options{})
	if err := srv.Load(pool(signedIn("erin", "erin@example.com", "00u123"))); err != nil {
		t.Fatal(err)
	}
	if got := identitiesOf(t, client, "us-east-1_Signed1", "erin"); len(got) != 1 || got[0].UserID != "00u123" || got[0].ProviderName != "Okta" {
		t.Errorf("got identities %+v, want Okta's 00u123", got)
	}
	_, err := client.AdminDisableProviderForUser(t.Context(), &cip.AdminDisableProviderForUserInput{
		UserPoolId: aws.String("us-east-1_Signed1"), User: providerUser("Okta", "Cognito_Subject", "00u123"),
	})
	check(t, err, want{})

	e := emulator.New(emulator.Options{})
	err = e.Load(pool(signedIn("a", "a@example.com", "00u1"), signedIn("b", "b@example.com", "00u1")))
	if err == nil || !strings.Contains(err.Error(), `user "b": identity Okta/b@example.com: signed_in_subject: another identity of Okta is known by the subject "00u1"`) {
		t.Errorf("two identities with one subject: got %v", err)
	}
	err = e.Load(pool(emulator.SeedUser{Username: "Okta_00u9", Federated: true}, signedIn("c", "c@example.com", "00u9")))
	if err == nil || !strings.Contains(err.Error(), `the subject "00u9" of Okta has a profile of its own, Okta_00u9`) {
		t.Errorf("a subject with a profile of its own: got %v", err)
	}
}
