package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"
	"github.com/spf13/pflag"

	"github.com/bulklink/bulklink/emulator"
)

// End-to-end tests of `bulklink emulate`: the real binary, driven by clients nobody here
// wrote, the AWS CLI (botocore) and aws-sdk-go-v2.

// emulateProcess is `bulklink emulate` running as a subprocess.
type emulateProcess struct {
	url     string
	cmd     *exec.Cmd
	drained chan struct{} // stdout is read to its end: the process has exited
	stdout  bytes.Buffer  // after the first line; read only once the process has exited
	stderr  bytes.Buffer  // read only once the process has exited
	stopped sync.Once
}

// stopWithin is how soon `bulklink emulate` must exit after Ctrl-C.
const stopWithin = 3 * time.Second

// startEmulate runs `bulklink emulate` on a free loopback port with seed (JSON; "" for
// none) and flags, and returns once it serves. Its cleanup stops it as Ctrl-C does.
func startEmulate(t *testing.T, seed string, flags ...string) *emulateProcess {
	t.Helper()
	dir := t.TempDir()
	addrFile := filepath.Join(dir, "addr")
	args := []string{"emulate", "--listen", "127.0.0.1:0", "--addr-file", addrFile, "--log-format", "json"}
	if seed != "" {
		path := filepath.Join(dir, "seed.json")
		if err := os.WriteFile(path, []byte(seed), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--seed", path)
	}
	p := &emulateProcess{cmd: exec.Command(binary, append(args, flags...)...), drained: make(chan struct{})}
	p.cmd.Env = cleanEnv()
	p.cmd.Stderr = &p.stderr
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start bulklink emulate: %v", err)
	}
	t.Cleanup(func() { p.stop(t) })

	// The first line says where it serves, once the address file is written: no polling.
	first := make(chan string, 1)
	go func() {
		defer close(p.drained)
		r := bufio.NewReader(stdout)
		line, _ := r.ReadString('\n')
		first <- line
		io.Copy(&p.stdout, r)
	}()
	select {
	case line := <-first:
		url, ok := strings.CutPrefix(strings.TrimSpace(line), "bulklink emulate: serving Cognito on ")
		if !ok {
			p.stopped.Do(func() {
				<-p.drained
				p.cmd.Wait()
			})
			t.Fatalf("bulklink emulate %s: printed %q, want its address; stderr:\n%s", strings.Join(flags, " "), line, p.stderr.String())
		}
		p.url = url
	case <-time.After(10 * time.Second):
		t.Fatal("bulklink emulate printed no address within 10s")
	}
	if got, err := os.ReadFile(addrFile); err != nil || string(got) != p.url+"\n" {
		t.Fatalf("--addr-file holds %q (%v), want %q", got, err, p.url+"\n")
	}
	return p
}

// stop interrupts the emulator as Ctrl-C does, checks that it exits 0 within stopWithin, and
// returns what it logged. Only the first call stops it; the others return the same logs.
func (p *emulateProcess) stop(t *testing.T) string {
	t.Helper()
	p.stopped.Do(func() {
		if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
			t.Errorf("interrupt bulklink emulate: %v", err)
		}
		exited := make(chan error, 1)
		go func() {
			<-p.drained
			exited <- p.cmd.Wait()
		}()
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("bulklink emulate after Ctrl-C: got %v, want exit status 0; stderr:\n%s", err, tail(p.stderr.String(), 3000))
			}
		case <-time.After(stopWithin):
			p.cmd.Process.Kill()
			<-exited
			t.Errorf("bulklink emulate still ran %v after Ctrl-C", stopWithin)
		}
	})
	return p.stderr.String()
}

// client returns an aws-sdk-go-v2 client for the emulator that does not retry, so that every
// answer reaches the test.
func (p *emulateProcess) client() *cip.Client {
	return cip.New(cip.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(p.url),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIATEST", "secret", ""),
		Retryer:      aws.NopRetryer{},
	})
}

// The AWS CLI

// awsCLI runs `aws cognito-idp` against an emulator.
type awsCLI struct {
	url   string
	env   []string
	calls *tally // of the operations run, shared by copies
}

// tally counts calls by operation.
type tally struct {
	mu sync.Mutex
	n  map[string]int
}

func (t *tally) add(op string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.n[op]++
}

// newAWSCLI returns an AWS CLI for the emulator, or skips the test where there is none. The
// CLI gets dummy credentials, no retries (it would retry throttles and faults), and prints
// timestamps in ISO 8601, as both its major versions can.
func newAWSCLI(t *testing.T, url string) awsCLI {
	t.Helper()
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("the AWS CLI (aws) is not on PATH: install it to check the emulator against an independent client")
	}
	config := writeFile(t, "aws-config", "[default]\ncli_timestamp_format = iso8601\n")
	return awsCLI{url: url, calls: &tally{n: make(map[string]int)}, env: append(cleanEnv(),
		"AWS_CONFIG_FILE="+config, "AWS_ACCESS_KEY_ID=AKIATEST", "AWS_SECRET_ACCESS_KEY=secret",
		"AWS_MAX_ATTEMPTS=1", "AWS_RETRY_MODE=standard", "AWS_PAGER=")}
}

// signedWith returns the CLI signing its calls with another access key ID.
func (c awsCLI) signedWith(accessKeyID string) awsCLI {
	c.env = append(slices.Clip(c.env), "AWS_ACCESS_KEY_ID="+accessKeyID)
	return c
}

// cliResult is how one AWS CLI call ended.
type cliResult struct {
	op             string // the API operation called, e.g. AdminGetUser
	exit           int
	stdout, stderr string
}

// operation returns the API operation of an AWS CLI command: admin-get-user calls AdminGetUser.
func operation(command string) string {
	var b strings.Builder
	for word := range strings.SplitSeq(command, "-") {
		b.WriteString(strings.ToUpper(word[:1]) + word[1:])
	}
	return b.String()
}

