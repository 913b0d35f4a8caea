package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// binary is bulklink, built once by TestMain: end-to-end tests run the real program.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "bulklink-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "bulklink")
	args := []string{"build", "-o", binary}
	if raceEnabled {
		args = append(args, "-race") // go test -race: the binary is raced too
	}
	build := exec.Command("go", append(args, ".")...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build bulklink:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is what one run of the binary left behind.
type result struct {
	code           int
	stdout, stderr string
}

// bulklink runs the binary with args, with dummy credentials and a region in its
// environment, and waits for it.
func bulklink(t *testing.T, extraEnv []string, args ...string) result {
	t.Helper()
	return bulklinkStdin(t, "", extraEnv, args...)
}

// bulklinkStdin is bulklink with stdin as the program's standard input.
func bulklinkStdin(t *testing.T, stdin string, extraEnv []string, args ...string) result {
	t.Helper()
	env := append(cleanEnv(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION=us-east-1")
	return bulklinkStdinEnv(t, stdin, append(env, extraEnv...), args...)
}

// bulklinkStdinEnv runs the binary with stdin and exactly env.
func bulklinkStdinEnv(t *testing.T, stdin string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run bulklink: %v", err)
	}
	t.Logf("bulklink %s: exit %d\nstderr:\n%s", strings.Join(args, " "), code, tail(stderr.String(), 3000))
	return result{code, stdout.String(), stderr.String()}
}

// cleanEnv is the test's environment without AWS settings that could reach a real account.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	return append(env, "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true")
}

// longTests says whether the long versions of the soak tests run: BULKLINK_LONG_TESTS=1,
// which .ci/run sets.
func longTests() bool { return os.Getenv("BULKLINK_LONG_TESTS") == "1" }

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// record is one report record, keyed by column name.
type record map[string]string

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return n
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
