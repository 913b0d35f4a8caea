package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

	"github.com/bulklink/bulklink/emulator"
)

// startEmulator serves a seeded emulator on loopback for one test.
func startEmulator(t *testing.T, opt emulator.Options, seed emulator.Seed) *emulator.Server {
	t.Helper()
	srv := emulator.NewServer(opt)
	t.Cleanup(srv.Close)
	if err := srv.Load(seed); err != nil {
		t.Fatalf("seed emulator: %v", err)
	}
	return srv
}

func TestRunMixedCSV(t *testing.T) {
	t.Parallel()
	s := mixedScenario(1000)
	srv := startEmulator(t, emulator.Options{}, s.seed)
	rep, res := runCSV(t, s, srv,
		"--rate", "0", "--read-rate", "0", "--concurrency", "16", "--log-format", "json")
	if res.code != exitRows {
		t.Errorf("exit code %d, want %d (some rows failed or were invalid)", res.code, exitRows)
	}
	s.check(t, readReport(t, rep), 2)
	s.checkLinks(t, srv.Emulator)
	checkHeader(t, rep, "line,status,error_code,error_message,attempts,user_pool_id,destination_provider,destination_user,source_provider,source_attribute,source_value,duration_ms,finished_at,ticket")
	if _, err := os.Stat(rep + ".summary.json"); err != nil {
		t.Errorf("summary beside the report: %v", err)
	}
}

func TestRunMixedAWSShapedJSONL(t *testing.T) {
	t.Parallel()
	s := mixedScenario(1000)
	srv := startEmulator(t, emulator.Options{}, s.seed)
	in := writeFile(t, "links.jsonl", s.awsJSONL())
	rep := in + ".report.jsonl"
	res := bulklink(t, nil, "run", "--input", in, "--report", rep, "--endpoint-url", srv.URL,
		"--rate", "0", "--read-rate", "0", "--concurrency", "16")
	if res.code != exitRows {
		t.Errorf("exit code %d, want %d", res.code, exitRows)
	}
	s.check(t, readReport(t, rep), 1)
	s.checkLinks(t, srv.Emulator)
}

func checkHeader(t *testing.T, path, want string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, _, _ := strings.Cut(string(b), "\n"); got != want {
		t.Errorf("report header\n got %s\nwant %s", got, want)
	}
}

// runCSV runs bulklink run over s, written as links.csv, against srv with flags, into the
// report links.csv.report.csv; it returns the report's path and the result.
func runCSV(t *testing.T, s *scenario, srv *emulator.Server, flags ...string) (rep string, res result) {
	t.Helper()
	in := writeFile(t, "links.csv", s.csv())
	rep = in + ".report.csv"
	return rep, bulklink(t, nil, append([]string{"run", "--input", in, "--report", rep, "--endpoint-url", srv.URL}, flags...)...)
}

// linkScenario is n new links, each to its own user, then sixth rows that would give a
// user a sixth identity.
func linkScenario(n, sixth int) *scenario {
	s := mixedScenario(0)
	p := &s.seed.UserPools[0]
	for i := range n {
		u := "n" + itoa(i)
		p.Users = append(p.Users, emulator.SeedUser{Username: u})
		s.rows = append(s.rows, scenarioRow{destUser: u, srcProvider: "Google", srcAttr: "Cognito_Subject", srcValue: "g" + u, wantStatus: "linked"})
		s.links[u] = []string{"Google:g" + u}
	}
	for i := range sixth {
		u := "six" + itoa(i)
		f := emulator.SeedUser{Username: u}
		for j := range 5 {
			f.Identities = append(f.Identities, emulator.SeedIdentity{Provider: "Okta", Value: u + "-" + itoa(j)})
			s.links[u] = append(s.links[u], "Okta:"+u+"-"+itoa(j))
		}
		p.Users = append(p.Users, f)
		s.rows = append(s.rows, scenarioRow{destUser: u, srcProvider: "Google", srcAttr: "Cognito_Subject", srcValue: "g" + u,
			wantStatus: "failed", wantCode: "LimitExceededException"})
	}
	return s
}

