package emulator_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulklink/bulklink/emulator"
)

// TestAWSCLI checks the protocol with an independent client, the AWS CLI (botocore): it
// links, meets the repeat answer, reads the link back and the attribute mapping of a
// provider. Each invocation takes about
// half a second.
func TestAWSCLI(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("the AWS CLI (aws) is not on PATH: skipping the independent-client check")
	}
	srv, _ := start(t, emulator.Options{})
	aws := func(args ...string) (stdout, stderr string, err error) {
		return runAWS(t, srv.URL, append(append([]string{"cognito-idp"}, args...), "--user-pool-id", poolID)...)
	}

	link := []string{"admin-link-provider-for-user",
		"--destination-user", "ProviderName=Cognito,ProviderAttributeValue=alice",
		"--source-user", "ProviderName=Google,ProviderAttributeName=Cognito_Subject,ProviderAttributeValue=g-cli"}
	if _, stderr, err := aws(link...); err != nil {
		t.Fatalf("link: %v: %s", err, stderr)
	}
	// The repeat and the read are independent: run them together to save a second.
	var repeat, get struct {
		stdout, stderr string
		err            error
	}
	var describe struct {
		stdout, stderr string
		err            error
	}
	var wg sync.WaitGroup
	wg.Go(func() { repeat.stdout, repeat.stderr, repeat.err = aws(link...) })
	wg.Go(func() { get.stdout, get.stderr, get.err = aws("admin-get-user", "--username", "alice") })
	wg.Go(func() {
		describe.stdout, describe.stderr, describe.err = aws("describe-identity-provider", "--provider-name", "Okta")
	})
	wg.Wait()

	if describe.err != nil {
		t.Fatalf("describe-identity-provider: %v: %s", describe.err, describe.stderr)
	}
	var okta struct {
		IdentityProvider struct {
			ProviderName, ProviderType string
			AttributeMapping           map[string]string
		}
	}
	if err := json.Unmarshal([]byte(describe.stdout), &okta); err != nil {
		t.Fatalf("describe-identity-provider printed %q: %v", describe.stdout, err)
	}
	if p := okta.IdentityProvider; p.ProviderType != "SAML" || len(p.AttributeMapping) != 1 || p.AttributeMapping["email"] != emailClaim {
		t.Errorf("describe-identity-provider: got %s, want Okta, SAML, mapping email to %s", describe.stdout, emailClaim)
	}

	if repeat.err == nil || !strings.Contains(repeat.stderr, "(InvalidParameterException)") || !strings.Contains(repeat.stderr, msgAlreadyLinked) {
		t.Errorf("link again: got %v, stderr %q; want InvalidParameterException: %s", repeat.err, repeat.stderr, msgAlreadyLinked)
	}
	if get.err != nil {
		t.Fatalf("admin-get-user: %v: %s", get.err, get.stderr)
	}
	var user struct {
		Username       string
		UserStatus     string
		Enabled        bool
		UserCreateDate float64 // seconds since the epoch, as the protocol carries it
		UserAttributes []struct{ Name, Value string }
	}
	if err := json.Unmarshal([]byte(get.stdout), &user); err != nil {
		t.Fatalf("admin-get-user printed %q: %v", get.stdout, err)
	}
	var identities []map[string]any
	for _, a := range user.UserAttributes {
		if a.Name == "identities" {
			if err := json.Unmarshal([]byte(a.Value), &identities); err != nil {
				t.Fatalf("identities %q: %v", a.Value, err)
			}
		}
	}
	if user.Username != "alice" || user.UserStatus != "CONFIRMED" || !user.Enabled || user.UserCreateDate == 0 ||
		len(identities) != 1 || identities[0]["userId"] != "g-cli" || identities[0]["providerName"] != "Google" {
		t.Errorf("admin-get-user: got %s, want alice, CONFIRMED, enabled, linked to Google's g-cli", get.stdout)
	}
	if got := srv.Calls("AdminLinkProviderForUser"); got != 2 {
		t.Errorf("got %d link calls, want 2: the CLI must not retry", got)
	}
}

// runAWS runs the AWS CLI against url with dummy credentials, no retries and a clean
// configuration, and returns what it printed; it skips the test where there is no AWS CLI.
func runAWS(t *testing.T, url string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("the AWS CLI (aws) is not on PATH: skipping the independent-client check")
	}
	dir := t.TempDir()
	env := []string{
		"AWS_ACCESS_KEY_ID=AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY=x",
		"AWS_MAX_ATTEMPTS=1", "AWS_RETRY_MODE=standard", "AWS_PAGER=",
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
	}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	cmd := exec.CommandContext(t.Context(), "aws", append(args, "--endpoint-url", url, "--region", "us-east-1", "--output", "json")...)
	cmd.Env = env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// cliResult is what an AWS CLI command printed, and how it ended.