// run runs `aws cognito-idp args...` and waits for it.
func (c awsCLI) run(t *testing.T, args ...string) cliResult {
	t.Helper()
	args = append([]string{"cognito-idp"}, args...)
	args = append(args, "--endpoint-url", c.url, "--region", "us-east-1", "--output", "json")
	c.calls.add(operation(args[1]))
	cmd := exec.CommandContext(t.Context(), "aws", args...)
	cmd.Env = c.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := cliResult{op: operation(args[1]), stdout: stdout.String(), stderr: stderr.String()}
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		res.exit = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("aws %s: %v", strings.Join(args, " "), err)
	}
	return res
}

// ok checks that the call succeeded and decodes what it printed into out; a nil out means
// the call prints nothing, as for operations that answer {}.
func (r cliResult) ok(t *testing.T, out any) {
	t.Helper()
	if r.exit != 0 {
		t.Fatalf("got exit status %d, want 0; stderr: %s", r.exit, r.stderr)
	}
	if out == nil {
		if r.stdout != "" {
			t.Errorf("printed %q, want nothing", r.stdout)
		}
		return
	}
	if err := json.Unmarshal([]byte(r.stdout), out); err != nil {
		t.Fatalf("printed %q: %v", r.stdout, err)
	}
}

// cliError is how the CLI reports an error answer on stderr; version 1 adds the retries.
var cliError = regexp.MustCompile(`An error occurred \((\w+)\) when calling the (\w+) operation(?: \(reached max retries: \d+\))?: (.*)`)

// failed checks that the service answered the error code with the message, and that the
// CLI exited as it does for errors the service answers.
func (r cliResult) failed(t *testing.T, code, message string) {
	t.Helper()
	m := cliError.FindStringSubmatch(r.stderr)
	if m == nil {
		t.Fatalf("got exit status %d, stdout %q, stderr %q; want %s", r.exit, r.stdout, r.stderr, code)
	}
	if m[1] != code || m[2] != r.op || m[3] != message {
		t.Errorf("got %s from %s: %q, want %s from %s: %q", m[1], m[2], m[3], code, r.op, message)
	}
	if want := serviceErrorExit(t); r.exit != want {
		t.Errorf("got exit status %d, want %d", r.exit, want)
	}
}

// connectionClosed checks that the CLI saw the connection close before an answer.
func (r cliResult) connectionClosed(t *testing.T) {
	t.Helper()
	if !strings.Contains(r.stderr, "Connection was closed before we received a valid response") || r.exit != 255 {
		t.Errorf("got exit status %d, stderr %q; want 255 and a closed connection", r.exit, r.stderr)
	}
}

var awsVersion = sync.OnceValues(func() ([]byte, error) { return exec.Command("aws", "--version").CombinedOutput() })

// serviceErrorExit is the AWS CLI's exit status for an error the service answered: 254
// since version 2, 255 before.
func serviceErrorExit(t *testing.T) int {
	t.Helper()
	version, err := awsVersion()
	if err != nil {
		t.Fatalf("aws --version: %v: %s", err, version)
	}
	if bytes.HasPrefix(version, []byte("aws-cli/1.")) {
		return 255
	}
	return 254
}

// cliUser is a user as the CLI prints it: admin-get-user lists UserAttributes, list-users
// and admin-create-user Attributes.
type cliUser struct {
	Username       string
	UserAttributes []cliAttribute
	Attributes     []cliAttribute
	UserStatus     string
	Enabled        bool
	UserCreateDate time.Time
}

type cliAttribute struct{ Name, Value string }

func (u cliUser) attribute(name string) (string, bool) {
	for _, a := range slices.Concat(u.UserAttributes, u.Attributes) {
		if a.Name == name {
			return a.Value, true
		}
	}
	return "", false
}

// identity is an entry of an identities attribute.
type identity struct{ provider, providerType, userID string }

// checkIdentities checks a user's identities attribute, as the real service renders it, to
// the byte: the identities in want, linked between from and to.
func checkIdentities(t *testing.T, u cliUser, from, to time.Time, want ...identity) {
	t.Helper()
	value, ok := u.attribute("identities")
	if !ok {
		t.Fatalf("%s has no identities attribute, want %v", u.Username, want)
	}
	var entries []struct{ DateCreated int64 }
	if err := json.Unmarshal([]byte(value), &entries); err != nil {
		t.Fatalf("identities %q: %v", value, err)
	}
	if len(entries) != len(want) {
		t.Fatalf("identities %s: got %d entries, want %d", value, len(entries), len(want))
	}
	rendered := make([]string, len(want))
	for i, w := range want {
		created := entries[i].DateCreated
		if created < from.UnixMilli() || created > to.UnixMilli() {
			t.Errorf("identity %d created at %d, want between %d and %d", i, created, from.UnixMilli(), to.UnixMilli())
		}
		rendered[i] = fmt.Sprintf(`{"userId":%q,"providerName":%q,"providerType":%q,"issuer":null,"primary":false,"dateCreated":%d}`,
			w.userID, w.provider, w.providerType, created)
	}
	if want := "[" + strings.Join(rendered, ",") + "]"; value != want {
		t.Errorf("got identities\n%s\nwant\n%s", value, want)
	}
}

// linkArgs returns the arguments of an admin-link-provider-for-user call.
func linkArgs(pool, destination, provider, attribute, value string) []string {
	return []string{"admin-link-provider-for-user", "--user-pool-id", pool,
		"--destination-user", "ProviderName=Cognito,ProviderAttributeValue=" + destination,
		"--source-user", fmt.Sprintf("ProviderName=%s,ProviderAttributeName=%s,ProviderAttributeValue=%s", provider, attribute, value)}
}

func getUserArgs(pool, username string) []string {
	return []string{"admin-get-user", "--user-pool-id", pool, "--username", username}
}

// The messages Cognito was seen answering (docs/emulator.md).
const (
	msgCognitoSource = "Invalid SourceUser: Cognito users with a username/password may not be passed in as a SourceUser, only as a DestinationUser"
	msgMerging       = "Merging is not currently supported, provide a SourceUser that has not been signed up in order to link"
	msgAlreadyLinked = "SourceUser is already linked to DestinationUser"
	msgNotLinked     = "Account isn't linked to anyone else, verify that the account has been linked"
	msgUserNotFound  = "User does not exist."
)