func itoa(i int) string { return strconv.Itoa(i) }

// Over-asking: the emulator admits 50 writes/s, bulklink may send 200/s. Throttled calls
// slow the run down; they never fail a row, and the permanent five-identity limit is never
// taken for a throttle and retried.
func TestRunThrottledNeverFailsAndNeverRetriesTheIdentityLimit(t *testing.T) {
	t.Parallel()
	s := linkScenario(400, 20)
	srv := startEmulator(t, emulator.Options{WriteQuota: 50}, s.seed)
	rep, res := runCSV(t, s, srv,
		"--rate", "200", "--concurrency", "16")
	if res.code != exitRows {
		t.Errorf("exit code %d, want %d (the sixth-identity rows fail)", res.code, exitRows)
	}
	s.check(t, readReport(t, rep), 2)
	s.checkLinks(t, srv.Emulator)
	out := srv.Outcomes("AdminLinkProviderForUser")
	if got := out["LimitExceededException"]; got != 20 {
		t.Errorf("LimitExceededException answered %d times, want once per sixth-identity row: 20", got)
	}
	if out["TooManyRequestsException"] == 0 {
		t.Errorf("the emulator never throttled: the test does not test throttling (outcomes %v)", out)
	}
}

// Faults: 5% of write calls answer 500, 2% are applied and then the connection drops, 2%
// drop before being applied. Every row still ends linked or already_linked.
func TestRunFaultsEndLinked(t *testing.T) {
	t.Parallel()
	s := linkScenario(500, 0)
	// Repeats, so that a row may meet its own earlier link.
	for i := range 50 {
		r := s.rows[i*10]
		r.pairOf, s.rows[i*10].pairOf = i*10+1, len(s.rows)+1
		s.rows = append(s.rows, r)
	}
	srv := startEmulator(t, emulator.Options{Fault5xx: 0.05, FaultLost: 0.02, FaultDrop: 0.02, Seed: 7}, s.seed)
	rep, res := runCSV(t, s, srv,
		"--rate", "0", "--read-rate", "0", "--concurrency", "16", "--max-attempts", "10")
	if res.code != exitOK {
		t.Errorf("exit code %d, want %d", res.code, exitOK)
	}
	recs := readReport(t, rep)
	for _, r := range recs {
		if r["status"] != "linked" && r["status"] != "already_linked" {
			t.Errorf("line %s: %s %s %s, want linked or already_linked", r["line"], r["status"], r["error_code"], r["error_message"])
		}
	}
	s.checkLinks(t, srv.Emulator)
	out := srv.Outcomes("AdminLinkProviderForUser")
	for _, f := range []string{"InternalErrorException", "lost", "drop"} {
		if out[f] == 0 {
			t.Errorf("no %s fault was injected: outcomes %v", f, out)
		}
	}
}

