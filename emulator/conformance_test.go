package emulator_test

import (
	"cmp"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/bulklink/bulklink/emulator"
)

// The messages Cognito was seen answering (docs/emulator.md).
const (
	msgCognitoSource = "Invalid SourceUser: Cognito users with a username/password may not be passed in as a SourceUser, only as a DestinationUser"
	msgMerging       = "Merging is not currently supported, provide a SourceUser that has not been signed up in order to link"
	msgAlreadyLinked = "SourceUser is already linked to DestinationUser"
	msgNotLinked     = "Account isn't linked to anyone else, verify that the account has been linked"
	msgUserNotFound  = "User does not exist."
)

// emailClaim is the SAML claim testdata/seed.json maps Okta's email from.
const emailClaim = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestAdminLinkProviderForUser(t *testing.T) {
	t.Parallel()
	invalid := func(msg string) want { return want{"InvalidParameterException", msg, 400} }
	for _, tc := range []struct {
		name   string
		opt    emulator.Options
		in     *cip.AdminLinkProviderForUserInput
		want   want
		dest   string             // the destination's username, whose identities are checked
		linked *emulator.Identity // the identity a success adds
	}{{
		name:   "native destination",
		in:     linkInput("Cognito", "alice", "Google", "Cognito_Subject", "g-alice"),
		dest:   "alice",
		linked: &emulator.Identity{ProviderName: "Google", ProviderType: "Google", AttributeName: "Cognito_Subject", UserID: "g-alice"},
	}, {
		name:   "federated destination",
		in:     linkInput("Google", "1234", "Okta", "email", "g1234@example.com"),
		dest:   "Google_1234",
		linked: &emulator.Identity{ProviderName: "Okta", ProviderType: "SAML", AttributeName: "email", UserID: "g1234@example.com"},
	}, {
		name: "pool does not exist",
		in: func() *cip.AdminLinkProviderForUserInput {
			in := linkInput("Cognito", "alice", "Google", "Cognito_Subject", "g-alice")
			in.UserPoolId = aws.String("us-east-1_Missing1")
			return in
		}(),
		want: want{"ResourceNotFoundException", "User pool us-east-1_Missing1 does not exist.", 404},
	}, {
		name: "source is a Cognito user",
		in:   linkInput("Cognito", "alice", "Cognito", "Cognito_Subject", "bob"),
		want: invalid(msgCognitoSource),
		dest: "alice",
	}, {
		name: "destination missing",
		in:   linkInput("Cognito", "nobody", "Google", "Cognito_Subject", "g-nobody"),
		want: want{"UserNotFoundException", msgUserNotFound, 404},
	}, {
		name: "federated destination missing",
		in:   linkInput("Google", "999", "Okta", "email", "x@example.com"),
		want: want{"UserNotFoundException", msgUserNotFound, 404},
	}, {
		name: "provider not configured in pool",
		in:   linkInput("Cognito", "alice", "Facebook", "Cognito_Subject", "f-alice"),
		want: invalid("The provider Facebook does not exist for User Pool us-east-1_Example1."),
		dest: "alice",
	}, {
		name: "social provider with a mapped attribute",
		in:   linkInput("Cognito", "alice", "Google", "email", "alice@example.com"),
		want: invalid("Invalid SourceUser: ProviderAttributeName must be Cognito_Subject for a social identity provider"),
		dest: "alice",
	}, {
		name: "source already signed in",
		in:   linkInput("Cognito", "alice", "Google", "Cognito_Subject", "1234"),
		want: invalid(msgMerging),
		dest: "alice",
	}, {
		name: "same link again",
		in:   linkInput("Cognito", "bob", "Okta", "Cognito_Subject", "bob@example.com"),
		want: invalid(msgAlreadyLinked),
		dest: "bob",
	}, {
		name: "same link again, before mid-2024",
		opt:  emulator.Options{LegacyRepeatAnswer: true},
		in:   linkInput("Cognito", "bob", "Okta", "Cognito_Subject", "bob@example.com"),
		want: invalid(msgCognitoSource),
		dest: "bob",
	}, {
		name: "source linked to another user",
		in:   linkInput("Cognito", "alice", "Okta", "Cognito_Subject", "bob@example.com"),
		want: invalid(msgAlreadyLinked),
		dest: "alice",
	}, {
		name: "sixth identity",
		in:   linkInput("Cognito", "carol", "Google", "Cognito_Subject", "c6"),
		want: want{"LimitExceededException", "Maximum number of identities (5) linked to DestinationUser reached", 400},
		dest: "carol",
	}, {
		name: "destination has an immutable custom attribute",
		in:   linkInput("Cognito", "dave", "Google", "Cognito_Subject", "g-dave"),
		want: invalid("Invalid DestinationUser: a user with an immutable custom attribute (custom:tenant) cannot be linked"),
		dest: "dave",
	}, {
		name: "provider name longer than 32 characters",
		in:   linkInput("Cognito", "alice", strings.Repeat("P", 33), "Cognito_Subject", "x"),
		want: invalid("1 validation error detected: Value '" + strings.Repeat("P", 33) +
			"' at 'sourceUser.providerName' failed to satisfy constraint: Member must have length less than or equal to 32"),
		dest: "alice",
	}, {
		name: "source longer than 128 characters",
		in:   linkInput("Cognito", "alice", "Okta", "email", strings.Repeat("a", 120)+"@example.com"),
		want: invalid("Invalid SourceUser: ProviderName, ProviderAttributeName and ProviderAttributeValue must not exceed 128 characters in total"),
		dest: "alice",
	}, {
		name: "source value empty",
		in:   linkInput("Cognito", "alice", "Okta", "email", ""),
		want: invalid("Invalid SourceUser: ProviderAttributeName and ProviderAttributeValue must not be empty"),
		dest: "alice",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, client := start(t, tc.opt)
			before, _ := srv.Identities(poolID, tc.dest)

			_, err := client.AdminLinkProviderForUser(t.Context(), tc.in)
			check(t, err, tc.want)

			after, _ := srv.Identities(poolID, tc.dest)
			wantAfter := before
			if tc.linked != nil && len(after) > 0 {
				wantAfter = append(slices.Clone(before), *tc.linked)
				after[len(after)-1].DateCreated = 0 // see TestLinkDateCreated
			}
			if !slices.Equal(after, wantAfter) {
				t.Errorf("identities of %s: got %+v, want %+v", tc.dest, after, wantAfter)
			}
			if got := srv.Outcomes("AdminLinkProviderForUser"); len(got) != 1 || got[tc.want.code] != 1 {
				t.Errorf("got outcomes %v, want one %q", got, tc.want.code)
			}
		})
	}
}