const (
	cliPool  = "us-east-1_Example1"
	listPool = "us-east-1_Listing1" // read only: for filters and pages
	aliceSub = "4b0c6a52-86e6-4c3e-9a0b-1f2d3c4b5a69"
	cliSeed  = `{"user_pools": [{"id": "us-east-1_Example1",
  "identity_providers": [{"name": "Google", "type": "Google"}, {"name": "Okta", "type": "SAML",
    "attribute_mapping": {"email": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"}}],
  "immutable_attributes": ["custom:tenant"],
  "users": [
    {"username": "alice", "attributes": {"email": "alice@example.com"}},
    {"username": "bob", "identities": [{"provider": "Okta", "value": "bob@example.com"}]},
    {"username": "carol", "identities": [
      {"provider": "Google", "value": "c1"}, {"provider": "Google", "value": "c2"}, {"provider": "Google", "value": "c3"},
      {"provider": "Google", "value": "c4"}, {"provider": "Okta", "attribute": "email", "value": "carol@example.com"}]},
    {"username": "dave", "attributes": {"custom:tenant": "acme"}},
    {"username": "erin", "identities": [{"provider": "Okta", "value": "erin@example.com"}]},
    {"username": "frank"},
    {"username": "grace"},
    {"username": "Google_1234", "federated": true},
    {"username": "Google_5678", "federated": true}]},
 {"id": "us-east-1_Listing1",
  "users": [
    {"username": "alice", "attributes": {"sub": "4b0c6a52-86e6-4c3e-9a0b-1f2d3c4b5a69", "email": "alice@example.com"}},
    {"username": "alicia", "attributes": {"email": "alicia@example.com"}},
    {"username": "bob", "attributes": {"email": "bob@example.com"}},
    {"username": "carol"},
    {"username": "dave"}]}]}`
)

