package emulator_test

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/bulklink/bulklink/emulator"
)

// listPool is the pool startList seeds: users with every searchable attribute, statuses
// and an enabled flag.
const listPool = "us-east-1_List1"

func startList(t *testing.T) (*emulator.Server, *cip.Client) {
	t.Helper()
	return start(t, emulator.Options{}, listSeed())
}

// listSeed is listPool's seed.
func listSeed() emulator.SeedPool {
	no := aws.Bool(false)
	return emulator.SeedPool{
		ID:                listPool,
		IdentityProviders: []emulator.SeedProvider{{Name: "Google", Type: "Google"}},
		Users: []emulator.SeedUser{
			{Username: "alice", Attributes: map[string]string{
				"email": "Alice@Example.com", "email_verified": "true", "given_name": "Alice", "family_name": "Smith",
				"name": "Alice Smith", "phone_number": "+15550100", "preferred_username": "Ali", "sub": "0a1b2c3d-0000-4000-8000-00000000000a",
			}},
			{Username: "bob", Enabled: no, Attributes: map[string]string{"email": "bob@example.com", "email_verified": "false"}},
			{Username: "carol", Status: "UNCONFIRMED", Attributes: map[string]string{"email": "carol@corp.example", "email_verified": "true"}},
			{Username: "dave", Status: "RESET_REQUIRED"},
			{Username: "Google_1", Federated: true, Attributes: map[string]string{"email": "alice@example.com"}},
			{Username: "quote", Attributes: map[string]string{"given_name": `Jo "JJ" Smith`, "family_name": `back\slash`, "email": "q@example.com", "email_verified": "true"}},
		},
	}
}

// listAll pages through ListUsers with in, and returns the usernames in order and the pages.
func listAll(t *testing.T, client *cip.Client, in cip.ListUsersInput) (names []string, pages int, err error) {
	t.Helper()
	for {
		out, err := client.ListUsers(t.Context(), &in)
		if err != nil {
			return names, pages, err
		}
		pages++
		for _, u := range out.Users {
			names = append(names, *u.Username)
		}
		if out.PaginationToken == nil {
			return names, pages, nil
		}
		in.PaginationToken = out.PaginationToken
	}
}

