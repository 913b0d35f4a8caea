package emulator_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

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
	aws := func(args ...string) (stdout, stderr string, err error) {
		args = append([]string{"cognito-idp"}, args...)
		args = append(args, "--endpoint-url", srv.URL, "--region", "us-east-1", "--output", "json", "--user-pool-id", poolID)
		cmd := exec.CommandContext(t.Context(), "aws", args...)
		cmd.Env = env
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err = cmd.Run()
		return out.String(), errOut.String(), err
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