// TestEmulateAWSCLI drives `bulklink emulate` with the AWS CLI through every operation and
// every outcome of docs/emulator.md. Each call costs the CLI about half a second of CPU, so
// independent calls run in parallel; even so the walk takes a minute or more of both cores,
// so it runs with the long tests (BULKLINK_LONG_TESTS=1, as .ci/run sets it). The emulator
// package's own AWS CLI and JS SDK tests check the protocol in every run.
func TestEmulateAWSCLI(t *testing.T) {
	t.Parallel()
	if !longTests() {
		t.Skip("the AWS CLI walk through every operation is a long test: BULKLINK_LONG_TESTS=1 runs it, as .ci/run does")
	}
	emu := startEmulate(t, cliSeed, "--log-level", "debug",
		"--auth-error", "AKIAUNKNOWN=UnrecognizedClientException", "--auth-error", "AKIAEXPIRED=ExpiredTokenException",
		"--auth-error", "AKIADENIED=AccessDeniedException", "--auth-error", "AKIANOTAUTH=NotAuthorizedException")
	cli := newAWSCLI(t, emu.url)

	t.Run("outcomes", func(t *testing.T) {
		missing := func(args []string) []string {
			args = slices.Clone(args)
			args[slices.Index(args, "--user-pool-id")+1] = "us-east-1_Missing1"
			return args
		}
		poolMissing := "User pool us-east-1_Missing1 does not exist."
		link := func(destination, provider, attribute, value string) []string {
			return linkArgs(cliPool, destination, provider, attribute, value)
		}
		for _, tc := range []struct {
			name      string
			key       string // access key ID; default AKIATEST
			args      []string
			code, msg string
		}{
			// AdminLinkProviderForUser
			{name: "link: pool does not exist", args: missing(link("alice", "Google", "Cognito_Subject", "g")),
				code: "ResourceNotFoundException", msg: poolMissing},
			{name: "link: source is a Cognito user", args: link("alice", "Cognito", "Cognito_Subject", "bob"),
				code: "InvalidParameterException", msg: msgCognitoSource},
			{name: "link: destination missing", args: link("nobody", "Google", "Cognito_Subject", "g-nobody"),
				code: "UserNotFoundException", msg: msgUserNotFound},
			{name: "link: source already signed in", args: link("alice", "Google", "Cognito_Subject", "1234"),
				code: "InvalidParameterException", msg: msgMerging},
			{name: "link: same link again", args: link("bob", "Okta", "Cognito_Subject", "bob@example.com"),
				code: "InvalidParameterException", msg: msgAlreadyLinked},
			{name: "link: source linked to another user", args: link("alice", "Okta", "Cognito_Subject", "bob@example.com"),
				code: "InvalidParameterException", msg: msgAlreadyLinked},
			{name: "link: sixth identity", args: link("carol", "Google", "Cognito_Subject", "c6"),
				code: "LimitExceededException", msg: "Maximum number of identities (5) linked to DestinationUser reached"},
			{name: "link: provider not configured", args: link("alice", "Facebook", "Cognito_Subject", "f"),
				code: "InvalidParameterException", msg: "The provider Facebook does not exist for User Pool us-east-1_Example1."},
			{name: "link: immutable custom attribute", args: link("dave", "Google", "Cognito_Subject", "g-dave"),
				code: "InvalidParameterException", msg: "Invalid DestinationUser: a user with an immutable custom attribute (custom:tenant) cannot be linked"},
			{name: "link: source over 128 characters", args: link("alice", "Okta", "email", strings.Repeat("a", 120)+"@example.com"),
				code: "InvalidParameterException", msg: "Invalid SourceUser: ProviderName, ProviderAttributeName and ProviderAttributeValue must not exceed 128 characters in total"},
			{name: "link: provider name over 32 characters", args: link("alice", strings.Repeat("P", 33), "Cognito_Subject", "x"),
				code: "InvalidParameterException", msg: "1 validation error detected: Value '" + strings.Repeat("P", 33) +
					"' at 'sourceUser.providerName' failed to satisfy constraint: Member must have length less than or equal to 32"},

			// AdminDisableProviderForUser, AdminGetUser, AdminDeleteUser, AdminCreateUser
			{name: "unlink: not linked", args: []string{"admin-disable-provider-for-user", "--user-pool-id", cliPool,
				"--user", "ProviderName=Google,ProviderAttributeName=Cognito_Subject,ProviderAttributeValue=nobody"},
				code: "InvalidParameterException", msg: msgNotLinked},
			{name: "get: user missing", args: getUserArgs(cliPool, "nobody"), code: "UserNotFoundException", msg: msgUserNotFound},
			{name: "get: pool missing", args: missing(getUserArgs(cliPool, "alice")), code: "ResourceNotFoundException", msg: poolMissing},
			{name: "delete: user missing", args: []string{"admin-delete-user", "--user-pool-id", cliPool, "--username", "nobody"},
				code: "UserNotFoundException", msg: msgUserNotFound},
			{name: "create user: exists", args: []string{"admin-create-user", "--user-pool-id", cliPool, "--username", "alice"},
				code: "UsernameExistsException", msg: "User account already exists"},

			// ListUsers
			{name: "list users: bad filter", args: []string{"list-users", "--user-pool-id", listPool, "--filter", "email = bob"},
				code: "InvalidParameterException", msg: "Error while parsing filter."},
			{name: "list users: identities not searchable", args: []string{"list-users", "--user-pool-id", listPool, "--filter", `identities ^= "["`},
				code: "InvalidParameterException", msg: "Invalid search attribute: identities is not searchable."},
			{name: "list users: pool missing", args: []string{"list-users", "--user-pool-id", "us-east-1_Missing1"},
				code: "ResourceNotFoundException", msg: poolMissing},

			// Pools and identity providers
			{name: "describe pool: missing", args: []string{"describe-user-pool", "--user-pool-id", "us-east-1_Missing1"},
				code: "ResourceNotFoundException", msg: poolMissing},
			{name: "create provider: duplicate", args: []string{"create-identity-provider", "--user-pool-id", cliPool,
				"--provider-name", "Okta", "--provider-type", "SAML", "--provider-details", "MetadataURL=https://okta.example.com/metadata"},
				code: "DuplicateProviderException", msg: "A provider with the name Okta already exists in this user pool."},
			{name: "create provider: unknown type", args: []string{"create-identity-provider", "--user-pool-id", cliPool,
				"--provider-name", "Ldap", "--provider-type", "LDAP", "--provider-details", "url=ldap://example.com"},
				code: "InvalidParameterException", msg: "1 validation error detected: Value 'LDAP' at 'providerType' failed to satisfy constraint: " +
					"Member must satisfy enum value set: [SAML, Facebook, Google, LoginWithAmazon, SignInWithApple, OIDC]"},
			{name: "describe provider: missing", args: []string{"describe-identity-provider", "--user-pool-id", cliPool, "--provider-name", "Nope"},
				code: "ResourceNotFoundException", msg: "Identity provider Nope does not exist in user pool us-east-1_Example1."},
			{name: "list providers: pool missing", args: []string{"list-identity-providers", "--user-pool-id", "us-east-1_Missing1"},
				code: "ResourceNotFoundException", msg: poolMissing},

			// The protocol: an operation the emulator does not serve, and credentials.
			{name: "unknown operation", args: []string{"admin-disable-user", "--user-pool-id", cliPool, "--username", "alice"},
				code: "UnknownOperationException"},
			{name: "unrecognized client", key: "AKIAUNKNOWN", args: getUserArgs(cliPool, "alice"),
				code: "UnrecognizedClientException", msg: "The security token included in the request is invalid."},
			{name: "expired token", key: "AKIAEXPIRED", args: getUserArgs(cliPool, "alice"),
				code: "ExpiredTokenException", msg: "The security token included in the request is expired"},
			{name: "access denied", key: "AKIADENIED", args: link("alice", "Google", "Cognito_Subject", "g-denied"),
				code: "AccessDeniedException", msg: "User: arn:aws:iam::000000000000:user/AKIADENIED is not authorized to perform: " +
					"cognito-idp:AdminLinkProviderForUser on resource: arn:aws:cognito-idp:us-east-1:000000000000:userpool/us-east-1_Example1 " +
					"because no identity-based policy allows the cognito-idp:AdminLinkProviderForUser action"},
			{name: "not authorized", key: "AKIANOTAUTH", args: getUserArgs(cliPool, "alice"),
				code: "NotAuthorizedException", msg: "Access to the requested resource is not authorized."},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				c := cli
				if tc.key != "" {
					c = cli.signedWith(tc.key)
				}
				c.run(t, tc.args...).failed(t, tc.code, tc.msg)
			})
		}

		t.Run("link, read the link back, link again", func(t *testing.T) {
			t.Parallel()
			before := time.Now()
			cli.run(t, linkArgs(cliPool, "frank", "Google", "Cognito_Subject", "g-frank")...).ok(t, nil)
			after := time.Now()
			var frank cliUser
			cli.run(t, getUserArgs(cliPool, "frank")...).ok(t, &frank)
			if frank.Username != "frank" || frank.UserStatus != "CONFIRMED" || !frank.Enabled {
				t.Errorf("got %+v, want frank, CONFIRMED, enabled", frank)
			}
			checkIdentities(t, frank, before, after, identity{"Google", "Google", "g-frank"})
			cli.run(t, linkArgs(cliPool, "frank", "Google", "Cognito_Subject", "g-frank")...).failed(t, "InvalidParameterException", msgAlreadyLinked)
		})

		t.Run("undo, then nothing to undo", func(t *testing.T) {
			t.Parallel()
			unlink := []string{"admin-disable-provider-for-user", "--user-pool-id", cliPool,
				"--user", "ProviderName=Okta,ProviderAttributeName=Cognito_Subject,ProviderAttributeValue=erin@example.com"}
			cli.run(t, unlink...).ok(t, nil)
			var erin cliUser
			cli.run(t, getUserArgs(cliPool, "erin")...).ok(t, &erin)
			if v, ok := erin.attribute("identities"); ok {
				t.Errorf("erin still has identities %s", v)
			}
			cli.run(t, unlink...).failed(t, "InvalidParameterException", msgNotLinked)
		})

		t.Run("deleting a federated profile makes its identity linkable", func(t *testing.T) {
			t.Parallel()
			link := linkArgs(cliPool, "grace", "Google", "Cognito_Subject", "5678")
			cli.run(t, link...).failed(t, "InvalidParameterException", msgMerging)
			var profile cliUser
			cli.run(t, getUserArgs(cliPool, "Google_5678")...).ok(t, &profile)
			if profile.UserStatus != "EXTERNAL_PROVIDER" {
				t.Errorf("Google_5678: got status %s, want EXTERNAL_PROVIDER", profile.UserStatus)
			}
			if v, _ := profile.attribute("identities"); !strings.Contains(v, `"userId":"5678","providerName":"Google","providerType":"Google","issuer":null,"primary":true`) {
				t.Errorf("Google_5678: got identities %s, want its own Google identity, primary", v)
			}
			cli.run(t, "admin-delete-user", "--user-pool-id", cliPool, "--username", "Google_5678").ok(t, nil)
			cli.run(t, link...).ok(t, nil)
			cli.run(t, getUserArgs(cliPool, "Google_5678")...).failed(t, "UserNotFoundException", msgUserNotFound)
		})

		t.Run("list users by filter", func(t *testing.T) {
			t.Parallel()
			for _, tc := range []struct {
				filter string
				want   []string
			}{
				{`username = "alice"`, []string{"alice"}},
				{`username ^= "ali"`, []string{"alice", "alicia"}},
				{`sub = "` + aliceSub + `"`, []string{"alice"}},
				{`email = "bob@example.com"`, []string{"bob"}},
				{`email ^= "ali"`, []string{"alice", "alicia"}},
				{`email = "nobody@example.com"`, nil},
			} {
				var out struct{ Users []cliUser }
				cli.run(t, "list-users", "--user-pool-id", listPool, "--filter", tc.filter).ok(t, &out)
				if got := usernames(out.Users); !slices.Equal(got, tc.want) {
					t.Errorf("filter %s: got %v, want %v", tc.filter, got, tc.want)
				}
			}
		})

		t.Run("list users page by page", func(t *testing.T) {
			t.Parallel()
			// Pages of 2, cut after 3 users: the CLI follows one PaginationToken, then hands
			// out its own token to resume from.
			var first struct {
				Users     []cliUser
				NextToken string
			}
			cli.run(t, "list-users", "--user-pool-id", listPool, "--page-size", "2", "--max-items", "3").ok(t, &first)
			if got := usernames(first.Users); !slices.Equal(got, []string{"alice", "alicia", "bob"}) || first.NextToken == "" {
				t.Fatalf("first 3: got %v and token %q, want alice, alicia, bob and a token", got, first.NextToken)
			}
			// Seeded users are dated a seed's age before the emulator started.
			if sub, _ := first.Users[0].attribute("sub"); sub != aliceSub || time.Since(first.Users[0].UserCreateDate.Add(emulator.SeedAge)) > 15*time.Minute {
				t.Errorf("alice: got sub %s created %v, want %s created a seed's age ago", sub, first.Users[0].UserCreateDate, aliceSub)
			}
			var rest struct {
				Users     []cliUser
				NextToken string
			}
			cli.run(t, "list-users", "--user-pool-id", listPool, "--page-size", "2", "--starting-token", first.NextToken).ok(t, &rest)
			if got := usernames(rest.Users); !slices.Equal(got, []string{"carol", "dave"}) || rest.NextToken != "" {
				t.Errorf("the rest: got %v and token %q, want carol, dave and no token", got, rest.NextToken)
			}
		})

		t.Run("unsigned call", func(t *testing.T) {
			t.Parallel()
			// Signed, the call would be denied: it succeeds because it is not.
			var bob cliUser
			cli.signedWith("AKIADENIED").run(t, append(getUserArgs(listPool, "bob"), "--no-sign-request")...).ok(t, &bob)
			if email, _ := bob.attribute("email"); bob.Username != "bob" || email != "bob@example.com" {
				t.Errorf("got %+v, want bob", bob)
			}
		})

		t.Run("a rehearsal from scratch", func(t *testing.T) {
			t.Parallel()
			rehearseFromScratch(t, cli)
		})

		t.Run("a seeded attribute mapping", func(t *testing.T) {
			t.Parallel()
			var okta struct {
				IdentityProvider struct{ AttributeMapping map[string]string }
			}
			cli.run(t, "describe-identity-provider", "--user-pool-id", cliPool, "--provider-name", "Okta").ok(t, &okta)
			if got := okta.IdentityProvider.AttributeMapping; len(got) != 1 || got["email"] != "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress" {
				t.Errorf("got mapping %v, want the seed's: email from the emailaddress claim", got)
			}
		})
	})

	logs := emu.stop(t)
	if t.Failed() {
		return
	}
	// Every call was logged at debug level, without credentials. A paginated command may
	// make several calls.
	logged := make(map[string]int)
	for line := range strings.Lines(logs) {
		var entry struct{ Level, Msg, Op string }
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if entry.Msg == "cognito call" && entry.Level == "debug" {
			logged[entry.Op]++
		}
	}
	for op, n := range cli.calls.n {
		if logged[op] < n {
			t.Errorf("%d debug lines for %s, want one for each of its %d calls; the log:\n%s", logged[op], op, n, tail(logs, 2000))
		}
	}
	if strings.Contains(logs, "AKIATEST") {
		t.Error("the log holds an access key ID")
	}
}

