package emulator_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/bulklink/bulklink/emulator"
)

// foldPool is a case-insensitive pool that startFold seeds.
const foldPool = "us-east-1_Fold1"

// startFold starts an emulator with testdata/seed.json and a case-insensitive pool, whose
// users were created as Alice, Google_ABC123 (a federated profile) and Carol, with mixed-case
// emails.
func startFold(t *testing.T) (*emulator.Server, *cip.Client) {
	t.Helper()
	return start(t, emulator.Options{}, emulator.SeedPool{
		ID:            foldPool,
		CaseSensitive: aws.Bool(false),
		IdentityProviders: []emulator.SeedProvider{
			{Name: "Google", Type: "Google"},
			{Name: "Okta", Type: "SAML", AttributeMapping: map[string]string{"email": emailClaim}},
		},
		Users: []emulator.SeedUser{
			{Username: "Alice", Attributes: map[string]string{"email": "Alice@Example.com", "given_name": "Alice"}},
			{Username: "Google_ABC123", Federated: true},
			{Username: "Carol", Identities: []emulator.SeedIdentity{{Provider: "Google", Value: "c1"}}},
		},
	})
}

func foldGet(t *testing.T, client *cip.Client, username string) (*cip.AdminGetUserOutput, error) {
	return client.AdminGetUser(t.Context(), &cip.AdminGetUserInput{UserPoolId: aws.String(foldPool), Username: aws.String(username)})
}

func foldLink(t *testing.T, client *cip.Client, destination, provider, value string) error {
	in := linkInput("Cognito", destination, provider, "Cognito_Subject", value)
	in.UserPoolId = aws.String(foldPool)
	_, err := client.AdminLinkProviderForUser(t.Context(), in)
	return err
}

func TestCaseInsensitiveDescribe(t *testing.T) {
	t.Parallel()
	srv, client := startFold(t)
	describe := func(pool *string) *types.UsernameConfigurationType {
		t.Helper()
		out, err := client.DescribeUserPool(t.Context(), &cip.DescribeUserPoolInput{UserPoolId: pool})
		check(t, err, want{})
		return out.UserPool.UsernameConfiguration
	}
	if got := describe(aws.String(foldPool)); got == nil || got.CaseSensitive == nil || *got.CaseSensitive {
		t.Errorf("seeded case-insensitive: got %+v, want CaseSensitive false", got)
	}
	// A pool without the setting is case-sensitive, and says nothing (docs/cognito.md).
	if got := describe(aws.String(poolID)); got != nil {
		t.Errorf("seeded without the setting: got %+v, want none", got)
	}
	for _, tc := range []struct {
		name string
		conf *types.UsernameConfigurationType
		want *bool // nil: no UsernameConfiguration in the answer
	}{
		{"absent", nil, nil},
		{"insensitive", &types.UsernameConfigurationType{CaseSensitive: aws.Bool(false)}, aws.Bool(false)},
		{"sensitive", &types.UsernameConfigurationType{CaseSensitive: aws.Bool(true)}, aws.Bool(true)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			created, err := client.CreateUserPool(t.Context(), &cip.CreateUserPoolInput{PoolName: aws.String(tc.name), UsernameConfiguration: tc.conf})
			check(t, err, want{})
			for _, got := range []*types.UsernameConfigurationType{created.UserPool.UsernameConfiguration, describe(created.UserPool.Id)} {
				if (got == nil) != (tc.want == nil) || got != nil && *got.CaseSensitive != *tc.want {
					t.Errorf("got %+v, want CaseSensitive %v", got, tc.want)
				}
			}
		})
	}
	// The SDK checks that CaseSensitive is there before it sends; a client that does not
	// meets the service's check.
	code, _, answer := post(t, srv.URL, "AWSCognitoIdentityProviderService.CreateUserPool", `{"PoolName": "x", "UsernameConfiguration": {}}`)
	if want := "1 validation error detected: Value null at 'usernameConfiguration.caseSensitive' failed to satisfy constraint: Member must not be null"; code != 400 ||
		answer["__type"] != "InvalidParameterException" || answer["message"] != want {
		t.Errorf("got %d %v, want InvalidParameterException: %s", code, answer, want)
	}
}

