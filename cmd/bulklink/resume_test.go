package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/bulklink/bulklink/emulator"
	"github.com/bulklink/bulklink/internal/testseed"
	"github.com/bulklink/bulklink/report"
	"github.com/bulklink/bulklink/schema"
)

// countingServer serves an emulator and counts the link calls it receives for each source
// value, so that a test can tell whether a row was sent again.
type countingServer struct {
	*emulator.Emulator
	URL string
	mu  sync.Mutex
	n   map[string]int
}

func startCounting(t *testing.T, opt emulator.Options, seed emulator.Seed) *countingServer {
	t.Helper()
	c := &countingServer{Emulator: emulator.New(opt), n: map[string]int{}}
	if err := c.Load(seed); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".AdminLinkProviderForUser") {
			var in struct {
				SourceUser struct{ ProviderAttributeValue string }
			}
			if json.Unmarshal(body, &in) == nil {
				c.mu.Lock()
				c.n[in.SourceUser.ProviderAttributeValue]++
				c.mu.Unlock()
			}
		}
		c.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	c.URL = srv.URL
	return c
}

func (c *countingServer) counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := make(map[string]int, len(c.n))
	for k, v := range c.n {
		m[k] = v
	}
	return m
}

// startRun starts `bulklink run` without waiting for it.
func startRun(t *testing.T, args ...string) (*exec.Cmd, *strings.Builder) {
	t.Helper()
	return startBulklink(t, append([]string{"run"}, args...)...)
}

// startBulklink starts the binary with args without waiting for it.
func startBulklink(t *testing.T, args ...string) (*exec.Cmd, *strings.Builder) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(cleanEnv(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION=us-east-1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &stderr
}

// killSoak kills a command that writes a report with SIGKILL at random moments, starting it
// again each time, as an operator's kill -9 and retry would.
type killSoak struct {
	args            []string      // the command (run, undo) and its flags
	report          string        // the report it writes
	rows            int           // the report's records once the command is done
	kills, attempts int           // stop once kills kills landed, or after attempts starts
	pause           time.Duration // the kill comes up to pause after the start's next record...
	early           bool          // ...or, one start in five, up to pause after the start: in its first pass
}

// run runs the soak, its moments drawn from rnd, and returns the kills that landed: the
// starts that SIGKILL ended.
func (s killSoak) run(t *testing.T, rnd *rand.Rand) (kills int) {
	t.Helper()
	for attempt := 0; kills < s.kills && attempt < s.attempts; attempt++ {
		if len(finishedLines(t, s.report)) == s.rows {
			break
		}
		cmd, _ := startBulklink(t, s.args...)
		if !s.early || rnd.IntN(5) > 0 {
			waitForRecords(t, s.report, len(finishedLines(t, s.report))+1, 30*time.Second)
		}
		time.Sleep(time.Duration(rnd.IntN(int(s.pause/time.Millisecond))) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		var ee *exec.ExitError
		if err := cmd.Wait(); errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL {
			kills++
		}
	}
	return kills
}

// waitForRecords waits until the report at path holds at least n whole records.
func waitForRecords(t *testing.T, path string, n int, timeout time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(timeout); len(finishedLines(t, path)) < n; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: fewer than %d records after %v", path, n, timeout)
		}
	}
}

// finishedLines reads the complete records of a report as it lies on disk, torn tail
// aside: the rows a killed run had finished. The scenarios' values have no newlines.
func finishedLines(t *testing.T, path string) map[int]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		t.Fatal(err)
	}
	done := map[int]string{}
	for _, l := range strings.SplitAfter(string(b), "\n") {
		if !strings.HasSuffix(l, "\n") || strings.HasPrefix(l, "line,") {
			continue
		}
		var line int
		var status string
		if strings.HasPrefix(l, "{") {
			var r struct {
				Line   int
				Status string
			}
			if err := json.Unmarshal([]byte(l), &r); err != nil {
				t.Fatalf("report line %q: %v", l, err)
			}
			line, status = r.Line, r.Status
		} else {
			f := strings.SplitN(l, ",", 3)
			line, _ = strconv.Atoi(f[0])
			status = f[1]
		}
		if _, dup := done[line]; dup {
			t.Fatalf("line %d recorded twice in %s", line, path)
		}
		done[line] = status
	}
	return done
}