func TestLinkDateCreated(t *testing.T) {
	t.Parallel()
	srv, client := start(t, emulator.Options{})
	before := time.Now().UnixMilli()
	if _, err := client.AdminLinkProviderForUser(t.Context(), linkInput("Cognito", "alice", "Google", "Cognito_Subject", "g")); err != nil {
		t.Fatal(err)
	}
	ids, _ := srv.Identities(poolID, "alice")
	if got := ids[0].DateCreated; got < before || got > time.Now().UnixMilli() {
		t.Errorf("got dateCreated %d, want the time of the call", got)
	}
}

func TestAdminDisableProviderForUser(t *testing.T) {
	t.Parallel()
	user := func(provider, attribute, value string) *types.ProviderUserIdentifierType {
		return &types.ProviderUserIdentifierType{
			ProviderName:           aws.String(provider),
			ProviderAttributeName:  aws.String(attribute),
			ProviderAttributeValue: aws.String(value),
		}
	}
	for _, tc := range []struct {
		name     string
		pool     string
		user     *types.ProviderUserIdentifierType
		want     want
		unlinked string // the user that lost a link
	}{
		{name: "linked identity", user: user("Okta", "Cognito_Subject", "bob@example.com"), unlinked: "bob"},
		{name: "linked by a mapped attribute", user: user("Okta", "email", "carol@example.com"), unlinked: "carol"},
		{name: "not linked", user: user("Google", "Cognito_Subject", "nobody"), want: want{"InvalidParameterException", msgNotLinked, 400}},
		{name: "linked under another attribute", user: user("Okta", "email", "bob@example.com"), want: want{"InvalidParameterException", msgNotLinked, 400}},
		{name: "native user", user: user("Cognito", "", "alice")},
		{name: "native user missing", user: user("Cognito", "", "nobody"), want: want{"UserNotFoundException", msgUserNotFound, 404}},
		{name: "pool does not exist", pool: "us-east-1_Missing1", user: user("Okta", "Cognito_Subject", "bob@example.com"),
			want: want{"ResourceNotFoundException", "User pool us-east-1_Missing1 does not exist.", 404}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, client := start(t, emulator.Options{})
			before, _ := srv.Identities(poolID, tc.unlinked)
			_, err := client.AdminDisableProviderForUser(t.Context(), &cip.AdminDisableProviderForUserInput{
				UserPoolId: aws.String(cmp.Or(tc.pool, poolID)),
				User:       tc.user,
			})
			check(t, err, tc.want)
			if tc.unlinked == "" {
				return
			}
			after, _ := srv.Identities(poolID, tc.unlinked)
			if len(after) != len(before)-1 {
				t.Fatalf("identities of %s: got %+v, want one fewer than %+v", tc.unlinked, after, before)
			}
			// The identity may be linked again, to anyone.
			_, err = client.AdminLinkProviderForUser(t.Context(), linkInput("Cognito", "alice",
				*tc.user.ProviderName, *tc.user.ProviderAttributeName, *tc.user.ProviderAttributeValue))
			check(t, err, want{})
		})
	}
}

