package emulator_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulklink/bulklink/emulator"
)

// jsClientDir holds the JavaScript SDK conformance script and its pinned dependencies.
const jsClientDir = "testdata/jsclient"

// requireConformance is the environment variable that turns the skips of the independent
// clients' checks into failures, for CI.
const requireConformance = "BULKLINK_REQUIRE_CONFORMANCE"

// skipUnless skips the test, saying why and how to fix it, unless the environment requires
// the check: then it fails.
func skipUnless(t *testing.T, ok bool, why string) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv(requireConformance) == "1" {
		t.Fatalf("%s (%s=1 requires this check)", why, requireConformance)
	}
	t.Skip(why)
}

// TestJSSDK checks the protocol with a third client, the AWS SDK for JavaScript v3, at the
// version testdata/jsclient/package-lock.json pins: testdata/jsclient/conformance.mjs links,
// meets the repeat answer, reads the link back, unlinks, checks error answers, pages
// through ListUsers, lists groups and signs a user out.
func TestJSSDK(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	skipUnless(t, err == nil, "node is not on PATH: install Node.js 20 or later to check the emulator with the JavaScript SDK")
	_, err = os.Stat(filepath.Join(jsClientDir, "node_modules", "@aws-sdk", "client-cognito-identity-provider", "package.json"))
	skipUnless(t, err == nil, "the JavaScript SDK is not installed: run npm ci --prefix emulator/testdata/jsclient")

	srv, _ := start(t, emulator.Options{})
	cmd := exec.CommandContext(t.Context(), node, "conformance.mjs")
	cmd.Dir = jsClientDir
	cmd.Env = []string{"EMULATOR_URL=" + srv.URL, "PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node conformance.mjs: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "checks passed") {
		t.Fatalf("node conformance.mjs printed %q, want its checks passed", stdout.String())
	}
	// The emulator saw what the script did, each call once: the SDK did not retry.
	for op, want := range map[string]int64{
		"AdminLinkProviderForUser": 2, "AdminDisableProviderForUser": 2, "AdminGetUser": 3, "DescribeIdentityProvider": 1,
		"ListUsers": 3 + 1, "AdminAddUserToGroup": 1, "AdminListGroupsForUser": 1, "AdminUserGlobalSignOut": 1,
	} {
		if got := srv.Calls(op); got != want {
			t.Errorf("got %d %s calls, want %d", got, op, want)
		}
	}
	if ids, _ := srv.Identities(poolID, "alice"); len(ids) != 0 {
		t.Errorf("alice has identities %+v after the script unlinked", ids)
	}
}