// Rows that name a pool that does not exist are invalid (PoolNotFound), with no link call,
// and the rows of other pools go on; a --user-pool-id that does not exist stops the run
// before any write.
func TestRunMissingPools(t *testing.T) {
	t.Parallel()
	s := linkScenario(40, 0)
	srv := startEmulator(t, emulator.Options{}, s.seed)
	missing := linkScenario(40, 0)
	missing.pool = "us-east-1_NoSuchPool"
	var b strings.Builder
	b.WriteString(s.csv())
	for i, line := range strings.Split(strings.TrimSpace(missing.csv()), "\n")[1:] {
		if i%2 == 0 {
			b.WriteString(line + "\n")
		}
	}
	in := writeFile(t, "links.csv", b.String())
	rep := in + ".report.csv"
	res := bulklink(t, nil, "run", "--input", in, "--report", rep, "--endpoint-url", srv.URL, "--rate", "0", "--read-rate", "0")
	if res.code != exitRows {
		t.Errorf("exit code %d, want %d", res.code, exitRows)
	}
	recs := readReport(t, rep)
	if len(recs) != 60 {
		t.Fatalf("%d records, want 60", len(recs))
	}
	for _, r := range recs {
		want := "linked"
		if r["user_pool_id"] == missing.pool {
			want = "invalid"
			if r["error_code"] != "PoolNotFound" {
				t.Errorf("line %s: code %q, want PoolNotFound", r["line"], r["error_code"])
			}
		}
		if r["status"] != want {
			t.Errorf("line %s of %s: %s %s, want %s", r["line"], r["user_pool_id"], r["status"], r["error_message"], want)
		}
	}
	if calls := srv.Calls("AdminLinkProviderForUser"); calls != 40 {
		t.Errorf("%d link calls, want 40: none for the missing pool's rows", calls)
	}

	t.Run("--user-pool-id", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("destination_user,source_provider,source_value\n")
		for i := range 30 {
			fmt.Fprintf(&b, "u%04d,Google,z%d\n", i, i)
		}
		in := writeFile(t, "links.csv", b.String())
		rep := in + ".report.csv"
		calls := srv.Calls("AdminLinkProviderForUser")
		res := bulklink(t, nil, "run", "--input", in, "--report", rep, "--endpoint-url", srv.URL, "--user-pool-id", "us-east-1_NoSuchPool")
		if res.code != exitFatal {
			t.Errorf("exit code %d, want %d", res.code, exitFatal)
		}
		if n := srv.Calls("AdminLinkProviderForUser") - calls; n != 0 {
			t.Errorf("%d link calls, want none", n)
		}
		if !strings.Contains(res.stderr, "us-east-1_NoSuchPool") || !strings.Contains(res.stderr, "--user-pool-id") {
			t.Errorf("stderr does not name the pool and the flag:\n%s", res.stderr)
		}
		if _, err := os.Stat(rep); err == nil {
			if recs := readReport(t, rep); len(recs) != 0 {
				t.Errorf("%d records, want none", len(recs))
			}
		}
	})
}