func TestAdminDeleteUser(t *testing.T) {
	t.Parallel()
	del := func(client *cip.Client, pool, username string) error {
		_, err := client.AdminDeleteUser(t.Context(), &cip.AdminDeleteUserInput{UserPoolId: aws.String(pool), Username: aws.String(username)})
		return err
	}
	t.Run("native user", func(t *testing.T) {
		t.Parallel()
		srv, client := start(t, emulator.Options{})
		check(t, del(client, poolID, "bob"), want{})
		if srv.UserExists(poolID, "bob") {
			t.Error("bob still exists")
		}
		_, err := client.AdminGetUser(t.Context(), &cip.AdminGetUserInput{UserPoolId: aws.String(poolID), Username: aws.String("bob")})
		check(t, err, want{"UserNotFoundException", msgUserNotFound, 404})
		// bob's identity is free again.
		_, err = client.AdminLinkProviderForUser(t.Context(), linkInput("Cognito", "alice", "Okta", "Cognito_Subject", "bob@example.com"))
		check(t, err, want{})
	})
	t.Run("federated profile", func(t *testing.T) {
		t.Parallel()
		_, client := start(t, emulator.Options{})
		link := linkInput("Cognito", "alice", "Google", "Cognito_Subject", "1234")
		_, err := client.AdminLinkProviderForUser(t.Context(), link)
		check(t, err, want{"InvalidParameterException", msgMerging, 400})
		check(t, del(client, poolID, "Google_1234"), want{})
		_, err = client.AdminLinkProviderForUser(t.Context(), link)
		check(t, err, want{})
	})
	t.Run("user missing", func(t *testing.T) {
		t.Parallel()
		_, client := start(t, emulator.Options{})
		check(t, del(client, poolID, "nobody"), want{"UserNotFoundException", msgUserNotFound, 404})
	})
	t.Run("pool missing", func(t *testing.T) {
		t.Parallel()
		_, client := start(t, emulator.Options{})
		check(t, del(client, "us-east-1_Missing1", "alice"), want{"ResourceNotFoundException", "User pool us-east-1_Missing1 does not exist.", 404})
	})
}

