package emulator_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/bulklink/bulklink/emulator"
)

// groupPool is the pool startGroups seeds: groups, users in them, and a user with MFA.
const groupPool = "us-east-1_Groups1"

const adminsRole = "arn:aws:iam::000000000000:role/admins"

func startGroups(t *testing.T, opt emulator.Options) (*emulator.Server, *cip.Client) {
	t.Helper()
	return start(t, opt, groupsSeed())
}

// groupsSeed is groupPool's seed.
func groupsSeed() emulator.SeedPool {
	return emulator.SeedPool{
		ID:                groupPool,
		CaseSensitive:     aws.Bool(false),
		IdentityProviders: []emulator.SeedProvider{{Name: "Google", Type: "Google"}},
		Groups: []emulator.SeedGroup{
			{Name: "admins", Description: "who run it", Precedence: aws.Int32(1), RoleArn: adminsRole},
			{Name: "readers", Precedence: aws.Int32(5)},
			{Name: "staff"},
		},
		Users: []emulator.SeedUser{
			{Username: "Alice", Groups: []string{"staff", "admins", "readers"},
				Attributes: map[string]string{"phone_number": "+15550100"},
				MFA:        &emulator.SeedMFA{Preferred: "SOFTWARE_TOKEN_MFA", Enabled: []string{"SMS_MFA", "SOFTWARE_TOKEN_MFA"}}},
			{Username: "bob"},
			{Username: "Google_42", Federated: true, Groups: []string{"readers"}},
		},
	}
}

func groupsOf(t *testing.T, client *cip.Client, username string, limit int32) (names []string, pages int, err error) {
	t.Helper()
	in := &cip.AdminListGroupsForUserInput{UserPoolId: aws.String(groupPool), Username: aws.String(username), Limit: aws.Int32(limit)}
	for {
		out, err := client.AdminListGroupsForUser(t.Context(), in)
		if err != nil {
			return nil, pages, err
		}
		pages++
		for _, g := range out.Groups {
			names = append(names, *g.GroupName)
		}
		if out.NextToken == nil {
			return names, pages, nil
		}
		in.NextToken = out.NextToken
	}
}

func TestAdminListGroupsForUser(t *testing.T) {
	t.Parallel()
	_, client := startGroups(t, emulator.Options{})
	out, err := client.AdminListGroupsForUser(t.Context(), &cip.AdminListGroupsForUserInput{UserPoolId: aws.String(groupPool), Username: aws.String("ALICE")})
	check(t, err, want{})
	if len(out.Groups) != 3 || out.NextToken != nil {
		t.Fatalf("got %d groups, token %v; want alice's 3 in one page", len(out.Groups), out.NextToken)
	}
	admins := out.Groups[0]
	if *admins.GroupName != "admins" || *admins.UserPoolId != groupPool || *admins.Description != "who run it" || *admins.Precedence != 1 ||
		*admins.RoleArn != adminsRole || admins.CreationDate == nil || admins.LastModifiedDate == nil {
		t.Errorf("got %+v, want admins as seeded", admins)
	}
	if staff := out.Groups[2]; *staff.GroupName != "staff" || staff.Precedence != nil || staff.Description != nil || staff.RoleArn != nil {
		t.Errorf("got %+v, want staff without precedence, description or role", staff)
	}
	for _, tc := range []struct {
		username  string
		limit     int32
		want      []string
		wantPages int
	}{
		{"alice", 2, []string{"admins", "readers", "staff"}, 2},
		{"alice", 1, []string{"admins", "readers", "staff"}, 3},
		{"alice", 0, []string{"admins", "readers", "staff"}, 1},
		{"google_42", 60, []string{"readers"}, 1},
		{"bob", 60, nil, 1},
	} {
		got, pages, err := groupsOf(t, client, tc.username, tc.limit)
		check(t, err, want{})
		if !slices.Equal(got, tc.want) || pages != tc.wantPages {
			t.Errorf("%s, limit %d: got %v in %d pages, want %v in %d", tc.username, tc.limit, got, pages, tc.want, tc.wantPages)
		}
	}

	first, err := client.AdminListGroupsForUser(t.Context(), &cip.AdminListGroupsForUserInput{UserPoolId: aws.String(groupPool), Username: aws.String("alice"), Limit: aws.Int32(1)})
	check(t, err, want{})
	for _, tc := range []struct {
		name string
		in   *cip.AdminListGroupsForUserInput
		want want
	}{
		{"user missing", &cip.AdminListGroupsForUserInput{UserPoolId: aws.String(groupPool), Username: aws.String("nobody")}, want{"UserNotFoundException", msgUserNotFound, 404}},
		{"pool missing", &cip.AdminListGroupsForUserInput{UserPoolId: aws.String("us-east-1_Missing1"), Username: aws.String("alice")},
			want{"ResourceNotFoundException", "User pool us-east-1_Missing1 does not exist.", 404}},
		{"limit over 60", &cip.AdminListGroupsForUserInput{UserPoolId: aws.String(groupPool), Username: aws.String("alice"), Limit: aws.Int32(61)},
			want{"InvalidParameterException", "1 validation error detected: Value '61' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 60", 400}},
		{"another user's token", &cip.AdminListGroupsForUserInput{UserPoolId: aws.String(groupPool), Username: aws.String("google_42"), NextToken: first.NextToken},
			want{"InvalidParameterException", "", 400}},
		{"garbage token", &cip.AdminListGroupsForUserInput{UserPoolId: aws.String(groupPool), Username: aws.String("alice"), NextToken: aws.String("xyz")},
			want{"InvalidParameterException", "", 400}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client.AdminListGroupsForUser(t.Context(), tc.in)
			check(t, err, tc.want)
		})
	}
}