func TestListUsersFilters(t *testing.T) {
	t.Parallel()
	_, client := startList(t)
	all := []string{"Google_1", "alice", "bob", "carol", "dave", "quote"}
	for _, tc := range []struct {
		filter string
		want   []string
	}{
		// Searches are case-insensitive but for username and status (docs/cognito.md).
		{`email = "alice@example.com"`, []string{"Google_1", "alice"}},
		{`email = "ALICE@EXAMPLE.COM"`, []string{"Google_1", "alice"}},
		{`email ^= "Alice@"`, []string{"Google_1", "alice"}},
		{`email ^= "carol@corp"`, []string{"carol"}},
		{`email ^= ""`, []string{"Google_1", "alice", "bob", "carol", "quote"}},
		{`email = ""`, nil},
		{`phone_number ^= "+1555"`, []string{"alice"}},
		{`name = "alice smith"`, []string{"alice"}},
		{`given_name = "Jo \"JJ\" Smith"`, []string{"quote"}},
		{`family_name = "back\\slash"`, []string{"quote"}},
		{`family_name ^= "SMI"`, []string{"alice"}},
		{`preferred_username = "ALI"`, []string{"alice"}},
		{`cognito:user_status = "unconfirmed"`, []string{"carol"}},
		{`cognito:user_status ^= "RESET"`, []string{"dave"}},
		{`cognito:user_status = "External_Provider"`, []string{"Google_1"}},
		{`status = "Disabled"`, []string{"bob"}},
		{`status = "disabled"`, nil},
		{`status = "Enabled"`, []string{"Google_1", "alice", "carol", "dave", "quote"}},
		{`sub = "0A1B2C3D-0000-4000-8000-00000000000A"`, []string{"alice"}},
		{`sub ^= "0a1b2c3d"`, []string{"alice"}},
		{`username = "Alice"`, nil},
		{`username ^= "Goo"`, []string{"Google_1"}},
		// Whitespace around the parts, none at all, a quoted attribute name.
		{"  email   =   \"bob@example.com\"  ", []string{"bob"}},
		{`email="bob@example.com"`, []string{"bob"}},
		{`"email" = "bob@example.com"`, []string{"bob"}},
		{`email = " bob@example.com"`, nil},
		{``, all},
		{`   `, all},
	} {
		t.Run(tc.filter, func(t *testing.T) {
			got, _, err := listAll(t, client, cip.ListUsersInput{UserPoolId: aws.String(listPool), Filter: aws.String(tc.filter)})
			check(t, err, want{})
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		filter, msg string
	}{
		{`email != "x"`, "Error while parsing filter."},
		{`email = bob`, "Error while parsing filter."},
		{`email = "unterminated`, "Error while parsing filter."},
		{`email = "a" and name = "b"`, "Error while parsing filter."},
		{`email`, "Error while parsing filter."},
		{`email_verified = "true"`, "Invalid search attribute: email_verified is not searchable."},
		{`custom:tenant = "acme"`, "Invalid search attribute: custom:tenant is not searchable."},
		{`identities ^= "["`, "Invalid search attribute: identities is not searchable."},
	} {
		t.Run(tc.filter, func(t *testing.T) {
			_, err := client.ListUsers(t.Context(), &cip.ListUsersInput{UserPoolId: aws.String(listPool), Filter: aws.String(tc.filter)})
			check(t, err, want{"InvalidParameterException", tc.msg, 400})
		})
	}
}

func TestListUsersFields(t *testing.T) {
	t.Parallel()
	srv, client := startList(t)
	out, err := client.ListUsers(t.Context(), &cip.ListUsersInput{UserPoolId: aws.String(listPool)})
	check(t, err, want{})
	byName := make(map[string]types.UserType)
	for _, u := range out.Users {
		byName[*u.Username] = u
	}
	for _, tc := range []struct {
		username string
		enabled  bool
		status   types.UserStatusType
	}{
		{"alice", true, types.UserStatusTypeConfirmed},
		{"bob", false, types.UserStatusTypeConfirmed},
		{"carol", true, types.UserStatusTypeUnconfirmed},
		{"dave", true, types.UserStatusTypeResetRequired},
		{"Google_1", true, types.UserStatusTypeExternalProvider},
	} {
		u, ok := byName[tc.username]
		if !ok {
			t.Errorf("%s not listed", tc.username)
			continue
		}
		if u.Enabled != tc.enabled || u.UserStatus != tc.status || u.UserCreateDate == nil || u.UserLastModifiedDate == nil {
			t.Errorf("%s: got enabled %t, status %s, dates %v, %v; want %t, %s, dated", tc.username, u.Enabled, u.UserStatus, u.UserCreateDate, u.UserLastModifiedDate, tc.enabled, tc.status)
		}
	}
	if got := attributes(byName["alice"].Attributes); got["email"] != "Alice@Example.com" || got["email_verified"] != "true" || got["sub"] != "0a1b2c3d-0000-4000-8000-00000000000a" {
		t.Errorf("alice: got attributes %v, want all of them, as seeded", got)
	}
	// AdminGetUser answers the same.
	bob, err := client.AdminGetUser(t.Context(), &cip.AdminGetUserInput{UserPoolId: aws.String(listPool), Username: aws.String("bob")})
	check(t, err, want{})
	if bob.Enabled || bob.UserStatus != types.UserStatusTypeConfirmed {
		t.Errorf("bob: got enabled %t, %s; want disabled, CONFIRMED", bob.Enabled, bob.UserStatus)
	}
	if got := srv.Calls("ListUsers"); got != 1 {
		t.Errorf("got %d ListUsers calls, want 1", got)
	}
}

func TestListUsersAttributesToGet(t *testing.T) {
	t.Parallel()
	_, client := startList(t)
	list := func(filter string, names []string) (map[string]map[string]string, error) {
		out, err := client.ListUsers(t.Context(), &cip.ListUsersInput{UserPoolId: aws.String(listPool), Filter: aws.String(filter), AttributesToGet: names})
		if err != nil {
			return nil, err
		}
		users := make(map[string]map[string]string)
		for _, u := range out.Users {
			users[*u.Username] = attributes(u.Attributes)
		}
		return users, nil
	}
	for _, tc := range []struct {
		name   string
		filter string
		get    []string
		want   map[string]string // of alice, or of the one user listed
		msg    string            // the error's, if it fails
	}{
		{"absent", `username = "alice"`, nil, map[string]string{"email": "Alice@Example.com", "email_verified": "true", "given_name": "Alice", "family_name": "Smith",
			"name": "Alice Smith", "phone_number": "+15550100", "preferred_username": "Ali", "sub": "0a1b2c3d-0000-4000-8000-00000000000a"}, ""},
		{"empty: all, as absent", `username = "alice"`, []string{}, map[string]string{"email": "Alice@Example.com", "email_verified": "true", "given_name": "Alice", "family_name": "Smith",
			"name": "Alice Smith", "phone_number": "+15550100", "preferred_username": "Ali", "sub": "0a1b2c3d-0000-4000-8000-00000000000a"}, ""},
		{"some", `username = "alice"`, []string{"email", "sub"}, map[string]string{"email": "Alice@Example.com", "sub": "0a1b2c3d-0000-4000-8000-00000000000a"}, ""},
		{"a searchable attribute some users lack", ``, []string{"email"}, map[string]string{"email": "Alice@Example.com"}, ""},
		{"a non-searchable attribute every listed user has", `email ^= "carol"`, []string{"email_verified"}, map[string]string{"email_verified": "true"}, ""},
		{"a non-searchable attribute a listed user lacks", `email ^= "alice@"`, []string{"email_verified"}, nil, "Input fails to satisfy the constraints."},
		{"an unknown attribute", `username = "alice"`, []string{"nickname"}, nil, "Input fails to satisfy the constraints."},
		{"an unknown attribute, nobody listed", `username = "nobody"`, []string{"nickname"}, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			users, err := list(tc.filter, tc.get)
			if tc.msg != "" {
				check(t, err, want{"InvalidParameterException", tc.msg, 400})
				return
			}
			check(t, err, want{})
			got := users["alice"]
			if len(users) == 1 {
				for _, attrs := range users {
					got = attrs
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
			if tc.name == "a searchable attribute some users lack" {
				if attrs, ok := users["dave"]; !ok || len(attrs) != 0 {
					t.Errorf("dave: got %v, %t; want listed without attributes", attrs, ok)
				}
			}
		})
	}
}

func TestListUsersPaging(t *testing.T) {
	t.Parallel()
	srv, client := start(t, emulator.Options{})
	pool := emulator.SeedPool{ID: "us-east-1_Page1"}
	var names []string
	for i := range 125 {
		name := fmt.Sprintf("u%03d", i)
		names = append(names, name)
		email := fmt.Sprintf("%s@%s.example", name, []string{"even", "odd"}[i%2])
		pool.Users = append(pool.Users, emulator.SeedUser{Username: name, Attributes: map[string]string{"email": email}})
	}
	load(t, srv, pool)
	in := func(limit int32, filter string) cip.ListUsersInput {
		return cip.ListUsersInput{UserPoolId: aws.String("us-east-1_Page1"), Limit: aws.Int32(limit), Filter: aws.String(filter)}
	}
	for _, tc := range []struct {
		name      string
		in        cip.ListUsersInput
		want      []string
		wantPages int
	}{
		{"pages of 60", in(60, ""), names, 3},
		{"pages of 1", in(1, `username ^= "u12"`), names[120:125], 5},
		{"no limit: 60", cip.ListUsersInput{UserPoolId: aws.String("us-east-1_Page1")}, names, 3},
		{"limit 0: 60", in(0, ""), names, 3},
		{"filtered", in(7, `email ^= "u1"`), func() []string {
			var w []string
			for _, n := range names {
				if strings.HasPrefix(n, "u1") {
					w = append(w, n)
				}
			}
			return w
		}(), 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, pages, err := listAll(t, client, tc.in)
			check(t, err, want{})
			if !slices.Equal(got, tc.want) || pages != tc.wantPages {
				t.Errorf("got %v in %d pages, want %v in %d", got, pages, tc.want, tc.wantPages)
			}
		})
	}

	// A page ends at the limit, and its token resumes after its last user, even once that
	// user is gone.
	first, err := client.ListUsers(t.Context(), &cip.ListUsersInput{UserPoolId: aws.String("us-east-1_Page1"), Limit: aws.Int32(2), Filter: aws.String(`email ^= "u"`)})
	check(t, err, want{})
	if len(first.Users) != 2 || first.PaginationToken == nil {
		t.Fatalf("got %d users, token %v; want 2 and a token", len(first.Users), first.PaginationToken)
	}
	_, err = client.AdminDeleteUser(t.Context(), &cip.AdminDeleteUserInput{UserPoolId: aws.String("us-east-1_Page1"), Username: aws.String("u001")})
	check(t, err, want{})
	next, err := client.ListUsers(t.Context(), &cip.ListUsersInput{UserPoolId: aws.String("us-east-1_Page1"), Limit: aws.Int32(2), Filter: aws.String(`email ^= "u"`), PaginationToken: first.PaginationToken})
	check(t, err, want{})
	if len(next.Users) != 2 || *next.Users[0].Username != "u002" {
		t.Errorf("got %d users from %s, want u002 and u003", len(next.Users), *next.Users[0].Username)
	}

	// A token goes with its request: the same pool and filter.
	invalid := regexp.MustCompile(`^Paging marker \S+ is invalid for request [0-9a-f-]{36}$`)
	for _, tc := range []struct {
		name string
		in   cip.ListUsersInput
	}{
		{"another filter", cip.ListUsersInput{UserPoolId: aws.String("us-east-1_Page1"), Filter: aws.String(`email ^= "u0"`), PaginationToken: first.PaginationToken}},
		{"no filter", cip.ListUsersInput{UserPoolId: aws.String("us-east-1_Page1"), PaginationToken: first.PaginationToken}},
		{"another pool", cip.ListUsersInput{UserPoolId: aws.String(poolID), Filter: aws.String(`email ^= "u"`), PaginationToken: first.PaginationToken}},
		{"garbage", cip.ListUsersInput{UserPoolId: aws.String("us-east-1_Page1"), PaginationToken: aws.String("!!")}},
		{"forged", cip.ListUsersInput{UserPoolId: aws.String("us-east-1_Page1"), PaginationToken: aws.String(base64.RawURLEncoding.EncodeToString([]byte("u050")))}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client.ListUsers(t.Context(), &tc.in)
			check(t, err, want{"InvalidParameterException", "", 400})
			if err != nil && !invalid.MatchString(asAPIError(err).ErrorMessage()) {
				t.Errorf("got message %q, want %s", asAPIError(err).ErrorMessage(), invalid)
			}
		})
	}
	for _, limit := range []int32{-1, 61} {
		_, err := client.ListUsers(t.Context(), &cip.ListUsersInput{UserPoolId: aws.String("us-east-1_Page1"), Limit: aws.Int32(limit)})
		check(t, err, want{"InvalidParameterException", "", 400})
	}
	if got := srv.Outcomes("ListUsers"); got["InvalidParameterException"] != 7 {
		t.Errorf("got outcomes %v, want 7 InvalidParameterException", got)
	}
}

func TestSeedStatusAndEnabled(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		user emulator.SeedUser
		want string
	}{
		{"unknown status", emulator.SeedUser{Username: "a", Status: "ACTIVE"}, `status "ACTIVE": want one of`},
		{"native user as a profile", emulator.SeedUser{Username: "a", Status: "EXTERNAL_PROVIDER"}, "EXTERNAL_PROVIDER is the status of federated profiles"},
		{"profile with another status", emulator.SeedUser{Username: "Google_1", Federated: true, Status: "CONFIRMED"}, "a federated profile's status is EXTERNAL_PROVIDER"},
		{"email_verified not a boolean", emulator.SeedUser{Username: "a", Attributes: map[string]string{"email_verified": "yes"}}, `email_verified "yes": want true or false`},
	} {
		e := emulator.New(emulator.Options{})
		err := e.Load(emulator.Seed{UserPools: []emulator.SeedPool{{ID: "us-east-1_A",
			IdentityProviders: []emulator.SeedProvider{{Name: "Google", Type: "Google"}}, Users: []emulator.SeedUser{tc.user}}}})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error with %q", tc.name, err, tc.want)
		}
	}
}