func TestAdminCreateUser(t *testing.T) {
	t.Parallel()
	srv, client := start(t, emulator.Options{})
	before := time.Now().Add(-time.Second)
	out, err := client.AdminCreateUser(t.Context(), &cip.AdminCreateUserInput{
		UserPoolId:     aws.String(poolID),
		Username:       aws.String("erin"),
		UserAttributes: []types.AttributeType{{Name: aws.String("email"), Value: aws.String("erin@example.com")}},
		MessageAction:  types.MessageActionTypeSuppress,
	})
	check(t, err, want{})
	u := out.User
	if *u.Username != "erin" || u.UserStatus != types.UserStatusTypeForceChangePassword || !u.Enabled {
		t.Errorf("got user %s, status %s, enabled %t; want erin, FORCE_CHANGE_PASSWORD, enabled", *u.Username, u.UserStatus, u.Enabled)
	}
	if u.UserCreateDate.Before(before) || !u.UserCreateDate.Equal(*u.UserLastModifiedDate) {
		t.Errorf("got created %v, modified %v; want both now", u.UserCreateDate, u.UserLastModifiedDate)
	}
	attrs := attributes(u.Attributes)
	if !uuidPattern.MatchString(attrs["sub"]) || attrs["email"] != "erin@example.com" {
		t.Errorf("got attributes %v, want a sub and erin's email", attrs)
	}
	if !srv.UserExists(poolID, "erin") {
		t.Error("erin does not exist")
	}

	_, err = client.AdminCreateUser(t.Context(), &cip.AdminCreateUserInput{UserPoolId: aws.String(poolID), Username: aws.String("alice")})
	check(t, err, want{"UsernameExistsException", "User account already exists", 400})
	_, err = client.AdminCreateUser(t.Context(), &cip.AdminCreateUserInput{UserPoolId: aws.String("us-east-1_Missing1"), Username: aws.String("x")})
	check(t, err, want{"ResourceNotFoundException", "User pool us-east-1_Missing1 does not exist.", 404})
}

func attributes(list []types.AttributeType) map[string]string {
	m := make(map[string]string, len(list))
	for _, a := range list {
		m[*a.Name] = *a.Value
	}
	return m
}