func TestRunWithoutCredentialsStopsBeforeAnyCall(t *testing.T) {
	t.Parallel()
	s := linkScenario(10, 0)
	srv := startEmulator(t, emulator.Options{}, s.seed)
	in := writeFile(t, "links.csv", s.csv())
	// Empty keys hide the test's dummy credentials; nothing else in the chain answers.
	res := bulklink(t, []string{"AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY="}, "run", "--input", in,
		"--report", in+".report.csv", "--endpoint-url", srv.URL)
	if res.code != exitFatal {
		t.Errorf("exit code %d, want %d", res.code, exitFatal)
	}
	if n := srv.Calls("AdminLinkProviderForUser"); n != 0 {
		t.Errorf("%d link calls without credentials, want 0", n)
	}
	if !strings.Contains(res.stderr, "credentials") {
		t.Errorf("stderr does not say the credentials are the problem:\n%s", res.stderr)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	s := mixedScenario(100)
	in := writeFile(t, "links.csv", s.csv())
	rep := in + ".validate.csv"
	res := bulklink(t, nil, "validate", "--input", in, "--report", rep)
	if res.code != exitRows {
		t.Errorf("validate of a file with invalid rows: exit %d, want %d", res.code, exitRows)
	}
	recs := readReport(t, rep)
	if len(recs) != len(s.rows) {
		t.Fatalf("validate report: %d records, want %d", len(recs), len(s.rows))
	}
	for i, r := range s.rows {
		want := "valid"
		if r.wantStatus == "invalid" {
			want = "invalid"
		}
		if got := recs[i]["status"]; got != want {
			t.Errorf("line %s: %s, want %s", recs[i]["line"], got, want)
		}
	}

	clean := writeFile(t, "clean.csv", linkScenario(20, 0).csv())
	if res := bulklink(t, nil, "validate", "--input", clean); res.code != exitOK {
		t.Errorf("validate of a clean file: exit %d, want %d", res.code, exitOK)
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	good := writeFile(t, "links.csv", linkScenario(2, 0).csv())
	noColumns := writeFile(t, "bad.csv", "user,provider\nalice,Google\n")
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
	}{
		{"no command", nil},
		{"unknown command", []string{"frobnicate"}},
		{"no report", []string{"run", "--input", good}},
		{"no input", []string{"run", "--report", dir + "/r.csv"}},
		{"report of unknown format", []string{"run", "--input", good, "--report", dir + "/r.txt"}},
		{"missing input", []string{"run", "--input", dir + "/nope.csv", "--report", dir + "/r.csv", "--endpoint-url", "http://127.0.0.1:1"}},
		{"input without the required columns", []string{"run", "--input", noColumns, "--report", dir + "/r.csv", "--endpoint-url", "http://127.0.0.1:1"}},
		{"stdin without a format", []string{"validate", "--input", "-"}},
		{"bad rate", []string{"run", "--input", good, "--report", dir + "/r.csv", "--rate", "-1"}},
		{"endpoint that is not a URL", []string{"run", "--input", good, "--report", dir + "/e.csv", "--endpoint-url", "not-a-url"}},
		{"stray argument", []string{"validate", "--input", good, "extra"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if res := bulklink(t, nil, tt.args...); res.code != exitUsage {
				t.Errorf("exit code %d, want %d", res.code, exitUsage)
			}
		})
	}
}

// A first SIGINT or SIGTERM stops taking rows, lets rows in flight finish, flushes the
// report and exits 130 or 143; no row is reported failed, and every link made is recorded.
func TestRunSignalDrains(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGINT, exitSIGINT}, {syscall.SIGTERM, exitSIGTERM}} {
		t.Run(tt.sig.String(), func(t *testing.T) {
			s := linkScenario(300, 0)
			srv := startEmulator(t, emulator.Options{Latency: 100 * time.Millisecond}, s.seed)
			in := writeFile(t, "links.csv", s.csv())
			rep := in + ".report.csv"
			cmd, stderr := startRun(t, "--input", in, "--report", rep, "--endpoint-url", srv.URL, "--rate", "0", "--read-rate", "0", "--concurrency", "4")
			for deadline := time.Now().Add(20 * time.Second); srv.Calls("AdminLinkProviderForUser") < 20; time.Sleep(5 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("the run made no progress")
				}
			}
			if err := cmd.Process.Signal(tt.sig); err != nil {
				t.Fatal(err)
			}
			err := cmd.Wait()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != tt.code {
				t.Fatalf("exit: %v, want code %d\n%s", err, tt.code, stderr.String())
			}
			recs := readReport(t, rep)
			if len(recs) == 0 || len(recs) == len(s.rows) {
				t.Fatalf("%d records, want some but not all of %d", len(recs), len(s.rows))
			}
			linked := map[string]bool{}
			for _, r := range recs {
				if r["status"] != "linked" {
					t.Errorf("line %s: %s %s, want linked", r["line"], r["status"], r["error_code"])
				}
				linked[r["destination_user"]] = true
			}
			// Every link the emulator holds was recorded: nothing in flight was lost.
			for _, r := range s.rows {
				ids, _ := srv.Identities(s.pool, r.destUser)
				if (len(ids) == 1) != linked[r.destUser] {
					t.Errorf("user %s: linked in the emulator %v, recorded %v", r.destUser, len(ids) == 1, linked[r.destUser])
				}
			}
			// The same command resumes and finishes, sending none of the recorded rows again.
			if err := srv.Reconfigure(func(o *emulator.Options) { o.Latency = 0 }); err != nil {
				t.Fatal(err)
			}
			callsBefore := srv.Calls("AdminLinkProviderForUser")
			res := bulklink(t, nil, "run", "--input", in, "--report", rep, "--endpoint-url", srv.URL, "--rate", "0", "--read-rate", "0", "--concurrency", "4")
			if res.code != exitOK {
				t.Fatalf("resume: exit %d, want 0", res.code)
			}
			s.check(t, readReport(t, rep), 2)
			if sent := srv.Calls("AdminLinkProviderForUser") - callsBefore; sent != int64(len(s.rows)-len(recs)) {
				t.Errorf("resume sent %d calls, want one per row not recorded: %d", sent, len(s.rows)-len(recs))
			}
		})
	}
}