type cliResult struct {
	stdout, stderr string
	err            error
}

// runAWSAll runs AWS CLI commands against url at once (each costs the CLI a second or so of
// CPU), and returns what each printed, by name.
func runAWSAll(t *testing.T, url string, commands map[string][]string) map[string]*cliResult {
	t.Helper()
	results := make(map[string]*cliResult)
	var wg sync.WaitGroup
	for name, args := range commands {
		r := new(cliResult)
		results[name] = r
		wg.Go(func() { r.stdout, r.stderr, r.err = runAWS(t, url, args...) })
	}
	wg.Wait()
	return results
}

// TestAWSCLIQuotasAndUsage reads the account's quota and usage with the AWS CLI, whose
// botocore speaks AWS JSON 1.1 to Service Quotas and AWS JSON 1.0 to CloudWatch, and
// meets a CloudWatch error. Each call costs the CLI a second or two of CPU, CloudWatch's
// large model included: ListMetrics is left to the SDK's test.
func TestAWSCLIQuotasAndUsage(t *testing.T) {
	t.Parallel()
	srv, client := start(t, emulator.Options{WriteQuota: 30})
	for i := range 3 {
		_, err := client.AdminLinkProviderForUser(t.Context(), linkInput("Cognito", "alice", "Google", "Cognito_Subject", fmt.Sprint("g", i)))
		check(t, err, want{})
	}
	now := time.Now().UTC()
	queries := `[{"Id":"calls","MetricStat":{"Metric":{"Namespace":"AWS/Usage","MetricName":"CallCount","Dimensions":[` +
		`{"Name":"Service","Value":"Cognito User Pools"},{"Name":"Type","Value":"API"},{"Name":"Resource","Value":"UserUpdate"},{"Name":"Class","Value":"None"}]},` +
		`"Period":300,"Stat":"Sum"}}]`
	commands := map[string][]string{
		"quota": {"service-quotas", "get-service-quota", "--service-code", "cognito-idp", "--quota-code", "L-E0000001"},
		"usage": {"cloudwatch", "get-metric-data", "--metric-data-queries", queries,
			"--start-time", now.Add(-10 * time.Minute).Format(time.RFC3339), "--end-time", now.Add(time.Minute).Format(time.RFC3339)},
		"error": {"cloudwatch", "get-metric-data", "--metric-data-queries", strings.Replace(queries, `"Period":300`, `"Period":90`, 1), "--start-time", now.Add(-time.Hour).Format(time.RFC3339), "--end-time", now.Format(time.RFC3339)},
	}
	results := runAWSAll(t, srv.URL, commands)
	for name, r := range results {
		if name != "error" && r.err != nil {
			t.Fatalf("%s: %v: %s", name, r.err, r.stderr)
		}
	}

	var quota struct {
		Quota struct {
			QuotaName string
			Value     float64
		}
	}
	if err := json.Unmarshal([]byte(results["quota"].stdout), &quota); err != nil || quota.Quota.QuotaName != "Rate of UserUpdate requests" || quota.Quota.Value != 30 {
		t.Errorf("get-service-quota: got %s (%v), want UserUpdate at 30", results["quota"].stdout, err)
	}
	var usage struct {
		MetricDataResults []struct {
			Id         string
			Timestamps []float64
			Values     []float64
		}
	}
	if err := json.Unmarshal([]byte(results["usage"].stdout), &usage); err != nil || len(usage.MetricDataResults) != 1 ||
		len(usage.MetricDataResults[0].Values) == 0 || usage.MetricDataResults[0].Values[0]+valueAt(usage.MetricDataResults[0].Values, 1) != 3 {
		t.Errorf("get-metric-data: got %s (%v), want the 3 links", results["usage"].stdout, err)
	}
	if r := results["error"]; r.err == nil || !strings.Contains(r.stderr, "(InvalidParameterValue)") {
		t.Errorf("get-metric-data with a period of 90s: got %v, %s; want InvalidParameterValue", r.err, r.stderr)
	}
}

// valueAt returns xs[i], or 0 past its end: a window may straddle two periods.
func valueAt(xs []float64, i int) float64 {
	if i < len(xs) {
		return xs[i]
	}
	return 0
}