func TestAdminGetUser(t *testing.T) {
	t.Parallel()
	srv, client := start(t, emulator.Options{})
	get := func(username string) (*cip.AdminGetUserOutput, error) {
		return client.AdminGetUser(t.Context(), &cip.AdminGetUserInput{UserPoolId: aws.String(poolID), Username: aws.String(username)})
	}

	alice, err := get("alice")
	check(t, err, want{})
	if *alice.Username != "alice" || alice.UserStatus != types.UserStatusTypeConfirmed || !alice.Enabled {
		t.Errorf("got %s, %s, enabled %t; want alice, CONFIRMED, enabled", *alice.Username, alice.UserStatus, alice.Enabled)
	}
	// A seeded user is dated SeedAge before the emulator started.
	if alice.UserCreateDate == nil || time.Since(alice.UserCreateDate.Add(emulator.SeedAge)) > time.Minute || alice.UserLastModifiedDate == nil {
		t.Errorf("got dates %v, %v; want about a seed's age ago", alice.UserCreateDate, alice.UserLastModifiedDate)
	}
	names := make([]string, len(alice.UserAttributes))
	for i, a := range alice.UserAttributes {
		names[i] = *a.Name
	}
	if want := []string{"sub", "email", "given_name"}; !slices.Equal(names, want) {
		t.Errorf("got attributes %v, want %v (no identities without links)", names, want)
	}

	bySub, err := get(attributes(alice.UserAttributes)["sub"])
	check(t, err, want{})
	if *bySub.Username != "alice" {
		t.Errorf("by sub: got %s, want alice", *bySub.Username)
	}

	bob, err := get("bob")
	check(t, err, want{})
	ids, _ := srv.Identities(poolID, "bob")
	wantIdentities := fmt.Sprintf(`[{"userId":"bob@example.com","providerName":"Okta","providerType":"SAML","issuer":null,"primary":false,"dateCreated":%d}]`, ids[0].DateCreated)
	if got := attributes(bob.UserAttributes)["identities"]; got != wantIdentities {
		t.Errorf("got identities %s, want %s", got, wantIdentities)
	}

	federated, err := get("Google_1234")
	check(t, err, want{})
	if federated.UserStatus != types.UserStatusTypeExternalProvider {
		t.Errorf("got status %s, want EXTERNAL_PROVIDER", federated.UserStatus)
	}
	var own []map[string]any
	if err := json.Unmarshal([]byte(attributes(federated.UserAttributes)["identities"]), &own); err != nil {
		t.Fatal(err)
	}
	if len(own) != 1 || own[0]["userId"] != "1234" || own[0]["providerName"] != "Google" || own[0]["primary"] != true {
		t.Errorf("got identities %v, want its own Google identity, primary", own)
	}

	// A federated destination lists its own identity first, then those linked to it.
	_, err = client.AdminLinkProviderForUser(t.Context(), linkInput("Google", "1234", "Okta", "email", "g1234@example.com"))
	check(t, err, want{})
	federated, err = get("Google_1234")
	check(t, err, want{})
	ids, _ = srv.Identities(poolID, "Google_1234")
	wantIdentities = fmt.Sprintf(`[{"userId":"1234","providerName":"Google","providerType":"Google","issuer":null,"primary":true,"dateCreated":%d},`+
		`{"userId":"g1234@example.com","providerName":"Okta","providerType":"SAML","issuer":null,"primary":false,"dateCreated":%d}]`,
		int64(own[0]["dateCreated"].(float64)), ids[0].DateCreated)
	if got := attributes(federated.UserAttributes)["identities"]; got != wantIdentities {
		t.Errorf("got identities %s, want %s", got, wantIdentities)
	}

	_, err = get("nobody")
	check(t, err, want{"UserNotFoundException", msgUserNotFound, 404})
	_, err = client.AdminGetUser(t.Context(), &cip.AdminGetUserInput{UserPoolId: aws.String("us-east-1_Missing1"), Username: aws.String("alice")})
	check(t, err, want{"ResourceNotFoundException", "User pool us-east-1_Missing1 does not exist.", 404})
	_, err = client.AdminGetUser(t.Context(), &cip.AdminGetUserInput{UserPoolId: aws.String("not a pool"), Username: aws.String("alice")})
	check(t, err, want{"InvalidParameterException",
		`1 validation error detected: Value 'not a pool' at 'userPoolId' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w-]+_[0-9a-zA-Z]+`, 400})
}