// A second signal cuts the calls in flight at once: no record for them, the report still
// flushed, and the run resumable.
func TestRunSecondSignalCutsAtOnce(t *testing.T) {
	t.Parallel()
	s := linkScenario(50, 0)
	srv := startEmulator(t, emulator.Options{Latency: 3 * time.Second}, s.seed)
	in := writeFile(t, "links.csv", s.csv())
	rep := in + ".report.csv"
	cmd, _ := startRun(t, "--input", in, "--report", rep, "--endpoint-url", srv.URL, "--rate", "0", "--read-rate", "0", "--concurrency", "4")
	for deadline := time.Now().Add(20 * time.Second); srv.Calls("AdminLinkProviderForUser") < 4; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no call in flight")
		}
	}
	cmd.Process.Signal(syscall.SIGINT)
	time.Sleep(100 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitSIGINT {
		t.Fatalf("exit: %v, want %d", err, exitSIGINT)
	}
	if recs := readReport(t, rep); len(recs) != 0 {
		t.Errorf("%d records, want none: the second signal cut every call", len(recs))
	}
	if err := srv.Reconfigure(func(o *emulator.Options) { o.Latency = 0 }); err != nil {
		t.Fatal(err)
	}
	if res := bulklink(t, nil, "run", "--input", in, "--report", rep, "--endpoint-url", srv.URL, "--rate", "0", "--read-rate", "0", "--concurrency", "16"); res.code != exitOK {
		t.Fatalf("resume: exit %d, want 0", res.code)
	}
	s.check(t, readReport(t, rep), 2)
}

// Without a terminal (cron, systemd), progress is logged as JSON lines at an interval.
func TestRunLogsProgressWithoutATerminal(t *testing.T) {
	t.Parallel()
	s := linkScenario(60, 0)
	srv := startEmulator(t, emulator.Options{Latency: 20 * time.Millisecond}, s.seed)
	in := writeFile(t, "links.csv", s.csv())
	res := bulklink(t, nil, "run", "--input", in, "--report", in+".report.jsonl", "--endpoint-url", srv.URL,
		"--rate", "100", "--concurrency", "2", "--progress-interval", "100ms")
	if res.code != exitOK {
		t.Fatalf("exit code %d, want 0", res.code)
	}
	var lines, etas int
	for _, l := range strings.Split(res.stderr, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) != nil || m["msg"] != "progress" {
			continue
		}
		lines++
		if _, ok := m["eta"]; ok {
			etas++ // once a rate is known
		}
		for _, k := range []string{"done", "total", "ok", "failed", "rows_per_sec", "pct", "elapsed"} {
			if _, ok := m[k]; !ok {
				t.Errorf("progress line %s lacks %q", l, k)
			}
		}
	}
	if lines == 0 {
		t.Errorf("no progress line on stderr:\n%s", res.stderr)
	}
	if etas == 0 {
		t.Errorf("no progress line gives an ETA:\n%s", res.stderr)
	}
	if !strings.Contains(res.stderr, `"total":60`) {
		t.Errorf("progress lines do not give the input's 60 rows as total:\n%s", res.stderr)
	}
}

// Cognito allows at most 10 writes per second to one user: rows for the same user are
// spaced out, never throttled for it.
func TestRunSpacesWritesToOneUser(t *testing.T) {
	t.Parallel()
	s := linkScenario(0, 0)
	p := &s.seed.UserPools[0]
	p.Users = append(p.Users, emulator.SeedUser{Username: "hot"})
	for i := range 40 {
		v := "hot" + itoa(i%4) // four identities, each sent ten times
		r := scenarioRow{destUser: "hot", srcProvider: "Google", srcAttr: "Cognito_Subject", srcValue: v}
		s.rows = append(s.rows, r)
	}
	s.links["hot"] = []string{"Google:hot0", "Google:hot1", "Google:hot2", "Google:hot3"}
	srv := startEmulator(t, emulator.Options{PerUserWriteQuota: 10}, s.seed)
	in := writeFile(t, "links.csv", s.csv())
	res := bulklink(t, nil, "run", "--input", in, "--report", in+".report.csv", "--endpoint-url", srv.URL,
		"--rate", "0", "--read-rate", "0", "--concurrency", "16")
	if res.code != exitOK {
		t.Fatalf("exit %d, want 0", res.code)
	}
	if n := srv.Outcomes("AdminLinkProviderForUser")["TooManyRequestsException"]; n != 0 {
		t.Errorf("%d calls throttled by the per-user limit, want 0", n)
	}
	s.checkLinks(t, srv.Emulator)
}