func TestCaseInsensitiveGetUser(t *testing.T) {
	t.Parallel()
	srv, client := startFold(t)
	for _, name := range []string{"alice", "ALICE", "Alice", "aLiCe"} {
		out, err := foldGet(t, client, name)
		check(t, err, want{})
		// Cognito answers a case-insensitive pool's username and email in lower case.
		if attrs := attributes(out.UserAttributes); *out.Username != "alice" || attrs["email"] != "alice@example.com" || attrs["given_name"] != "Alice" {
			t.Errorf("%s: got %s with %v, want alice, alice@example.com, given_name as it was", name, *out.Username, attrs)
		}
	}
	out, err := foldGet(t, client, "GOOGLE_abc123")
	check(t, err, want{})
	if *out.Username != "google_abc123" || out.UserStatus != types.UserStatusTypeExternalProvider {
		t.Errorf("got %s, %s; want google_abc123, EXTERNAL_PROVIDER", *out.Username, out.UserStatus)
	}
	if own := identitiesOf(t, client, foldPool, "google_abc123"); len(own) != 1 || own[0].UserID != "ABC123" || own[0].ProviderName != "Google" {
		t.Errorf("got identities %+v, want its own, Google's ABC123 as the IdP wrote it", own)
	}
	if _, ok := srv.Identities(foldPool, "CAROL"); !ok {
		t.Error("Identities does not find CAROL")
	}
	// In the case-sensitive pool, case tells users apart.
	_, err = client.AdminGetUser(t.Context(), getInput("ALICE"))
	check(t, err, want{"UserNotFoundException", msgUserNotFound, 404})
}

func TestCaseInsensitiveCreateUser(t *testing.T) {
	t.Parallel()
	_, client := startFold(t)
	create := func(username, email string) (*cip.AdminCreateUserOutput, error) {
		return client.AdminCreateUser(t.Context(), &cip.AdminCreateUserInput{
			UserPoolId: aws.String(foldPool), Username: aws.String(username),
			UserAttributes: []types.AttributeType{{Name: aws.String("email"), Value: aws.String(email)}},
		})
	}
	_, err := create("ALICE", "other@example.com")
	check(t, err, want{"UsernameExistsException", "User account already exists", 400})
	out, err := create("Dave", "Dave@Example.com")
	check(t, err, want{})
	if *out.User.Username != "dave" || attributes(out.User.Attributes)["email"] != "dave@example.com" {
		t.Errorf("got %s with %v, want dave, dave@example.com", *out.User.Username, attributes(out.User.Attributes))
	}
	_, err = create("dAVE", "x@example.com")
	check(t, err, want{"UsernameExistsException", "User account already exists", 400})
	// The case-sensitive pool takes a second alice that differs by case.
	_, err = client.AdminCreateUser(t.Context(), &cip.AdminCreateUserInput{UserPoolId: aws.String(poolID), Username: aws.String("ALICE")})
	check(t, err, want{})
}

func TestCaseInsensitiveLinks(t *testing.T) {
	t.Parallel()
	srv, client := startFold(t)
	check(t, foldLink(t, client, "ALICE", "Google", "g-alice"), want{})
	if ids, _ := srv.Identities(foldPool, "alice"); len(ids) != 1 || ids[0].UserID != "g-alice" {
		t.Errorf("got alice's identities %+v, want g-alice", ids)
	}
	check(t, foldLink(t, client, "Nobody", "Google", "g-nobody"), want{"UserNotFoundException", msgUserNotFound, 404})
	// The profile of Google's ABC123 is google_abc123: the identity has signed in, whatever
	// the case of its subject in the call.
	check(t, foldLink(t, client, "alice", "Google", "ABC123"), want{"InvalidParameterException", msgMerging, 400})
	check(t, foldLink(t, client, "alice", "Google", "abc123"), want{"InvalidParameterException", msgMerging, 400})
	// A federated destination is found by its provider and id, whatever their case.
	in := linkInput("Google", "abc123", "Okta", "email", "g@example.com")
	in.UserPoolId = aws.String(foldPool)
	_, err := client.AdminLinkProviderForUser(t.Context(), in)
	check(t, err, want{})
	if ids, _ := srv.Identities(foldPool, "Google_ABC123"); len(ids) != 1 || ids[0].ProviderName != "Okta" {
		t.Errorf("got the profile's links %+v, want Okta's", ids)
	}

	// Unlinking a native user by username (a no-op the API accepts) folds too.
	_, err = client.AdminDisableProviderForUser(t.Context(), &cip.AdminDisableProviderForUserInput{
		UserPoolId: aws.String(foldPool), User: providerUser("Cognito", "", "CAROL"),
	})
	check(t, err, want{})
	// Linked identities keep their case: a subject differs from another by case.
	_, err = client.AdminDisableProviderForUser(t.Context(), &cip.AdminDisableProviderForUserInput{
		UserPoolId: aws.String(foldPool), User: providerUser("Google", "Cognito_Subject", "G-ALICE"),
	})
	check(t, err, want{"InvalidParameterException", msgNotLinked, 400})
}