// A run killed with SIGKILL at random moments and resumed each time with the same command
// ends with exactly one record per row, exactly the expected links, and no row that had
// finished before a kill sent again.
func TestRunCrashSoak(t *testing.T) {
	t.Parallel()
	for _, ext := range []string{"csv", "jsonl"} {
		t.Run(ext, func(t *testing.T) {
			t.Parallel()
			n := 2000
			if longTests() {
				n = 20000
			}
			s := linkScenario(n, 0)
			c := startCounting(t, emulator.Options{Latency: 5 * time.Millisecond}, s.seed)
			in := writeFile(t, "links.csv", s.csv())
			rep := in + ".report." + ext
			args := []string{"--input", in, "--report", rep, "--endpoint-url", c.URL, "--rate", "0", "--read-rate", "0", "--concurrency", "8", "--progress", "never"}
			seed := testseed.Seed(t)
			rnd := rand.New(rand.NewPCG(seed, 1))
			sentBefore := map[string]int{} // calls for each row finished before some kill
			kills := 0
			for attempt := 0; kills < 10; attempt++ {
				if attempt > 40 {
					t.Fatalf("only %d kills landed mid-run in %d attempts", kills, attempt)
				}
				if len(finishedLines(t, rep)) == len(s.rows) {
					break // every row is done: the soak is over
				}
				cmd, stderr := startRun(t, args...)
				// Kill at a random moment once rows are being linked: after the first pass
				// and some records, or in the first pass now and then.
				if rnd.IntN(5) > 0 {
					waitForRecords(t, rep, len(finishedLines(t, rep))+1, 20*time.Second)
				}
				time.Sleep(time.Duration(rnd.IntN(300)) * time.Millisecond)
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				err := cmd.Wait()
				var ee *exec.ExitError
				if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
					if len(finishedLines(t, rep)) == len(s.rows) {
						break // the run finished first: the soak is over
					}
					t.Fatalf("run ended before the kill (%v)\n%s", err, stderr)
				}
				kills++
				done := finishedLines(t, rep)
				calls := c.counts()
				for i, r := range s.rows {
					if _, ok := done[i+2]; ok {
						if _, seen := sentBefore[r.srcValue]; !seen {
							sentBefore[r.srcValue] = calls[r.srcValue]
						}
					}
				}
				t.Logf("kill %d: %d rows finished", kills, len(done))
			}
			res := bulklink(t, nil, append([]string{"run"}, args...)...)
			if res.code != exitOK {
				t.Fatalf("final run: exit %d, want 0", res.code)
			}
			recs := readReport(t, rep)
			if len(recs) != len(s.rows) {
				t.Fatalf("%d records, want one per row: %d", len(recs), len(s.rows))
			}
			for i, r := range recs {
				if atoi(t, r["line"]) != i+2 {
					t.Fatalf("record %d has line %s: a row is missing or reported twice", i, r["line"])
				}
				if r["status"] != "linked" && r["status"] != "already_linked" {
					t.Errorf("line %s: %s %s, want linked or already_linked", r["line"], r["status"], r["error_code"])
				}
			}
			s.checkLinks(t, c.Emulator)
			calls := c.counts()
			resent := 0
			for v, before := range sentBefore {
				if calls[v] != before {
					resent++
					if resent < 10 {
						t.Errorf("source %s: %d calls when its row had finished, %d at the end: sent again", v, before, calls[v])
					}
				}
			}
			if len(sentBefore) == 0 {
				t.Error("no row finished before a kill: the soak tested nothing")
			}
			t.Logf("%d kills; %d rows had finished before a kill; %d link calls for %d rows", kills, len(sentBefore), c.Calls("AdminLinkProviderForUser"), len(s.rows))
		})
	}
}