// A custom CA bundle (AWS_CA_BUNDLE) in the environment, as corporate proxies need, works: the
// SDK adds it to bulklink's HTTP client.
func TestRunWithACABundle(t *testing.T) {
	t.Parallel()
	const bundle = "/etc/ssl/certs/ca-certificates.crt"
	if _, err := os.Stat(bundle); err != nil {
		t.Skipf("no system CA bundle at %s", bundle)
	}
	s := linkScenario(5, 0)
	srv := startEmulator(t, emulator.Options{}, s.seed)
	in := writeFile(t, "links.csv", s.csv())
	res := bulklink(t, []string{"AWS_CA_BUNDLE=" + bundle}, "run", "--input", in, "--report", in+".report.csv", "--endpoint-url", srv.URL, "--read-rate", "0")
	if res.code != exitOK {
		t.Errorf("exit %d, want 0 with AWS_CA_BUNDLE set", res.code)
	}
}

// answerRewriter serves an emulator and lets a test change its answers to link calls, to
// play answers Cognito has been seen to give that the emulator does not (an answer that
// contradicts the state it leaves). rewrite is asked of each link call by its source value:
// an error code and message to answer instead ("" answers as the emulator does), and whether
// the emulator applies the call all the same.
func answerRewriter(t *testing.T, seed emulator.Seed, rewrite func(source string) (code, message string, apply bool)) (*emulator.Emulator, string) {
	t.Helper()
	emu := emulator.New(emulator.Options{})
	if err := emu.Load(seed); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		code, msg, apply := "", "", true
		if strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".AdminLinkProviderForUser") {
			var in struct {
				SourceUser struct{ ProviderAttributeValue string }
			}
			if json.Unmarshal(body, &in) == nil {
				code, msg, apply = rewrite(in.SourceUser.ProviderAttributeValue)
			}
		}
		if code == "" {
			emu.ServeHTTP(w, r)
			return
		}
		if apply {
			emu.ServeHTTP(httptest.NewRecorder(), r)
		}
		b, _ := json.Marshal(map[string]string{"__type": code, "message": msg})
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-ErrorType", code)
		w.WriteHeader(http.StatusBadRequest)
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return emu, srv.URL
}

// mergingAnswer is Cognito's refusal of an identity that signed in already.
const mergingAnswer = "Merging is not currently supported, provide a SourceUser that has not been signed up in order to link"

// TestRunSourceSignedIn: "Merging is not currently supported" is the source having signed in
// already: the row fails with SourceAlreadySignedIn, naming the <Provider>_<value> profile.
// Cognito has given that answer with the link in place all the same, so the row is settled by
// reading the destination: a link the call made is linked, an older one already_linked.
func TestRunSourceSignedIn(t *testing.T) {
	t.Parallel()
	const pool = "us-east-1_Signed002"
	seed := emulator.Seed{UserPools: []emulator.SeedPool{{ID: pool,
		IdentityProviders: []emulator.SeedProvider{{Name: "Google", Type: "Google"}},
		Users: []emulator.SeedUser{{Username: "alice"}, {Username: "bob"}, {Username: "carol",
			Identities: []emulator.SeedIdentity{{Provider: "Google", Value: "777"}}}, {Username: "Google_1234", Federated: true}}}}}
	emu, url := answerRewriter(t, seed, func(source string) (string, string, bool) {
		if source == "555" || source == "777" { // bob's link is made, carol's was there: both answered "merging"
			return "InvalidParameterException", mergingAnswer, true
		}
		return "", "", true
	})
	in := writeFile(t, "links.csv", "destination_user,source_provider,source_value\nalice,Google,1234\nbob,Google,555\ncarol,Google,777\n")
	rep := in + ".report.csv"
	res := bulklink(t, nil, "run", "--input", in, "--report", rep, "--endpoint-url", url, "--user-pool-id", pool, "--rate", "0", "--read-rate", "0")
	if res.code != exitRows {
		t.Fatalf("exit %d, want %d\n%s", res.code, exitRows, res.stderr)
	}
	got := map[string]record{}
	for _, r := range readReport(t, rep) {
		got[r["destination_user"]] = r
	}
	if r := got["alice"]; r["status"] != "failed" || r["error_code"] != "SourceAlreadySignedIn" || !strings.Contains(r["error_message"], "Google_1234") {
		t.Errorf("alice: %s %s %q, want failed SourceAlreadySignedIn naming Google_1234", r["status"], r["error_code"], r["error_message"])
	}
	if r := got["bob"]; r["status"] != "linked" || r["error_code"] != "" {
		t.Errorf("bob: %s %s %q, want linked: the link is in place, made by this run", r["status"], r["error_code"], r["error_message"])
	}
	if r := got["carol"]; r["status"] != "already_linked" {
		t.Errorf("carol: %s %s %q, want already_linked: the link predates the run", r["status"], r["error_code"], r["error_message"])
	}
	if ids, _ := emu.Identities(pool, "alice"); len(ids) != 0 {
		t.Errorf("alice holds %v", ids)
	}
}