func usernames(users []cliUser) []string {
	var names []string
	for _, u := range users {
		names = append(names, u.Username)
	}
	return names
}

// rehearseFromScratch builds a rehearsal with the API alone, as README's "Rehearse against a
// local Cognito" shows: a pool, its identity providers and a user, then a link.
func rehearseFromScratch(t *testing.T, cli awsCLI) {
	var pool struct {
		UserPool struct {
			Id, Name, Arn          string
			CreationDate           time.Time
			EstimatedNumberOfUsers int
		}
	}
	start := time.Now().Truncate(time.Millisecond) // CreationDate has milliseconds
	cli.run(t, "create-user-pool", "--pool-name", "rehearsal").ok(t, &pool)
	made := time.Now()
	id := pool.UserPool.Id
	if !regexp.MustCompile(`^us-east-1_[0-9A-Za-z]{9}$`).MatchString(id) {
		t.Fatalf("got pool ID %q, want us-east-1_ and nine letters and digits", id)
	}
	if want := "arn:aws:cognito-idp:us-east-1:000000000000:userpool/" + id; pool.UserPool.Arn != want || pool.UserPool.Name != "rehearsal" {
		t.Errorf("got ARN %s, name %s; want %s, rehearsal", pool.UserPool.Arn, pool.UserPool.Name, want)
	}

	type provider struct {
		UserPoolId, ProviderName, ProviderType string
		ProviderDetails                        map[string]string
		AttributeMapping                       map[string]string
	}
	var google struct{ IdentityProvider provider }
	cli.run(t, "create-identity-provider", "--user-pool-id", id, "--provider-name", "Google", "--provider-type", "Google",
		"--provider-details", "client_id=example.apps.googleusercontent.com,client_secret=secret,authorize_scopes=openid email").ok(t, &google)
	if p := google.IdentityProvider; p.UserPoolId != id || p.ProviderName != "Google" || p.ProviderType != "Google" || p.ProviderDetails["authorize_scopes"] != "openid email" {
		t.Errorf("create-identity-provider: got %+v, want Google in %s, as configured", p, id)
	}
	cli.run(t, "create-identity-provider", "--user-pool-id", id, "--provider-name", "Okta", "--provider-type", "SAML",
		"--provider-details", "MetadataURL=https://okta.example.com/metadata", "--attribute-mapping", "email=email").ok(t, new(any))

	var created struct{ User cliUser }
	cli.run(t, "admin-create-user", "--user-pool-id", id, "--username", "alice",
		"--user-attributes", "Name=email,Value=alice@example.com", "--message-action", "SUPPRESS").ok(t, &created)
	sub, _ := created.User.attribute("sub")
	if u := created.User; u.Username != "alice" || u.UserStatus != "FORCE_CHANGE_PASSWORD" || !u.Enabled || len(sub) != 36 {
		t.Errorf("admin-create-user: got %+v, want alice, FORCE_CHANGE_PASSWORD, enabled, with a sub", u)
	}

	before := time.Now()
	cli.run(t, linkArgs(id, "alice", "Google", "Cognito_Subject", "117800000000000000001")...).ok(t, nil)
	cli.run(t, linkArgs(id, "alice", "Okta", "email", "alice@example.com")...).ok(t, nil)
	after := time.Now()
	var alice cliUser
	cli.run(t, getUserArgs(id, sub)...).ok(t, &alice) // by sub, as Cognito allows
	if email, _ := alice.attribute("email"); alice.Username != "alice" || email != "alice@example.com" {
		t.Errorf("admin-get-user by sub: got %+v, want alice", alice)
	}
	checkIdentities(t, alice, before, after,
		identity{"Google", "Google", "117800000000000000001"}, identity{"Okta", "SAML", "alice@example.com"})

	cli.run(t, "describe-user-pool", "--user-pool-id", id).ok(t, &pool)
	if c := pool.UserPool.CreationDate; pool.UserPool.Id != id || pool.UserPool.EstimatedNumberOfUsers != 1 || c.Before(start) || c.After(made) {
		t.Errorf("describe-user-pool: got %+v, want %s with 1 user, created between %s and %s", pool.UserPool, id, start, made)
	}
	var providers struct{ Providers []provider }
	cli.run(t, "list-identity-providers", "--user-pool-id", id, "--page-size", "1").ok(t, &providers) // two pages
	if got := providers.Providers; len(got) != 2 || got[0].ProviderName != "Google" || got[1].ProviderName != "Okta" || got[1].ProviderType != "SAML" {
		t.Errorf("list-identity-providers: got %+v, want Google, then Okta (SAML)", got)
	}
	var okta struct{ IdentityProvider provider }
	cli.run(t, "describe-identity-provider", "--user-pool-id", id, "--provider-name", "Okta").ok(t, &okta)
	if p := okta.IdentityProvider; p.ProviderType != "SAML" || p.ProviderDetails["MetadataURL"] != "https://okta.example.com/metadata" ||
		len(p.AttributeMapping) != 1 || p.AttributeMapping["email"] != "email" {
		t.Errorf("describe-identity-provider: got %+v, want Okta as configured", p)
	}
}