// TestAWSCLIUsers reads users with the AWS CLI, whose botocore follows ListUsers' and
// AdminListGroupsForUser's tokens itself: filters, pages, attributes, groups, a sign-out
// and a case-insensitive pool's configuration.
func TestAWSCLIUsers(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("the AWS CLI (aws) is not on PATH: skipping the independent-client check")
	}
	srv, _ := start(t, emulator.Options{}, listSeed(), groupsSeed())
	commands := map[string][]string{
		"filter, pages of one": {"cognito-idp", "list-users", "--user-pool-id", listPool, "--filter", `email ^= "ALICE@"`,
			"--attributes-to-get", "email", "--page-size", "1"},
		"pages of two":       {"cognito-idp", "list-users", "--user-pool-id", listPool, "--page-size", "2"},
		"disabled":           {"cognito-idp", "list-users", "--user-pool-id", listPool, "--filter", `status = "Disabled"`},
		"not searchable":     {"cognito-idp", "list-users", "--user-pool-id", listPool, "--filter", `email_verified = "true"`},
		"attribute missing":  {"cognito-idp", "list-users", "--user-pool-id", listPool, "--attributes-to-get", "email_verified"},
		"groups, one a page": {"cognito-idp", "admin-list-groups-for-user", "--user-pool-id", groupPool, "--username", "ALICE", "--page-size", "1"},
		"sign out":           {"cognito-idp", "admin-user-global-sign-out", "--user-pool-id", groupPool, "--username", "Google_42"},
		"describe":           {"cognito-idp", "describe-user-pool", "--user-pool-id", groupPool},
	}
	results := runAWSAll(t, srv.URL, commands)
	decode := func(name string, v any) {
		t.Helper()
		r := results[name]
		if r.err != nil {
			t.Fatalf("%s: %v: %s", name, r.err, r.stderr)
		}
		if err := json.Unmarshal([]byte(r.stdout), v); err != nil {
			t.Fatalf("%s printed %q: %v", name, r.stdout, err)
		}
	}
	type cliUsers struct {
		Users []struct {
			Username   string
			Enabled    bool
			UserStatus string
			Attributes []struct{ Name, Value string }
		}
	}
	usernames := func(u cliUsers) []string {
		var names []string
		for _, x := range u.Users {
			names = append(names, x.Username)
		}
		return names
	}

	var filtered cliUsers
	decode("filter, pages of one", &filtered)
	if got := usernames(filtered); !slices.Equal(got, []string{"Google_1", "alice"}) {
		t.Errorf("filter, pages of one: got %v, want Google_1 and alice", got)
	}
	for _, u := range filtered.Users {
		if len(u.Attributes) != 1 || u.Attributes[0].Name != "email" {
			t.Errorf("filter, pages of one: %s has %v, want its email only", u.Username, u.Attributes)
		}
	}
	var paged cliUsers
	decode("pages of two", &paged)
	if got := usernames(paged); !slices.Equal(got, []string{"Google_1", "alice", "bob", "carol", "dave", "quote"}) {
		t.Errorf("pages of two: got %v, want every user once", got)
	}
	var disabled cliUsers
	decode("disabled", &disabled)
	if len(disabled.Users) != 1 || disabled.Users[0].Username != "bob" || disabled.Users[0].Enabled {
		t.Errorf("disabled: got %+v, want bob, disabled", disabled.Users)
	}
	for name, msg := range map[string]string{
		"not searchable":    "Invalid search attribute: email_verified is not searchable.",
		"attribute missing": "Input fails to satisfy the constraints.",
	} {
		if r := results[name]; r.err == nil || !strings.Contains(r.stderr, "(InvalidParameterException)") || !strings.Contains(r.stderr, msg) {
			t.Errorf("%s: got %v, %q; want InvalidParameterException: %s", name, r.err, r.stderr, msg)
		}
	}

	var groups struct {
		Groups []struct{ GroupName, RoleArn string }
	}
	decode("groups, one a page", &groups)
	if len(groups.Groups) != 3 || groups.Groups[0].GroupName != "admins" || groups.Groups[0].RoleArn != adminsRole ||
		groups.Groups[1].GroupName != "readers" || groups.Groups[2].GroupName != "staff" {
		t.Errorf("groups: got %+v, want admins, readers, staff", groups.Groups)
	}
	if r := results["sign out"]; r.err != nil {
		t.Errorf("sign out: %v: %s", r.err, r.stderr)
	}
	if got := srv.UserCalls("AdminUserGlobalSignOut")[emulator.UserRef{PoolID: groupPool, Username: "google_42"}]; got != (emulator.CallCount{Received: 1, Applied: 1}) {
		t.Errorf("sign out: got %+v, want one call carried out", got)
	}
	var described struct {
		UserPool struct{ UsernameConfiguration *struct{ CaseSensitive bool } }
	}
	decode("describe", &described)
	if c := described.UserPool.UsernameConfiguration; c == nil || c.CaseSensitive {
		t.Errorf("describe: got %s, want UsernameConfiguration.CaseSensitive false", results["describe"].stdout)
	}
	if got := srv.Calls("ListUsers"); got != 2+3+1+1+1 {
		t.Errorf("got %d ListUsers calls, want 8: two pages of one, three of two, three single calls", got)
	}
}