// TestRunCaseInsensitivePool: in a pool whose usernames are case-insensitive, Alice and alice
// are one user. Two rows that differ only in that case link one identity to one user: they
// are one row repeated, never in flight together, and the second is reported as the
// repeat it is, not as a link an earlier attempt made.
func TestRunCaseInsensitivePool(t *testing.T) {
	t.Parallel()
	const pool = "us-east-1_NoCase001"
	caseSensitive := false
	seed := emulator.Seed{UserPools: []emulator.SeedPool{{ID: pool, CaseSensitive: &caseSensitive,
		IdentityProviders: []emulator.SeedProvider{{Name: "Google", Type: "Google"}},
		Users:             []emulator.SeedUser{{Username: "alice"}, {Username: "bob"}}}}}
	emu := emulator.New(emulator.Options{Latency: 100 * time.Millisecond})
	if err := emu.Load(seed); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	inFlight, most := map[string]int{}, map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		var in struct {
			DestinationUser struct{ ProviderAttributeValue string }
		}
		user := ""
		if strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".AdminLinkProviderForUser") && json.Unmarshal(body, &in) == nil {
			user = strings.ToLower(in.DestinationUser.ProviderAttributeValue)
			mu.Lock()
			inFlight[user]++
			most[user] = max(most[user], inFlight[user])
			mu.Unlock()
		}
		emu.ServeHTTP(w, r)
		if user != "" {
			mu.Lock()
			inFlight[user]--
			mu.Unlock()
		}
	}))
	t.Cleanup(srv.Close)
	in := writeFile(t, "links.csv", "destination_user,source_provider,source_value\nAlice,Google,g1\nalice,Google,g1\nBOB,Google,g2\nbob,Google,g2\n")
	rep := in + ".report.csv"
	res := bulklink(t, nil, "run", "--input", in, "--report", rep, "--endpoint-url", srv.URL, "--user-pool-id", pool, "--rate", "0", "--read-rate", "0")
	if res.code != exitOK {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	got := map[string]record{}
	for _, r := range readReport(t, rep) {
		got[r["line"]] = r
	}
	for _, lines := range [][2]string{{"2", "3"}, {"4", "5"}} {
		first, second := got[lines[0]], got[lines[1]]
		if first["status"] != "linked" || first["error_message"] != "" {
			t.Errorf("line %s: %s %q, want linked", lines[0], first["status"], first["error_message"])
		}
		if second["status"] != "already_linked" || !strings.Contains(second["error_message"], "earlier line") {
			t.Errorf("line %s: %s %q, want already_linked as the repeat of line %s", lines[1], second["status"], second["error_message"], lines[0])
		}
	}
	for user, n := range most {
		if n > 1 {
			t.Errorf("%d link calls to %s in flight at once, want one at a time", n, user)
		}
	}
	if ids, _ := emu.Identities(pool, "alice"); len(ids) != 1 {
		t.Errorf("alice holds %v, want the one identity", ids)
	}
}
