package emulator_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulklink/bulklink/emulator"
)

func TestSpecSeed(t *testing.T) {
	t.Parallel()
	seed, err := emulator.LoadSeedFile("testdata/spec-example.json")
	if err != nil {
		t.Fatal(err)
	}
	e := emulator.New(emulator.Options{})
	if err := e.Load(seed); err != nil {
		t.Fatal(err)
	}
	if !e.UserExists("us-east-1_Example1", "alice") {
		t.Error("alice does not exist")
	}
	bob, _ := e.Identities("us-east-1_Example1", "bob")
	if len(bob) != 1 || bob[0].ProviderName != "Okta" || bob[0].ProviderType != "SAML" ||
		bob[0].AttributeName != "Cognito_Subject" || bob[0].UserID != "bob@example.com" {
		t.Errorf("got bob's identities %+v, want Okta's bob@example.com linked", bob)
	}
	if links, ok := e.Identities("us-east-1_Example1", "Google_1234"); !ok || len(links) != 0 {
		t.Errorf("got Google_1234's links %+v, %t; want a profile with none", links, ok)
	}
	if err := e.Load(seed); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("loading twice: got %v, want the pool to exist already", err)
	}
}

func TestReadSeedErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, json, want string }{
		{"misspelt field", `{"user_pools": [{"id": "us-east-1_A", "usres": []}]}`, `unknown field "usres"`},
		{"trailing data", `{"user_pools": []} {}`, "after the top-level object"},
		{"not JSON", `user_pools:`, "invalid character"},
	} {
		if _, err := emulator.ReadSeed(strings.NewReader(tc.json)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error with %q", tc.name, err, tc.want)
		}
	}
	if _, err := emulator.LoadSeedFile(filepath.Join(t.TempDir(), "missing.json")); !os.IsNotExist(err) {
		t.Errorf("missing file: got %v, want not exist", err)
	}
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	google := []emulator.SeedProvider{{Name: "Google", Type: "Google"}}
	pool := func(users ...emulator.SeedUser) emulator.SeedPool {
		return emulator.SeedPool{ID: "us-east-1_A", IdentityProviders: google, Users: users}
	}
	linked := func(username string, values ...string) emulator.SeedUser {
		u := emulator.SeedUser{Username: username}
		for _, v := range values {
			u.Identities = append(u.Identities, emulator.SeedIdentity{Provider: "Google", Value: v})
		}
		return u
	}
	for _, tc := range []struct {
		name  string
		pools []emulator.SeedPool
		want  string
	}{
		{"bad pool ID", []emulator.SeedPool{{ID: "pool"}}, "not a user pool ID"},
		{"pool twice", []emulator.SeedPool{pool(), pool()}, "listed twice"},
		{"unknown provider type", []emulator.SeedPool{{ID: "us-east-1_A", IdentityProviders: []emulator.SeedProvider{{Name: "Corp", Type: "LDAP"}}}}, `type "LDAP"`},
		{"provider twice", []emulator.SeedPool{{ID: "us-east-1_A", IdentityProviders: append(google, google...)}}, "listed twice"},
		{"username twice", []emulator.SeedPool{pool(linked("alice"), linked("alice"))}, "listed twice"},
		{"sub twice", []emulator.SeedPool{pool(
			emulator.SeedUser{Username: "a", Attributes: map[string]string{"sub": "s"}},
			emulator.SeedUser{Username: "b", Attributes: map[string]string{"sub": "s"}})}, "listed twice"},
		{"invalid username", []emulator.SeedPool{pool(linked(""))}, "not a valid username"},
		{"identities attribute", []emulator.SeedPool{pool(emulator.SeedUser{Username: "a", Attributes: map[string]string{"identities": "[]"}})}, "derived"},
		{"federated user of an unknown provider", []emulator.SeedPool{pool(emulator.SeedUser{Username: "Okta_1", Federated: true})}, "<Provider>_<id>"},
		{"identity of an unknown provider", []emulator.SeedPool{pool(emulator.SeedUser{Username: "a",
			Identities: []emulator.SeedIdentity{{Provider: "Okta", Value: "a"}}})}, "The provider Okta does not exist"},
		{"identity linked twice", []emulator.SeedPool{pool(linked("a", "1"), linked("b", "1"))}, "already linked"},
		{"identity signed in", []emulator.SeedPool{pool(linked("a", "1"), emulator.SeedUser{Username: "Google_1", Federated: true})}, "Merging"},
		{"sixth identity", []emulator.SeedPool{pool(linked("a", "1", "2", "3", "4", "5", "6"))}, "LimitExceededException"},
		{"attribute mapping key too long", []emulator.SeedPool{{ID: "us-east-1_A", IdentityProviders: []emulator.SeedProvider{
			{Name: "Okta", Type: "SAML", AttributeMapping: map[string]string{strings.Repeat("a", 33): "claim"}}}}}, "attribute mapping key"},
		{"immutable attribute not custom", []emulator.SeedPool{{ID: "us-east-1_A", ImmutableAttributes: []string{"email"}}}, "custom:"},
	} {
		e := emulator.New(emulator.Options{})
		err := e.Load(emulator.Seed{UserPools: tc.pools})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error with %q", tc.name, err, tc.want)
		}
		if e.UserExists("us-east-1_A", "a") {
			t.Errorf("%s: a failed load left users behind", tc.name)
		}
	}
}

func FuzzLoadSeed(f *testing.F) {
	for _, name := range []string{"testdata/seed.json", "testdata/spec-example.json"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		seed, err := emulator.ReadSeed(bytes.NewReader(data))
		if err != nil {
			return
		}
		emulator.New(emulator.Options{}).Load(seed) // must not panic
	})
}
