package emulator_test

import (
	"maps"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/bulklink/bulklink/emulator"
)

// TestIdentityCalls counts, per identity, the link and unlink calls received and those
// carried out, whatever their answer.
func TestIdentityCalls(t *testing.T) {
	t.Parallel()
	clk := newClock() // stands still: a quota of 1 admits one call, then throttles
	srv, client := serve(t, emulator.NewServerAt(emulator.Options{}, clk.now))
	reconfigure := func(edit func(*emulator.Options)) func() error {
		return func() error { return srv.Reconfigure(edit) }
	}
	link := func(value string) func() error {
		return func() error {
			_, err := client.AdminLinkProviderForUser(t.Context(), linkInput("Cognito", "alice", "Google", "Cognito_Subject", value))
			return err
		}
	}
	unlink := func(value string) func() error {
		return func() error {
			_, err := client.AdminDisableProviderForUser(t.Context(), &cip.AdminDisableProviderForUserInput{
				UserPoolId: aws.String(poolID), User: providerUser("Google", "Cognito_Subject", value),
			})
			return err
		}
	}
	for i, step := range []struct {
		call  func() error
		fails bool
	}{
		{link("g1"), false},
		{link("g1"), true}, // already linked
		{unlink("g1"), false},
		{unlink("g1"), true}, // not linked
		{reconfigure(func(o *emulator.Options) { o.FaultLost = 1 }), false},
		{link("g2"), true}, // carried out, answer lost
		{reconfigure(func(o *emulator.Options) { o.FaultLost, o.FaultDrop = 0, 1 }), false},
		{link("g3"), true}, // dropped before it was carried out
		{reconfigure(func(o *emulator.Options) { o.FaultDrop, o.WriteQuota = 0, 1 }), false},
		{link("g4"), false},
		{link("g5"), true}, // throttled
	} {
		if err := step.call(); (err != nil) != step.fails {
			t.Fatalf("step %d: got %v, want failure %t", i, err, step.fails)
		}
	}

	ref := func(value string) emulator.IdentityRef {
		return emulator.IdentityRef{PoolID: poolID, Provider: "Google", Value: value}
	}
	for _, tc := range []struct {
		op   string
		want map[emulator.IdentityRef]emulator.CallCount
	}{
		{"AdminLinkProviderForUser", map[emulator.IdentityRef]emulator.CallCount{
			ref("g1"): {Received: 2, Applied: 1},
			ref("g2"): {Received: 1, Applied: 1},
			ref("g3"): {Received: 1, Applied: 0},
			ref("g4"): {Received: 1, Applied: 1},
			ref("g5"): {Received: 1, Applied: 0},
		}},
		{"AdminDisableProviderForUser", map[emulator.IdentityRef]emulator.CallCount{ref("g1"): {Received: 2, Applied: 1}}},
		{"AdminGetUser", map[emulator.IdentityRef]emulator.CallCount{}},
	} {
		if got := srv.IdentityCalls(tc.op); !maps.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.op, got, tc.want)
		}
	}
}