// A half-written last record (a crash mid-write) is cut off and its row runs again.
func TestRunRepairsATornRecord(t *testing.T) {
	t.Parallel()
	for _, ext := range []string{"csv", "jsonl"} {
		t.Run(ext, func(t *testing.T) {
			s := linkScenario(50, 0)
			c := startCounting(t, emulator.Options{}, s.seed)
			in := writeFile(t, "links.csv", s.csv())
			rep := in + ".report." + ext
			args := []string{"run", "--input", in, "--report", rep, "--endpoint-url", c.URL, "--rate", "0", "--read-rate", "0"}
			if res := bulklink(t, nil, args...); res.code != exitOK {
				t.Fatalf("first run: exit %d", res.code)
			}
			// Cut the report to keep 30 whole records and half of the 31st.
			b, _ := os.ReadFile(rep)
			lines := strings.SplitAfter(string(b), "\n")
			keep := 30
			if ext == "csv" {
				keep++ // the header
			}
			torn := strings.Join(lines[:keep], "") + lines[keep][:len(lines[keep])/2]
			if err := os.WriteFile(rep, []byte(torn), 0o600); err != nil {
				t.Fatal(err)
			}
			lost := map[string]bool{} // the lines whose records were cut, whole or half
			for _, l := range lines[keep:] {
				if l != "" {
					lost[strings.TrimPrefix(strings.SplitN(strings.TrimPrefix(l, `{"line":`), ",", 2)[0], "")] = true
				}
			}
			res := bulklink(t, nil, args...)
			if res.code != exitOK {
				t.Fatalf("resume: exit %d, want 0", res.code)
			}
			if !strings.Contains(res.stderr, "half-written record") {
				t.Errorf("stderr does not mention the repair:\n%s", res.stderr)
			}
			recs := readReport(t, rep)
			if len(recs) != 50 {
				t.Fatalf("%d records, want 50", len(recs))
			}
			for _, r := range recs {
				// Every link was made by this report's runs: the rows whose records were lost
				// are linked again, the link found in place and told from an older one by its
				// date (an undo of this report takes them back too).
				if r["status"] != "linked" {
					t.Errorf("line %s: %s, want linked", r["line"], r["status"])
				}
				if lost[r["line"]] && !strings.Contains(r["error_message"], "made by an earlier attempt of this run") {
					t.Errorf("line %s: message %q, want it to say the link was found in place", r["line"], r["error_message"])
				}
			}
			if len(lost) != 20 {
				t.Errorf("%d records cut, want 20", len(lost))
			}
			if calls := c.Calls("AdminLinkProviderForUser"); calls != 50+20 {
				t.Errorf("%d link calls, want 50 then the 20 rows whose records were lost", calls)
			}
		})
	}
}

func TestRunLockedReport(t *testing.T) {
	t.Parallel()
	s := linkScenario(5, 0)
	c := startCounting(t, emulator.Options{}, s.seed)
	in := writeFile(t, "links.csv", s.csv())
	rep := in + ".report.csv"
	unlock, err := report.Lock(rep) // this test process holds the lock
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	res := bulklink(t, nil, "run", "--input", in, "--report", rep, "--endpoint-url", c.URL)
	if res.code != exitLocked {
		t.Errorf("exit %d, want %d", res.code, exitLocked)
	}
	if want := fmt.Sprintf("pid %d", os.Getpid()); !strings.Contains(res.stderr, want) {
		t.Errorf("stderr does not name the holder (%s):\n%s", want, res.stderr)
	}
	if n := c.Calls("AdminLinkProviderForUser"); n != 0 {
		t.Errorf("%d calls, want none", n)
	}
}