// TestEmulateAWSCLIOptions checks the options that change answers, with the AWS CLI.
func TestEmulateAWSCLIOptions(t *testing.T) {
	t.Parallel()
	link := linkArgs(cliPool, "alice", "Google", "Cognito_Subject", "g-alice")
	// linked reports whether alice has identities.
	linked := func(t *testing.T, cli awsCLI) bool {
		var alice cliUser
		cli.run(t, getUserArgs(cliPool, "alice")...).ok(t, &alice)
		_, ok := alice.attribute("identities")
		return ok
	}
	for _, tc := range []struct {
		name  string
		flags []string
		check func(t *testing.T, cli awsCLI)
	}{{
		name:  "legacy repeat answer, then throttled",
		flags: []string{"--legacy-repeat-answer", "--quota", "0.01"}, // a bucket of one write, refilled in 100s
		check: func(t *testing.T, cli awsCLI) {
			cli.run(t, linkArgs(cliPool, "bob", "Okta", "Cognito_Subject", "bob@example.com")...).failed(t, "InvalidParameterException", msgCognitoSource)
			cli.run(t, link...).failed(t, "TooManyRequestsException", "Rate exceeded")
			if linked(t, cli) {
				t.Error("a throttled link was applied")
			}
		},
	}, {
		name:  "service fault",
		flags: []string{"--fault-5xx", "1"},
		check: func(t *testing.T, cli awsCLI) {
			cli.run(t, link...).failed(t, "InternalErrorException", "An internal error occurred, please retry.")
			if linked(t, cli) {
				t.Error("a link answered InternalErrorException was applied")
			}
		},
	}, {
		name:  "service fault after the change",
		flags: []string{"--fault-5xx-after", "1"},
		check: func(t *testing.T, cli awsCLI) {
			cli.run(t, link...).failed(t, "InternalErrorException", "An internal error occurred, please retry.")
			if !linked(t, cli) {
				t.Error("a link answered InternalErrorException after the change was not applied")
			}
		},
	}, {
		name:  "dropped connection",
		flags: []string{"--fault-drop", "1"},
		check: func(t *testing.T, cli awsCLI) {
			cli.run(t, link...).connectionClosed(t)
			if linked(t, cli) {
				t.Error("a dropped link was applied")
			}
		},
	}, {
		name:  "lost answer",
		flags: []string{"--fault-lost", "1"},
		check: func(t *testing.T, cli awsCLI) {
			cli.run(t, link...).connectionClosed(t)
			if !linked(t, cli) {
				t.Error("a link whose answer was lost was not applied")
			}
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.check(t, newAWSCLI(t, startEmulate(t, cliSeed, tc.flags...).url))
		})
	}
}

