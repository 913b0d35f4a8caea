package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// benchSeed is a pool of n users of the shapes a migration meets: verified and unverified
// emails, disabled users, federated profiles, users with linked identities.
func benchSeed(n int) Seed {
	pool := SeedPool{ID: "us-east-1_Bench1", IdentityProviders: []SeedProvider{
		{Name: "Google", Type: "Google"},
		{Name: "Okta", Type: "SAML", AttributeMapping: map[string]string{"email": "email"}},
	}}
	no := false
	for i := range n {
		u := SeedUser{Username: fmt.Sprintf("user%07d", i), Attributes: map[string]string{
			"email": fmt.Sprintf("user%d@example.com", i), "email_verified": "true", "given_name": "User",
		}}
		switch i % 10 {
		case 1:
			u.Attributes["email_verified"] = "false"
		case 2:
			u.Enabled = &no
		case 3:
			u = SeedUser{Username: fmt.Sprintf("Google_%d", 100000+i), Federated: true, Attributes: map[string]string{"email": fmt.Sprintf("user%d@example.com", i-1)}}
		case 4:
			u.Identities = []SeedIdentity{{Provider: "Okta", Attribute: "email", Value: u.Attributes["email"]}}
		}
		pool.Users = append(pool.Users, u)
	}
	return Seed{UserPools: []SeedPool{pool}}
}

// BenchmarkLoadSeed reads and loads a seed of 50,000 users from JSON, as `bulklink emulate
// --seed` does. It must take well under a second.
func BenchmarkLoadSeed(b *testing.B) {
	data, err := json.Marshal(benchSeed(50_000))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		seed, err := ReadSeed(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		if err := New(Options{}).Load(seed); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkListUsersPage pages through pools of growing size, 60 users a page, and reports
// the time of a page: it must not grow with the pool (no scan from the start). The filtered
// case reads on until its page is full: a page of 60 among every tenth user reads 600.
func BenchmarkListUsersPage(b *testing.B) {
	for _, filter := range []string{"", `username ^= "user"`, `status = "Disabled"`} {
		for _, n := range []int{5_000, 50_000} {
			b.Run(fmt.Sprintf("filter=%q/users=%d", filter, n), func(b *testing.B) {
				e := New(Options{})
				if err := e.Load(benchSeed(n)); err != nil {
					b.Fatal(err)
				}
				in := &listUsersInput{UserPoolId: aws.String("us-east-1_Bench1"), Limit: aws.Int32(60), Filter: aws.String(filter)}
				for b.Loop() {
					out, err := e.listUsers(in)
					if err != nil {
						b.Fatal(err)
					}
					in.PaginationToken = out.PaginationToken // from the start again after the last page
				}
			})
		}
	}
}