func TestCaseInsensitiveDeleteUser(t *testing.T) {
	t.Parallel()
	srv, client := startFold(t)
	_, err := client.AdminDeleteUser(t.Context(), &cip.AdminDeleteUserInput{UserPoolId: aws.String(foldPool), Username: aws.String("GOOGLE_ABC123")})
	check(t, err, want{})
	if srv.UserExists(foldPool, "google_abc123") {
		t.Error("google_abc123 still exists")
	}
	// Its identity is free to link now.
	check(t, foldLink(t, client, "Alice", "Google", "ABC123"), want{})
	_, err = client.AdminDeleteUser(t.Context(), &cip.AdminDeleteUserInput{UserPoolId: aws.String(foldPool), Username: aws.String("ALICE")})
	check(t, err, want{})
	_, err = foldGet(t, client, "alice")
	check(t, err, want{"UserNotFoundException", msgUserNotFound, 404})
}

func TestCaseInsensitiveListUsers(t *testing.T) {
	t.Parallel()
	_, client := startFold(t)
	list := func(pool, filter string) []string {
		t.Helper()
		out, err := client.ListUsers(t.Context(), &cip.ListUsersInput{UserPoolId: aws.String(pool), Filter: aws.String(filter)})
		check(t, err, want{})
		var names []string
		for _, u := range out.Users {
			names = append(names, *u.Username)
		}
		return names
	}
	for _, tc := range []struct {
		pool, filter string
		want         []string
	}{
		{foldPool, ``, []string{"alice", "carol", "google_abc123"}},
		{foldPool, `username = "ALICE"`, []string{"alice"}},
		{foldPool, `username ^= "GOOGLE_"`, []string{"google_abc123"}},
		{foldPool, `username ^= "Car"`, []string{"carol"}},
		{poolID, `username = "ALICE"`, nil},
		{poolID, `username ^= "google_"`, nil},
	} {
		if got := list(tc.pool, tc.filter); !slices.Equal(got, tc.want) {
			t.Errorf("%s, %s: got %v, want %v", tc.pool, tc.filter, got, tc.want)
		}
	}
}

func TestCaseInsensitiveSeed(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		users []emulator.SeedUser
		want  string
	}{
		{"two users differing by case", []emulator.SeedUser{{Username: "Alice"}, {Username: "alice"}}, `user "alice": username or sub listed twice`},
		{"a profile and a user differing by case", []emulator.SeedUser{{Username: "Google_1", Federated: true}, {Username: "google_1"}}, "listed twice"},
	} {
		e := emulator.New(emulator.Options{})
		err := e.Load(emulator.Seed{UserPools: []emulator.SeedPool{{ID: foldPool, CaseSensitive: aws.Bool(false),
			IdentityProviders: []emulator.SeedProvider{{Name: "Google", Type: "Google"}}, Users: tc.users}}})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error with %q", tc.name, err, tc.want)
		}
	}
	// A case-sensitive pool takes both; a profile's provider prefix may be in any case, as
	// case-insensitive pools write it (docs/cognito.md).
	e := emulator.New(emulator.Options{})
	err := e.Load(emulator.Seed{UserPools: []emulator.SeedPool{{ID: poolID,
		IdentityProviders: []emulator.SeedProvider{{Name: "Google", Type: "Google"}},
		Users:             []emulator.SeedUser{{Username: "Alice"}, {Username: "alice"}, {Username: "google_7", Federated: true}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if !e.UserExists(poolID, "google_7") || e.UserExists(poolID, "Google_7") {
		t.Error("want google_7 as seeded, and no Google_7")
	}
}