// TestEmulateQuotasAndFaults checks the quota and fault options of `bulklink emulate` with
// aws-sdk-go-v2, which is fast enough to send hundreds of calls at once. The emulator
// package checks the same behaviour in detail, on a fake clock.
func TestEmulateQuotasAndFaults(t *testing.T) {
	t.Parallel()
	const n = 300
	pool := emulator.SeedPool{ID: "us-east-1_Many", IdentityProviders: []emulator.SeedProvider{{Name: "Google", Type: "Google"}}}
	for i := range n {
		pool.Users = append(pool.Users, emulator.SeedUser{Username: fmt.Sprint("u", i)})
	}
	seed, err := json.Marshal(emulator.Seed{UserPools: []emulator.SeedPool{pool}})
	if err != nil {
		t.Fatal(err)
	}
	// linkAll sends one link to each of the first count users, all at once, and counts the
	// answers by error code, checking each error's HTTP status.
	linkAll := func(t *testing.T, client *cip.Client, count int) map[string]int {
		var (
			mu       sync.Mutex
			outcomes = make(map[string]int)
			wg       sync.WaitGroup
		)
		for i := range count {
			wg.Go(func() {
				_, err := client.AdminLinkProviderForUser(t.Context(), sdkLink(fmt.Sprint("u", i), fmt.Sprint("g", i)))
				code := errorCode(err)
				if want, ok := map[string]int{"TooManyRequestsException": 429, "InternalErrorException": 500}[code]; ok && httpStatus(err) != want {
					t.Errorf("%s answered with HTTP status %d, want %d", code, httpStatus(err), want)
				}
				mu.Lock()
				outcomes[code]++
				mu.Unlock()
			})
		}
		wg.Wait()
		return outcomes
	}

	t.Run("quota", func(t *testing.T) {
		t.Parallel()
		client := startEmulate(t, string(seed), "--quota", "20").client()
		begin := time.Now()
		got := linkAll(t, client, n)
		elapsed := time.Since(begin)
		// A full bucket of 20, then 20/s for as long as the calls came: however slow the
		// machine, no more, and never fewer than the bucket.
		most := 20 + int(math.Ceil(20*elapsed.Seconds())) + 1
		if got[""] < 20 || got[""] > most || got[""]+got["TooManyRequestsException"] != n {
			t.Errorf("%d calls at once, over %v: got %v, want 20 to %d linked, the rest TooManyRequestsException", n, elapsed, got, most)
		}
		if linked := countLinked(t, client); linked != got[""] {
			t.Errorf("got %d links, want %d: throttled calls are not applied", linked, got[""])
		}
	})

	t.Run("fault-5xx", func(t *testing.T) {
		t.Parallel()
		client := startEmulate(t, string(seed), "--fault-5xx", "0.3", "--fault-seed", "1", "--quota", "0").client()
		got := linkAll(t, client, 200)
		if faults := got["InternalErrorException"]; faults < 40 || faults > 80 || faults+got[""] != 200 {
			t.Errorf("got %v, want about 30%% of 200 calls InternalErrorException, the others linked", got)
		}
		if linked := countLinked(t, client); linked != got[""] {
			t.Errorf("got %d links, want %d: calls answered InternalErrorException are not applied", linked, got[""])
		}
	})

	for _, tc := range []struct {
		flag  string
		code  string // the answer's error code; "" for the connection closed without one
		links int    // 1 if the call is applied
	}{{"--fault-lost", "", 1}, {"--fault-drop", "", 0}, {"--fault-5xx-after", "InternalErrorException", 1}} {
		t.Run(tc.flag, func(t *testing.T) {
			t.Parallel()
			client := startEmulate(t, string(seed), tc.flag, "1").client()
			_, err := client.AdminLinkProviderForUser(t.Context(), sdkLink("u1", "g1"))
			if tc.code != "" {
				if got := errorCode(err); got != tc.code || httpStatus(err) != 500 {
					t.Fatalf("got %v, want %s with HTTP status 500", err, tc.code)
				}
			} else if _, ok := errors.AsType[smithy.APIError](err); err == nil || ok {
				t.Fatalf("got %v, want the connection closed without an answer", err)
			}
			if got := countLinked(t, client); got != tc.links {
				t.Errorf("got %d links, want %d", got, tc.links)
			}
		})
	}

	t.Run("latency", func(t *testing.T) {
		t.Parallel()
		client := startEmulate(t, string(seed), "--latency", "300ms").client()
		begin := time.Now()
		_, err := client.AdminGetUser(t.Context(), &cip.AdminGetUserInput{UserPoolId: aws.String("us-east-1_Many"), Username: aws.String("u1")})
		if elapsed := time.Since(begin); err != nil || elapsed < 300*time.Millisecond {
			t.Errorf("got %v after %v, want an answer after the latency, 300ms", err, elapsed)
		}
	})
}