func TestAdminAddUserToGroup(t *testing.T) {
	t.Parallel()
	srv, client := startGroups(t, emulator.Options{})
	add := func(username, group string) error {
		_, err := client.AdminAddUserToGroup(t.Context(), &cip.AdminAddUserToGroupInput{UserPoolId: aws.String(groupPool), Username: aws.String(username), GroupName: aws.String(group)})
		return err
	}
	check(t, add("BOB", "staff"), want{})
	check(t, add("bob", "admins"), want{})
	check(t, add("bob", "staff"), want{}) // already in it: nothing changes
	if got, ok := srv.Groups(groupPool, "Bob"); !ok || !slices.Equal(got, []string{"admins", "staff"}) {
		t.Errorf("got bob's groups %v, %t; want admins, staff", got, ok)
	}
	check(t, add("bob", "nope"), want{"ResourceNotFoundException", "Group not found.", 404})
	check(t, add("nobody", "staff"), want{"UserNotFoundException", msgUserNotFound, 404})

	// A user belongs to at most 100 groups (doc).
	var groups []emulator.SeedGroup
	var names []string
	for i := range 101 {
		groups = append(groups, emulator.SeedGroup{Name: fmt.Sprintf("g%03d", i)})
		names = append(names, fmt.Sprintf("g%03d", i))
	}
	err := srv.Load(emulator.Seed{UserPools: []emulator.SeedPool{{ID: "us-east-1_Many1", Groups: groups, Users: []emulator.SeedUser{{Username: "u", Groups: names[:100]}}}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = client.AdminAddUserToGroup(t.Context(), &cip.AdminAddUserToGroupInput{UserPoolId: aws.String("us-east-1_Many1"), Username: aws.String("u"), GroupName: aws.String("g100")})
	check(t, err, want{"InvalidParameterException", "A user can belong to at most 100 groups.", 400})
	err = emulator.New(emulator.Options{}).Load(emulator.Seed{UserPools: []emulator.SeedPool{{ID: "us-east-1_Many1", Groups: groups, Users: []emulator.SeedUser{{Username: "u", Groups: names}}}}})
	if err == nil || !strings.Contains(err.Error(), "in 101 groups: at most 100") {
		t.Errorf("a seeded user in 101 groups: got %v", err)
	}
}

func TestSeedGroupErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		pool emulator.SeedPool
		want string
	}{
		{"group twice", emulator.SeedPool{ID: "us-east-1_A", Groups: []emulator.SeedGroup{{Name: "a"}, {Name: "a"}}}, `group "a": listed twice`},
		{"bad group name", emulator.SeedPool{ID: "us-east-1_A", Groups: []emulator.SeedGroup{{Name: ""}}}, "not a valid group name"},
		{"negative precedence", emulator.SeedPool{ID: "us-east-1_A", Groups: []emulator.SeedGroup{{Name: "a", Precedence: aws.Int32(-1)}}}, "precedence -1"},
		{"bad role", emulator.SeedPool{ID: "us-east-1_A", Groups: []emulator.SeedGroup{{Name: "a", RoleArn: "admins"}}}, `role_arn "admins"`},
		{"unknown group", emulator.SeedPool{ID: "us-east-1_A", Users: []emulator.SeedUser{{Username: "u", Groups: []string{"x"}}}}, `group "x" is not one of the pool's`},
		{"unknown MFA", emulator.SeedPool{ID: "us-east-1_A", Users: []emulator.SeedUser{{Username: "u", MFA: &emulator.SeedMFA{Enabled: []string{"PUSH"}}}}}, `MFA "PUSH"`},
		{"preferred MFA not enabled", emulator.SeedPool{ID: "us-east-1_A", Users: []emulator.SeedUser{{Username: "u", MFA: &emulator.SeedMFA{Preferred: "SMS_MFA"}}}}, "preferred MFA SMS_MFA is not enabled"},
	} {
		if err := emulator.New(emulator.Options{}).Load(emulator.Seed{UserPools: []emulator.SeedPool{tc.pool}}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error with %q", tc.name, err, tc.want)
		}
	}
}

func TestAdminGetUserWhole(t *testing.T) {
	t.Parallel()
	_, client := startGroups(t, emulator.Options{})
	alice, err := client.AdminGetUser(t.Context(), &cip.AdminGetUserInput{UserPoolId: aws.String(groupPool), Username: aws.String("alice")})
	check(t, err, want{})
	if *alice.Username != "alice" || !alice.Enabled || alice.UserStatus != types.UserStatusTypeConfirmed ||
		alice.UserCreateDate == nil || alice.UserLastModifiedDate == nil || attributes(alice.UserAttributes)["phone_number"] != "+15550100" {
		t.Errorf("got %+v", alice)
	}
	if alice.PreferredMfaSetting == nil || *alice.PreferredMfaSetting != "SOFTWARE_TOKEN_MFA" ||
		!slices.Equal(alice.UserMFASettingList, []string{"SMS_MFA", "SOFTWARE_TOKEN_MFA"}) {
		t.Errorf("got MFA %v, %v; want SOFTWARE_TOKEN_MFA preferred, SMS_MFA and SOFTWARE_TOKEN_MFA", alice.PreferredMfaSetting, alice.UserMFASettingList)
	}
	if len(alice.MFAOptions) != 1 || alice.MFAOptions[0].DeliveryMedium != types.DeliveryMediumTypeSms || *alice.MFAOptions[0].AttributeName != "phone_number" {
		t.Errorf("got MFAOptions %+v, want SMS to phone_number", alice.MFAOptions)
	}
	bob, err := client.AdminGetUser(t.Context(), &cip.AdminGetUserInput{UserPoolId: aws.String(groupPool), Username: aws.String("bob")})
	check(t, err, want{})
	if bob.PreferredMfaSetting != nil || bob.UserMFASettingList != nil || bob.MFAOptions != nil {
		t.Errorf("bob: got MFA %v, %v, %v; want none", bob.PreferredMfaSetting, bob.UserMFASettingList, bob.MFAOptions)
	}
	// ListUsers shows MFAOptions too.
	out, err := client.ListUsers(t.Context(), &cip.ListUsersInput{UserPoolId: aws.String(groupPool), Filter: aws.String(`username = "alice"`)})
	check(t, err, want{})
	if len(out.Users) != 1 || len(out.Users[0].MFAOptions) != 1 {
		t.Errorf("got %+v, want alice with her MFAOptions", out.Users)
	}
}

func TestAdminUserGlobalSignOut(t *testing.T) {
	t.Parallel()
	srv, client := startGroups(t, emulator.Options{})
	signOut := func(pool, username string) error {
		_, err := client.AdminUserGlobalSignOut(t.Context(), &cip.AdminUserGlobalSignOutInput{UserPoolId: aws.String(pool), Username: aws.String(username)})
		return err
	}
	before, _ := client.AdminGetUser(t.Context(), &cip.AdminGetUserInput{UserPoolId: aws.String(groupPool), Username: aws.String("google_42")})
	check(t, signOut(groupPool, "GOOGLE_42"), want{})
	check(t, signOut(groupPool, "google_42"), want{}) // again: nothing to revoke, and no error
	check(t, signOut(groupPool, "nobody"), want{"UserNotFoundException", msgUserNotFound, 404})
	check(t, signOut("us-east-1_Missing1", "alice"), want{"ResourceNotFoundException", "User pool us-east-1_Missing1 does not exist.", 404})
	after, _ := client.AdminGetUser(t.Context(), &cip.AdminGetUserInput{UserPoolId: aws.String(groupPool), Username: aws.String("google_42")})
	if !after.UserLastModifiedDate.Equal(*before.UserLastModifiedDate) {
		t.Errorf("signing out changed the user's date: %v, then %v", before.UserLastModifiedDate, after.UserLastModifiedDate)
	}
	want := map[emulator.UserRef]emulator.CallCount{
		{PoolID: groupPool, Username: "google_42"}:        {Received: 2, Applied: 2},
		{PoolID: groupPool, Username: "nobody"}:           {Received: 1, Applied: 0},
		{PoolID: "us-east-1_Missing1", Username: "alice"}: {Received: 1, Applied: 0},
	}
	if got := srv.UserCalls("AdminUserGlobalSignOut"); !maps.Equal(got, want) {
		t.Errorf("got sign-outs %v, want %v", got, want)
	}
}

func TestUserCallsDelete(t *testing.T) {
	t.Parallel()
	clk := newClock() // stands still: a write quota of 1 admits one call, then throttles
	srv, client := serve(t, emulator.NewServerAt(emulator.Options{}, clk.now))
	del := func(username string) func() error {
		return func() error {
			_, err := client.AdminDeleteUser(t.Context(), &cip.AdminDeleteUserInput{UserPoolId: aws.String(poolID), Username: aws.String(username)})
			return err
		}
	}
	reconfigure := func(edit func(*emulator.Options)) func() error {
		return func() error { return srv.Reconfigure(edit) }
	}
	for i, step := range []struct {
		call  func() error
		fails bool
	}{
		{del("alice"), false},
		{del("alice"), true}, // gone
		{reconfigure(func(o *emulator.Options) { o.FaultLost = 1 }), false},
		{del("bob"), true}, // carried out, answer lost
		{reconfigure(func(o *emulator.Options) { o.FaultLost, o.Fault5xxAfter = 0, 1 }), false},
		{del("carol"), true}, // carried out, answered 500
		{reconfigure(func(o *emulator.Options) { o.Fault5xxAfter, o.Fault5xx = 0, 1 }), false},
		{del("dave"), true}, // answered 500, not carried out
		{reconfigure(func(o *emulator.Options) { o.Fault5xx, o.WriteQuota = 0, 1 }), false},
		{del("dave"), false},
		{del("Google_1234"), true}, // throttled
	} {
		if err := step.call(); (err != nil) != step.fails {
			t.Fatalf("step %d: got %v, want failure %t", i, err, step.fails)
		}
	}
	ref := func(username string) emulator.UserRef { return emulator.UserRef{PoolID: poolID, Username: username} }
	want := map[emulator.UserRef]emulator.CallCount{
		ref("alice"):       {Received: 2, Applied: 1},
		ref("bob"):         {Received: 1, Applied: 1},
		ref("carol"):       {Received: 1, Applied: 1},
		ref("dave"):        {Received: 2, Applied: 1},
		ref("Google_1234"): {Received: 1, Applied: 0},
	}
	if got := srv.UserCalls("AdminDeleteUser"); !maps.Equal(got, want) {
		t.Errorf("got deletes %v, want %v", got, want)
	}
	if got := srv.UserCalls("AdminLinkProviderForUser"); len(got) != 0 {
		t.Errorf("links: got %v, want none: they name identities (IdentityCalls)", got)
	}
}