func TestRunRefusesAnotherInput(t *testing.T) {
	t.Parallel()
	s := linkScenario(10, 0)
	c := startCounting(t, emulator.Options{}, s.seed)
	in := writeFile(t, "links.csv", s.csv())
	rep := in + ".report.csv"
	args := []string{"run", "--input", in, "--report", rep, "--endpoint-url", c.URL}
	if res := bulklink(t, nil, args...); res.code != exitOK {
		t.Fatalf("first run: exit %d", res.code)
	}
	// Running again is a resume with nothing left to do.
	if res := bulklink(t, nil, args...); res.code != exitOK || c.Calls("AdminLinkProviderForUser") != 10 {
		t.Fatalf("second run: exit %d, %d calls; want 0 and no new call", res.code, c.Calls("AdminLinkProviderForUser"))
	}
	if err := os.WriteFile(in, []byte(linkScenario(9, 0).csv()), 0o600); err != nil {
		t.Fatal(err)
	}
	res := bulklink(t, nil, args...)
	if res.code != exitUsage || !strings.Contains(res.stderr, "another input") {
		t.Fatalf("another input: exit %d, want %d and a message\n%s", res.code, exitUsage, res.stderr)
	}
	res = bulklink(t, nil, append(args, "--restart")...)
	if res.code != exitOK {
		t.Fatalf("--restart: exit %d, want 0", res.code)
	}
	recs := readReport(t, rep)
	if len(recs) != 9 || recs[0]["status"] != "already_linked" {
		t.Errorf("after --restart: %d records, first %s; want 9, already_linked", len(recs), recs[0]["status"])
	}
}