func TestListUsers(t *testing.T) {
	t.Parallel()
	srv, client := start(t, emulator.Options{})
	list := func(in *cip.ListUsersInput) ([]string, *string, error) {
		if in.UserPoolId == nil {
			in.UserPoolId = aws.String(poolID)
		}
		out, err := client.ListUsers(t.Context(), in)
		if err != nil {
			return nil, nil, err
		}
		var names []string
		for _, u := range out.Users {
			names = append(names, *u.Username)
		}
		return names, out.PaginationToken, nil
	}

	t.Run("pages", func(t *testing.T) {
		var all []string
		var token *string
		for pages := 1; ; pages++ {
			names, next, err := list(&cip.ListUsersInput{Limit: aws.Int32(2), PaginationToken: token})
			check(t, err, want{})
			if len(names) > 2 {
				t.Fatalf("got page %v, want at most 2 users", names)
			}
			all = append(all, names...)
			if token = next; token == nil {
				if pages != 3 {
					t.Errorf("got %d pages, want 3", pages)
				}
				break
			}
		}
		if want := []string{"Google_1234", "alice", "bob", "carol", "dave"}; !slices.Equal(all, want) {
			t.Errorf("got %v, want %v", all, want)
		}
	})

	alice, _ := client.AdminGetUser(t.Context(), &cip.AdminGetUserInput{UserPoolId: aws.String(poolID), Username: aws.String("alice")})
	for _, tc := range []struct {
		filter string
		want   []string
	}{
		{`username = "alice"`, []string{"alice"}},
		{`username ^= "Goo"`, []string{"Google_1234"}},
		{`username = "ali"`, nil},
		{`email = "bob@example.com"`, []string{"bob"}},
		{`email ^= "g1234"`, []string{"Google_1234"}},
		{`sub = "` + attributes(alice.UserAttributes)["sub"] + `"`, []string{"alice"}},
		{`cognito:user_status = "external_provider"`, []string{"Google_1234"}},
		{`status = "Enabled"`, []string{"Google_1234", "alice", "bob", "carol", "dave"}},
		{`given_name="Alice"`, []string{"alice"}},
		{``, []string{"Google_1234", "alice", "bob", "carol", "dave"}},
	} {
		t.Run(tc.filter, func(t *testing.T) {
			got, _, err := list(&cip.ListUsersInput{Filter: aws.String(tc.filter)})
			check(t, err, want{})
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}

	t.Run("attributes to get", func(t *testing.T) {
		out, err := client.ListUsers(t.Context(), &cip.ListUsersInput{
			UserPoolId: aws.String(poolID), Filter: aws.String(`username = "bob"`), AttributesToGet: []string{"email"},
		})
		check(t, err, want{})
		if got := attributes(out.Users[0].Attributes); len(got) != 1 || got["email"] != "bob@example.com" {
			t.Errorf("got %v, want bob's email only", got)
		}
	})

	for _, tc := range []struct {
		name string
		in   *cip.ListUsersInput
		want want
	}{
		{"filter without quotes", &cip.ListUsersInput{Filter: aws.String(`email = bob`)},
			want{"InvalidParameterException", "Error while parsing filter.", 400}},
		{"custom attribute filter", &cip.ListUsersInput{Filter: aws.String(`custom:tenant = "acme"`)},
			want{"InvalidParameterException", "Invalid search attribute: custom:tenant is not searchable.", 400}},
		{"limit over 60", &cip.ListUsersInput{Limit: aws.Int32(61)},
			want{"InvalidParameterException", "1 validation error detected: Value '61' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 60", 400}},
		{"bad pagination token", &cip.ListUsersInput{PaginationToken: aws.String("!!")},
			want{"InvalidParameterException", "", 400}}, // the message: TestListUsersPaging
		{"pool missing", &cip.ListUsersInput{UserPoolId: aws.String("us-east-1_Missing1")},
			want{"ResourceNotFoundException", "User pool us-east-1_Missing1 does not exist.", 404}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := list(tc.in)
			check(t, err, tc.want)
		})
	}
	if got := srv.Calls("ListUsers"); got != 3+10+1+5 {
		t.Errorf("got %d ListUsers calls, want %d", got, 3+10+1+5)
	}
}

func TestUserPools(t *testing.T) {
	t.Parallel()
	srv, client := start(t, emulator.Options{Region: "eu-west-1"})
	created, err := client.CreateUserPool(t.Context(), &cip.CreateUserPoolInput{
		PoolName: aws.String("rehearsal"),
		Schema: []types.SchemaAttributeType{
			{Name: aws.String("email"), Required: aws.Bool(true)},
			{Name: aws.String("tenant"), AttributeDataType: types.AttributeDataTypeString, Mutable: aws.Bool(false)},
		},
	})
	check(t, err, want{})
	pool := created.UserPool
	if !regexp.MustCompile(`^eu-west-1_[0-9A-Za-z]{9}$`).MatchString(*pool.Id) {
		t.Errorf("got pool ID %s, want eu-west-1_ and nine alphanumerics", *pool.Id)
	}
	if want := "arn:aws:cognito-idp:eu-west-1:000000000000:userpool/" + *pool.Id; *pool.Arn != want || *pool.Name != "rehearsal" {
		t.Errorf("got ARN %s, name %s; want %s, rehearsal", *pool.Arn, *pool.Name, want)
	}

	described, err := client.DescribeUserPool(t.Context(), &cip.DescribeUserPoolInput{UserPoolId: pool.Id})
	check(t, err, want{})
	if got := described.UserPool; *got.Id != *pool.Id || got.EstimatedNumberOfUsers != 0 || !got.CreationDate.Equal(*pool.CreationDate) {
		t.Errorf("got %s with %d users created %v, want %s, empty, created %v", *got.Id, got.EstimatedNumberOfUsers, got.CreationDate, *pool.Id, pool.CreationDate)
	}
	if attrs := described.UserPool.SchemaAttributes; len(attrs) != 1 || *attrs[0].Name != "custom:tenant" || *attrs[0].Mutable {
		t.Errorf("got schema %+v, want custom:tenant, immutable", attrs)
	}

	// The new pool works: a user with the immutable attribute cannot be linked.
	_, err = client.CreateIdentityProvider(t.Context(), &cip.CreateIdentityProviderInput{
		UserPoolId: pool.Id, ProviderName: aws.String("Google"), ProviderType: types.IdentityProviderTypeTypeGoogle,
		ProviderDetails: map[string]string{"client_id": "x"},
	})
	check(t, err, want{})
	_, err = client.AdminCreateUser(t.Context(), &cip.AdminCreateUserInput{
		UserPoolId: pool.Id, Username: aws.String("frank"),
		UserAttributes: []types.AttributeType{{Name: aws.String("custom:tenant"), Value: aws.String("acme")}},
	})
	check(t, err, want{})
	in := linkInput("Cognito", "frank", "Google", "Cognito_Subject", "g-frank")
	in.UserPoolId = pool.Id
	_, err = client.AdminLinkProviderForUser(t.Context(), in)
	check(t, err, want{"InvalidParameterException", "", 400})

	_, err = client.DescribeUserPool(t.Context(), &cip.DescribeUserPoolInput{UserPoolId: aws.String("eu-west-1_Missing1")})
	check(t, err, want{"ResourceNotFoundException", "User pool eu-west-1_Missing1 does not exist.", 404})
	if got := srv.Outcomes("CreateUserPool"); got[""] != 1 {
		t.Errorf("got CreateUserPool outcomes %v, want one success", got)
	}
}

func TestIdentityProviders(t *testing.T) {
	t.Parallel()
	_, client := start(t, emulator.Options{})
	created, err := client.CreateIdentityProvider(t.Context(), &cip.CreateIdentityProviderInput{
		UserPoolId:       aws.String(poolID),
		ProviderName:     aws.String("Corp"),
		ProviderType:     types.IdentityProviderTypeTypeOidc,
		ProviderDetails:  map[string]string{"client_id": "corp", "oidc_issuer": "https://id.example.com"},
		AttributeMapping: map[string]string{"email": "email"},
	})
	check(t, err, want{})
	if p := created.IdentityProvider; *p.ProviderName != "Corp" || p.ProviderType != types.IdentityProviderTypeTypeOidc ||
		*p.UserPoolId != poolID || p.ProviderDetails["client_id"] != "corp" || p.AttributeMapping["email"] != "email" || p.CreationDate == nil {
		t.Errorf("got %+v, want Corp as created", p)
	}

	described, err := client.DescribeIdentityProvider(t.Context(), &cip.DescribeIdentityProviderInput{UserPoolId: aws.String(poolID), ProviderName: aws.String("Okta")})
	check(t, err, want{})
	if p := described.IdentityProvider; *p.ProviderName != "Okta" || p.ProviderType != types.IdentityProviderTypeTypeSaml ||
		len(p.AttributeMapping) != 1 || p.AttributeMapping["email"] != emailClaim {
		t.Errorf("got %s of type %s mapping %v, want Okta, SAML, mapping email to %s", *p.ProviderName, p.ProviderType, p.AttributeMapping, emailClaim)
	}
	described, err = client.DescribeIdentityProvider(t.Context(), &cip.DescribeIdentityProviderInput{UserPoolId: aws.String(poolID), ProviderName: aws.String("Corp")})
	check(t, err, want{})
	if p := described.IdentityProvider; fmt.Sprint(p.AttributeMapping) != "map[email:email]" {
		t.Errorf("Corp: got mapping %v, want the one it was created with, email to email", p.AttributeMapping)
	}

	var names []string
	paginator := cip.NewListIdentityProvidersPaginator(client, &cip.ListIdentityProvidersInput{UserPoolId: aws.String(poolID), MaxResults: aws.Int32(1)})
	for paginator.HasMorePages() {
		page, err := paginator.NextPage(t.Context())
		check(t, err, want{})
		for _, p := range page.Providers {
			names = append(names, *p.ProviderName)
		}
	}
	if want := []string{"Corp", "Google", "Okta"}; !slices.Equal(names, want) {
		t.Errorf("got providers %v, want %v", names, want)
	}

	// The new provider is a source for links.
	_, err = client.AdminLinkProviderForUser(t.Context(), linkInput("Cognito", "alice", "Corp", "email", "alice@example.com"))
	check(t, err, want{})

	for _, tc := range []struct {
		name string
		call func() error
		want want
	}{
		{"duplicate", func() error {
			_, err := client.CreateIdentityProvider(t.Context(), &cip.CreateIdentityProviderInput{
				UserPoolId: aws.String(poolID), ProviderName: aws.String("Okta"), ProviderType: types.IdentityProviderTypeTypeSaml,
				ProviderDetails: map[string]string{"MetadataURL": "https://okta.example.com"},
			})
			return err
		}, want{"DuplicateProviderException", "A provider with the name Okta already exists in this user pool.", 400}},
		{"unknown type", func() error {
			_, err := client.CreateIdentityProvider(t.Context(), &cip.CreateIdentityProviderInput{
				UserPoolId: aws.String(poolID), ProviderName: aws.String("Ldap"), ProviderType: "LDAP",
				ProviderDetails: map[string]string{},
			})
			return err
		}, want{"InvalidParameterException", "1 validation error detected: Value 'LDAP' at 'providerType' failed to satisfy constraint: " +
			"Member must satisfy enum value set: [SAML, Facebook, Google, LoginWithAmazon, SignInWithApple, OIDC]", 400}},
		{"describe missing", func() error {
			_, err := client.DescribeIdentityProvider(t.Context(), &cip.DescribeIdentityProviderInput{UserPoolId: aws.String(poolID), ProviderName: aws.String("Nope")})
			return err
		}, want{"ResourceNotFoundException", "Identity provider Nope does not exist in user pool us-east-1_Example1.", 404}},
		{"list in missing pool", func() error {
			_, err := client.ListIdentityProviders(t.Context(), &cip.ListIdentityProvidersInput{UserPoolId: aws.String("us-east-1_Missing1")})
			return err
		}, want{"ResourceNotFoundException", "User pool us-east-1_Missing1 does not exist.", 404}},
	} {
		t.Run(tc.name, func(t *testing.T) { check(t, tc.call(), tc.want) })
	}
}
