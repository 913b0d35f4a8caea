package emulator_test

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/smithy-go"

	"github.com/bulklink/bulklink/emulator"
)

// writeCall is a write call of the test pool, with what tells that it was applied.
type writeCall struct {
	op      string
	call    func(t *testing.T, client *cip.Client) error
	applied func(srv *emulator.Server) bool
}

// writeCalls are a call of each write operation, with how to tell it was applied.
var writeCalls = []writeCall{
	{"AdminLinkProviderForUser", func(t *testing.T, client *cip.Client) error {
		_, err := client.AdminLinkProviderForUser(t.Context(), linkInput("Cognito", "alice", "Google", "Cognito_Subject", "g-fault"))
		return err
	}, func(srv *emulator.Server) bool { ids, _ := srv.Identities(poolID, "alice"); return len(ids) == 1 }},
	{"AdminDisableProviderForUser", func(t *testing.T, client *cip.Client) error {
		_, err := client.AdminDisableProviderForUser(t.Context(), &cip.AdminDisableProviderForUserInput{
			UserPoolId: aws.String(poolID), User: providerUser("Okta", "Cognito_Subject", "bob@example.com"),
		})
		return err
	}, func(srv *emulator.Server) bool { ids, _ := srv.Identities(poolID, "bob"); return len(ids) == 0 }},
	{"AdminCreateUser", func(t *testing.T, client *cip.Client) error {
		_, err := client.AdminCreateUser(t.Context(), &cip.AdminCreateUserInput{UserPoolId: aws.String(poolID), Username: aws.String("erin")})
		return err
	}, func(srv *emulator.Server) bool { return srv.UserExists(poolID, "erin") }},
	{"AdminDeleteUser", func(t *testing.T, client *cip.Client) error {
		_, err := client.AdminDeleteUser(t.Context(), &cip.AdminDeleteUserInput{UserPoolId: aws.String(poolID), Username: aws.String("Google_1234")})
		return err
	}, func(srv *emulator.Server) bool { return !srv.UserExists(poolID, "Google_1234") }},
	{"AdminUserGlobalSignOut", func(t *testing.T, client *cip.Client) error {
		_, err := client.AdminUserGlobalSignOut(t.Context(), &cip.AdminUserGlobalSignOutInput{UserPoolId: aws.String(poolID), Username: aws.String("Google_1234")})
		return err
	}, func(srv *emulator.Server) bool {
		return srv.UserCalls("AdminUserGlobalSignOut")[emulator.UserRef{PoolID: poolID, Username: "Google_1234"}].Applied == 1
	}},
	{"AdminAddUserToGroup", func(t *testing.T, client *cip.Client) error {
		_, err := client.AdminAddUserToGroup(t.Context(), &cip.AdminAddUserToGroupInput{UserPoolId: aws.String(poolID), Username: aws.String("alice"), GroupName: aws.String("staff")})
		return err
	}, func(srv *emulator.Server) bool { groups, _ := srv.Groups(poolID, "alice"); return len(groups) == 1 }},
}

// TestFaultsOnEveryWrite checks each fault on each write operation: whether the call is
// applied, and what the client gets.
func TestFaultsOnEveryWrite(t *testing.T) {
	t.Parallel()
	for _, f := range []struct {
		name    string
		opt     emulator.Options
		applied bool
		want    string // the error code the client gets; "" for a closed connection
		outcome string
	}{
		{"5xx", emulator.Options{Fault5xx: 1}, false, "InternalErrorException", "InternalErrorException"},
		{"5xx after", emulator.Options{Fault5xxAfter: 1}, true, "InternalErrorException", "InternalErrorException"},
		{"drop", emulator.Options{FaultDrop: 1}, false, "", emulator.OutcomeDrop},
		{"lost", emulator.Options{FaultLost: 1}, true, "", emulator.OutcomeLost},
	} {
		for _, w := range writeCalls {
			t.Run(f.name+"/"+w.op, func(t *testing.T) {
				t.Parallel()
				srv, client := start(t, f.opt)
				err := w.call(t, client)
				if f.want != "" {
					check(t, err, want{f.want, "An internal error occurred, please retry.", 500})
				} else if _, ok := errors.AsType[smithy.APIError](err); err == nil || ok {
					t.Errorf("got %v, want the connection closed without an answer", err)
				}
				if got := w.applied(srv); got != f.applied {
					t.Errorf("applied: got %t, want %t", got, f.applied)
				}
				if got := srv.Outcomes(w.op); got[f.outcome] != 1 {
					t.Errorf("got outcomes %v, want one %q", got, f.outcome)
				}
			})
		}
	}
}