// --only failed re-runs the failed rows of a report, into a new report.
func TestRunOnlyFailed(t *testing.T) {
	t.Parallel()
	s := mixedScenario(100)
	c := startCounting(t, emulator.Options{}, s.seed)
	in := writeFile(t, "links.csv", s.csv())
	first := in + ".report.csv"
	if res := bulklink(t, nil, "run", "--input", in, "--report", first, "--endpoint-url", c.URL, "--rate", "0", "--read-rate", "0"); res.code != exitRows {
		t.Fatalf("first run: exit %d, want 1", res.code)
	}
	var failed []record
	for _, r := range readReport(t, first) {
		if r["status"] == "failed" {
			failed = append(failed, r)
		}
	}
	// Fix the cause of the missing-destination failures: create the users, as an operator
	// would, through the API.
	api := cip.New(cip.Options{Region: "us-east-1", BaseEndpoint: aws.String(c.URL), Retryer: aws.NopRetryer{},
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	for _, r := range failed {
		if r["error_code"] == "UserNotFoundException" {
			if _, err := api.AdminCreateUser(context.Background(), &cip.AdminCreateUserInput{
				UserPoolId: aws.String(s.pool), Username: aws.String(r["destination_user"])}); err != nil {
				t.Fatal(err)
			}
		}
	}
	callsBefore := c.Calls("AdminLinkProviderForUser")
	second := in + ".failed.csv"
	res := bulklink(t, nil, "run", "--input", first, "--only", "failed", "--report", second, "--endpoint-url", c.URL, "--rate", "0", "--read-rate", "0")
	if res.code != exitRows {
		t.Errorf("--only failed: exit %d, want 1 (the sixth identities still fail)", res.code)
	}
	recs := readReport(t, second)
	if len(recs) != len(failed) {
		t.Fatalf("%d records, want one per failed row: %d", len(recs), len(failed))
	}
	if calls := c.Calls("AdminLinkProviderForUser") - callsBefore; calls != int64(len(failed)) {
		t.Errorf("%d link calls, want one per failed row: %d", calls, len(failed))
	}
	for _, r := range recs {
		if strings.HasPrefix(r["destination_user"], "missing") && r["status"] != "linked" {
			t.Errorf("line %s (%s): %s, want linked now that the user exists", r["line"], r["destination_user"], r["status"])
		}
	}
	// A plain input has no statuses to select from.
	res = bulklink(t, nil, "run", "--input", in, "--only", "failed", "--report", in+".x.csv", "--endpoint-url", c.URL)
	if res.code != exitUsage {
		t.Errorf("--only on a plain input: exit %d, want %d", res.code, exitUsage)
	}
}

func TestRunMaxFailures(t *testing.T) {
	t.Parallel()
	s := mixedScenario(200)
	c := startCounting(t, emulator.Options{}, s.seed)
	in := writeFile(t, "links.csv", s.csv())
	rep := in + ".report.csv"
	res := bulklink(t, nil, "run", "--input", in, "--report", rep, "--endpoint-url", c.URL, "--rate", "0", "--read-rate", "0", "--concurrency", "1", "--max-failures", "3")
	if res.code != exitFatal || !strings.Contains(res.stderr, "max-failures") {
		t.Fatalf("exit %d, want %d with a message naming --max-failures", res.code, exitFatal)
	}
	failed := 0
	for _, r := range readReport(t, rep) {
		if r["status"] == "failed" {
			failed++
		}
	}
	if failed < 4 || failed > 5 {
		t.Errorf("%d failed rows recorded, want the 4 that crossed the threshold (5 at most with a row in flight)", failed)
	}
	// Resumable: the same command without the threshold finishes the report.
	res = bulklink(t, nil, "run", "--input", in, "--report", rep, "--endpoint-url", c.URL, "--rate", "0", "--read-rate", "0")
	if res.code != exitRows {
		t.Fatalf("resume: exit %d, want 1", res.code)
	}
	s.check(t, readReport(t, rep), 2)
}

func TestRunResumeEdges(t *testing.T) {
	t.Parallel()
	s := linkScenario(10, 0)
	c := startCounting(t, emulator.Options{}, s.seed)
	dir := t.TempDir()
	in := writeFile(t, "links.csv", s.csv())
	run := func(stdin string, args ...string) result {
		t.Helper()
		return bulklinkStdin(t, stdin, nil, append([]string{"run", "--endpoint-url", c.URL, "--rate", "0", "--read-rate", "0"}, args...)...)
	}

	t.Run("a report without its meta is not resumed", func(t *testing.T) {
		rep := dir + "/nometa.csv"
		if res := run("", "--input", in, "--report", rep); res.code != exitOK {
			t.Fatalf("first run: exit %d", res.code)
		}
		os.Remove(report.MetaPath(rep))
		if res := run("", "--input", in, "--report", rep); res.code != exitUsage || !strings.Contains(res.stderr, "cannot be resumed") {
			t.Errorf("exit %d, want %d and a message\n%s", res.code, exitUsage, res.stderr)
		}
	})
	t.Run("a report made against another endpoint is not resumed", func(t *testing.T) {
		rep := dir + "/rehearsal.csv"
		if res := run("", "--input", in, "--report", rep); res.code != exitOK {
			t.Fatalf("rehearsal: exit %d", res.code)
		}
		prod := startCounting(t, emulator.Options{}, s.seed)
		res := bulklink(t, nil, "run", "--input", in, "--report", rep, "--endpoint-url", prod.URL)
		if res.code != exitUsage || !strings.Contains(res.stderr, "another target") {
			t.Errorf("exit %d, want %d and a message naming the target\n%s", res.code, exitUsage, res.stderr)
		}
		if n := prod.Calls("AdminLinkProviderForUser"); n != 0 {
			t.Errorf("%d calls to the other endpoint, want 0", n)
		}
	})
	t.Run("validate does not overwrite a run's report or the input", func(t *testing.T) {
		rep := dir + "/run.csv"
		if res := run("", "--input", in, "--report", rep); res.code != exitOK {
			t.Fatalf("run: exit %d", res.code)
		}
		before, _ := os.ReadFile(rep)
		if res := bulklink(t, nil, "validate", "--input", in, "--report", rep); res.code != exitUsage {
			t.Errorf("validate over a run's report: exit %d, want %d", res.code, exitUsage)
		}
		if after, _ := os.ReadFile(rep); string(after) != string(before) {
			t.Error("validate changed the run's report")
		}
		if res := bulklink(t, nil, "validate", "--input", in, "--report", in); res.code != exitUsage {
			t.Errorf("validate with the input as report: exit %d, want %d", res.code, exitUsage)
		}
		if b, _ := os.ReadFile(in); string(b) != s.csv() {
			t.Error("validate changed the input")
		}
	})
	t.Run("a report in a missing folder is a usage error", func(t *testing.T) {
		if res := run("", "--input", in, "--report", dir+"/no/such/folder/r.csv"); res.code != exitUsage {
			t.Errorf("exit %d, want %d\n%s", res.code, exitUsage, res.stderr)
		}
	})
	t.Run("stdin resumes when the fingerprint covers it", func(t *testing.T) {
		rep := dir + "/stdin.csv"
		if res := run(s.csv(), "--input", "-", "--format", "csv", "--report", rep); res.code != exitOK {
			t.Fatalf("first run: exit %d\n%s", res.code, res.stderr)
		}
		calls := c.Calls("AdminLinkProviderForUser")
		if res := run(s.csv(), "--input", "-", "--format", "csv", "--report", rep); res.code != exitOK || c.Calls("AdminLinkProviderForUser") != calls {
			t.Errorf("resume from stdin: exit %d, %d new calls; want 0, none", res.code, c.Calls("AdminLinkProviderForUser")-calls)
		}
		other := linkScenario(9, 0).csv()
		if res := run(other, "--input", "-", "--format", "csv", "--report", rep); res.code != exitUsage {
			t.Errorf("another stdin: exit %d, want %d", res.code, exitUsage)
		}
	})
	t.Run("a long stream resumes: it is spooled and fingerprinted whole", func(t *testing.T) {
		rep := dir + "/long.csv"
		// Rows whose extra column pads the stream past 1 MiB, all that older versions could
		// fingerprint of a stream.
		var b strings.Builder
		b.WriteString("user_pool_id,destination_user,source_provider,source_value,pad\n")
		for i := range 10 {
			fmt.Fprintf(&b, "%s,n%d,Google,gn%d,%s\n", s.pool, i, i, strings.Repeat("p", 120_000))
		}
		long := b.String()
		if res := run(long, "--input", "-", "--format", "csv", "--report", rep); res.code != exitOK {
			t.Fatalf("first run: exit %d\n%s", res.code, res.stderr)
		}
		calls := c.Calls("AdminLinkProviderForUser")
		if res := run(long, "--input", "-", "--format", "csv", "--report", rep); res.code != exitOK || c.Calls("AdminLinkProviderForUser") != calls {
			t.Errorf("resume of a long stream: exit %d, %d new calls; want 0, none\n%s", res.code, c.Calls("AdminLinkProviderForUser")-calls, res.stderr)
		}
		changed := strings.Replace(long, "n9,", "m9,", 1)
		if res := run(changed, "--input", "-", "--format", "csv", "--report", rep); res.code != exitUsage {
			t.Errorf("another long stream: exit %d, want %d\n%s", res.code, exitUsage, res.stderr)
		}
	})
	t.Run("--only on an empty report", func(t *testing.T) {
		empty := writeFile(t, "empty.report.csv", strings.Join(schema.ColumnNames(), ",")+"\n")
		if res := run("", "--input", empty, "--only", "failed", "--report", dir+"/none.csv", "--user-pool-id", s.pool); res.code != exitOK {
			t.Errorf("exit %d, want 0: nothing failed, nothing to do\n%s", res.code, res.stderr)
		}
	})
	t.Run("bad numbers", func(t *testing.T) {
		for _, args := range [][]string{{"--rate", "NaN"}, {"--read-rate", "+Inf"}, {"--max-failures", "NaN%"}, {"--max-failures", "-1"}} {
			if res := run("", append([]string{"--input", in, "--report", dir + "/x.csv"}, args...)...); res.code != exitUsage {
				t.Errorf("%v: exit %d, want %d", args, res.code, exitUsage)
			}
		}
	})
}