func sdkLink(destination, googleID string) *cip.AdminLinkProviderForUserInput {
	return &cip.AdminLinkProviderForUserInput{
		UserPoolId:      aws.String("us-east-1_Many"),
		DestinationUser: &types.ProviderUserIdentifierType{ProviderName: aws.String("Cognito"), ProviderAttributeValue: aws.String(destination)},
		SourceUser: &types.ProviderUserIdentifierType{
			ProviderName: aws.String("Google"), ProviderAttributeName: aws.String("Cognito_Subject"), ProviderAttributeValue: aws.String(googleID),
		},
	}
}

// countLinked counts the users of us-east-1_Many with linked identities, page by page.
func countLinked(t *testing.T, client *cip.Client) int {
	t.Helper()
	// Reads may be retried, and must be: after a burst of calls, aws-sdk-go-v2 can cut the
	// answer of its next call by closing the connection itself (aws/aws-sdk-go-v2#2737),
	// which its standard retryer retries.
	client = cip.New(client.Options(), func(o *cip.Options) { o.Retryer = retry.NewStandard() })
	linked := 0
	pages := cip.NewListUsersPaginator(client, &cip.ListUsersInput{UserPoolId: aws.String("us-east-1_Many")})
	for pages.HasMorePages() {
		page, err := pages.NextPage(t.Context())
		if err != nil {
			t.Fatalf("list users: %v", err)
		}
		for _, u := range page.Users {
			if slices.ContainsFunc(u.Attributes, func(a types.AttributeType) bool { return *a.Name == "identities" }) {
				linked++
			}
		}
	}
	return linked
}

// errorCode returns the error code of an SDK error: "" for nil, "?" for an error without one.
func errorCode(err error) string {
	if err == nil {
		return ""
	}
	if apiErr, ok := errors.AsType[smithy.APIError](err); ok {
		return apiErr.ErrorCode()
	}
	return "?"
}

// httpStatus returns the HTTP status of an SDK error, or 0.
func httpStatus(err error) int {
	if re, ok := errors.AsType[*awshttp.ResponseError](err); ok {
		return re.HTTPStatusCode()
	}
	return 0
}

func TestEmulateUsage(t *testing.T) {
	t.Parallel()
	inconsistent := writeFile(t, "seed.json", `{"user_pools": [{"id": "us-east-1_Example1",
		"users": [{"username": "alice", "identities": [{"provider": "Google", "value": "1"}]}]}]}`)
	for _, tc := range []struct {
		name   string
		args   []string
		stderr string // what the error message says
	}{
		{"probability over 1", []string{"--fault-5xx", "2"}, "fault 5xx probability 2 is not in [0,1]"},
		{"probabilities adding up to over 1", []string{"--fault-drop", "0.6", "--fault-lost", "0.6"}, "fault probabilities add up to 1.2, more than 1"},
		{"probabilities with 5xx after adding up to over 1", []string{"--fault-5xx-after", "0.7", "--fault-lost", "0.6"}, "fault probabilities add up to 1.3, more than 1"},
		{"negative resource read quota", []string{"--resource-read-quota", "-1"}, "resource read quota -1: want a number of calls per second, 0 for unlimited"},
		{"infinite create quota", []string{"--create-quota", "+Inf"}, "create quota +Inf: want a number of calls per second, 0 for unlimited"},
		{"negative quota", []string{"--quota", "-1"}, "write quota -1: want a number of calls per second, 0 for unlimited"},
		{"auth error without a code", []string{"--auth-error", "AKIADENIED"}, "want ACCESS_KEY_ID=CODE"},
		{"unknown auth error", []string{"--auth-error", "AKIADENIED=Nope"}, `auth error "Nope" for access key "AKIADENIED": want one of`},
		{"seed missing", []string{"--seed", filepath.Join(t.TempDir(), "missing.json")}, "no such file or directory"},
		{"seed inconsistent", []string{"--seed", inconsistent}, "The provider Google does not exist for User Pool us-east-1_Example1."},
		{"stray argument", []string{"now"}, `unexpected argument "now"`},
		{"negative background rate", []string{"--background-rate", "-1"}, "background rate -1: want a number of calls per second, 0 or more"},
		{"background schedule out of order", []string{"--background-schedule", "1m:5,30s:10"}, "not after the change before it"},
		{"background schedule unreadable", []string{"--background-schedule", "soon"}, "want AT:RATE or AT:RATE/FOR"},
		{"clock skewed by years", []string{"--clock-skew", "20000h"}, "clock skew 20000h0m0s: want at most"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := bulklink(t, nil, append([]string{"emulate", "--listen", "127.0.0.1:0"}, tc.args...)...)
			if res.code != exitUsage || !strings.Contains(res.stderr, tc.stderr) {
				t.Errorf("got exit code %d, stderr %q; want %d and %q", res.code, res.stderr, exitUsage, tc.stderr)
			}
		})
	}

	t.Run("help", func(t *testing.T) {
		t.Parallel()
		res := bulklink(t, nil, "emulate", "-h")
		if res.code != exitOK || !strings.HasPrefix(res.stdout, "bulklink emulate: ") {
			t.Fatalf("got exit code %d, stdout %q; want 0 and the help", res.code, res.stdout)
		}
		// Every flag is shown, in its group.
		g := newFlagGroups()
		new(emulateOptions).register(g)
		for _, gr := range g.groups {
			gr.fs.VisitAll(func(f *pflag.Flag) {
				if !regexp.MustCompile(`(?m)^  --` + f.Name + `\b`).MatchString(res.stdout) {
					t.Errorf("--%s is not in the help:\n%s", f.Name, res.stdout)
				}
			})
		}
	})
}
