package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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

// testSeed returns the seed of a randomised test: BULKLINK_TEST_SEED when set, else a new
// one, logged either way so that a failure can be replayed.
func testSeed(t *testing.T) uint64 {
	t.Helper()
	seed := rand.Uint64()
	if s := os.Getenv("BULKLINK_TEST_SEED"); s != "" {
		if _, err := fmt.Sscan(s, &seed); err != nil {
			t.Fatalf("BULKLINK_TEST_SEED=%q: %v", s, err)
		}
	}
	t.Logf("seed %d (replay with BULKLINK_TEST_SEED=%d)", seed, seed)
	return seed
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

// readReport reads a CSV or JSONL report and returns its records sorted by line.
func readReport(t *testing.T, path string) []record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open report: %v", err)
	}
	defer f.Close()
	var recs []record
	if strings.HasSuffix(path, ".csv") {
		rows, err := csv.NewReader(f).ReadAll()
		if err != nil {
			t.Fatalf("read report %s: %v", path, err)
		}
		for _, row := range rows[1:] {
			r := record{}
			for i, name := range rows[0] {
				r[name] = row[i]
			}
			recs = append(recs, r)
		}
	} else {
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Fatalf("report line %q: %v", sc.Text(), err)
			}
			r := record{}
			for k, v := range m {
				switch v := v.(type) {
				case string:
					r[k] = v
				case float64:
					r[k] = strconv.FormatFloat(v, 'f', -1, 64)
				default:
					t.Fatalf("report key %s: unexpected value %v", k, v)
				}
			}
			recs = append(recs, r)
		}
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	slices.SortFunc(recs, func(a, b record) int { return atoi(t, a["line"]) - atoi(t, b["line"]) })
	return recs
}

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
