package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bulklink/bulklink/emulator"
	"github.com/bulklink/bulklink/internal/seedgen"
	"github.com/bulklink/bulklink/internal/testseed"
	"github.com/bulklink/bulklink/report"
)

const discoverPoolID = "us-east-1_Discover9"

// discoverWorld is an emulator serving a seedgen pool of n users.
type discoverWorld struct {
	srv    *emulator.Server
	seed   emulator.SeedPool
	expect seedgen.Expect
}

func newDiscoverWorld(t *testing.T, opt emulator.Options, n int, caseSensitive bool) *discoverWorld {
	t.Helper()
	p, ex := seedgen.Pool(discoverPoolID, n, caseSensitive)
	return &discoverWorld{srv: startEmulator(t, opt, emulator.Seed{UserPools: []emulator.SeedPool{p}}), seed: p, expect: ex}
}

func (w *discoverWorld) args(output string, extra ...string) []string {
	return append([]string{"discover", "--user-pool-id", discoverPoolID, "--endpoint-url", w.srv.URL, "--output", output,
		"--list-rate", "0", "--progress", "never", "--log-format", "json"}, extra...)
}

// readTable reads a CSV or JSONL file into records keyed by column.
func readTable(t *testing.T, path string) []record {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var recs []record
	if strings.HasSuffix(path, ".jsonl") {
		for l := range strings.SplitSeq(strings.TrimSuffix(string(b), "\n"), "\n") {
			if l == "" {
				continue
			}
			r, _ := jsonRecord(t, l)
			if r == nil {
				t.Fatalf("%s: not a JSON object: %q", path, l)
			}
			recs = append(recs, r)
		}
		return recs
	}
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for _, row := range rows[1:] {
		r := record{}
		for i, name := range rows[0] {
			r[name] = row[i]
		}
		recs = append(recs, r)
	}
	return recs
}

// checkDiscovered checks that between them, the output and the refused file give every
// candidate its expected outcome, once, and name no one else.
func checkDiscovered(t *testing.T, output, refused string, duplicates bool, want map[string]seedgen.Outcome) (rows []record) {
	t.Helper()
	got := map[string]string{}
	note := func(user, outcome string) {
		if prev, ok := got[user]; ok {
			t.Errorf("%s: %s and %s: a candidate twice", user, prev, outcome)
		}
		got[user] = outcome
	}
	rows = readTable(t, output)
	for _, r := range rows {
		user := r["destination_user"]
		if duplicates {
			user = r["source_username"]
		}
		note(user, fmt.Sprintf("row %s %s %s", r["destination_user"], r["source_provider"], r["source_value"]))
	}
	for _, r := range readTable(t, refused) {
		note(r["username"], r["code"])
	}
	bad := 0
	for user, o := range want {
		if got[user] != o.String() {
			if bad++; bad <= 10 {
				t.Errorf("%s: got %q, want %q", user, got[user], o)
			}
		}
	}
	for user, o := range got {
		if _, ok := want[user]; !ok {
			if bad++; bad <= 10 {
				t.Errorf("%s: got %q, and it is no candidate", user, o)
			}
		}
	}
	if bad > 10 {
		t.Errorf("%d candidates wrong of %d", bad, len(want))
	}
	return rows
}

// Issue 19's end to end: over HTTP against an emulator holding a pool of every case,
// discover's output, fed to validate and then run, links exactly the safe set, and the
// refused file lists every other candidate with its code; the duplicates, which run alone
// cannot link, are all SourceAlreadySignedIn.
func TestDiscoverThenRun(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		n             int
		caseSensitive bool
		ext           string
	}{{50_000, true, "csv"}, {5_000, false, "jsonl"}} {
		t.Run(fmt.Sprintf("%d users, case-sensitive %t", c.n, c.caseSensitive), func(t *testing.T) {
			t.Parallel()
			w := newDiscoverWorld(t, emulator.Options{}, c.n, c.caseSensitive)
			dir := t.TempDir()

			// --provider Okta --by email: the native users.
			links := filepath.Join(dir, "links."+c.ext)
			res := bulklink(t, nil, w.args(links, "--provider", "Okta", "--by", "email")...)
			if res.code != exitRows {
				t.Fatalf("discover: exit %d, want 1 (some candidates refused)", res.code)
			}
			rows := checkDiscovered(t, links, filepath.Join(dir, "links.refused."+c.ext), false, w.expect.ByEmail)
			checkSummary(t, links, len(rows))

			// --duplicates: the profiles, before run links anyone (a user's identities change).
			dups := filepath.Join(dir, "dups."+c.ext)
			if res := bulklink(t, nil, w.args(dups, "--duplicates")...); res.code != exitRows {
				t.Fatalf("discover --duplicates: exit %d, want 1", res.code)
			}
			dupRows := checkDiscovered(t, dups, filepath.Join(dir, "dups.refused."+c.ext), true, w.expect.Duplicates)
			if len(dupRows) == 0 {
				t.Fatal("no duplicate found")
			}
			res = bulklink(t, nil, "validate", "--input", links, "--endpoint-url", w.srv.URL, "--online", "--report", filepath.Join(dir, "v.csv"))
			if res.code != exitOK {
				t.Fatalf("validate: exit %d, want 0: every row valid", res.code)
			}
			rep := filepath.Join(dir, "r.csv")
			res = bulklink(t, nil, "run", "--input", links, "--endpoint-url", w.srv.URL, "--report", rep, "--rate", "0", "--read-rate", "0",
				"--concurrency", "16", "--progress", "never")
			if res.code != exitOK {
				t.Fatalf("run: exit %d, want 0: every row linked", res.code)
			}
			linked := map[string]string{} // user: the Okta identity it got
			for _, u := range w.seed.Users {
				name := u.Username
				if !c.caseSensitive {
					name = strings.ToLower(name)
				}
				ids, _ := w.srv.Identities(discoverPoolID, name)
				for _, id := range ids {
					if id.ProviderName == "Okta" && id.AttributeName == "email" && !slices.ContainsFunc(u.Identities, func(s emulator.SeedIdentity) bool { return s.Provider == "Okta" }) {
						linked[name] = id.UserID
					}
				}
			}
			safe := 0
			for user, o := range w.expect.ByEmail {
				if o.Code == "" {
					safe++
					if linked[user] != o.Value {
						t.Errorf("%s: linked to %q, want Okta %q", user, linked[user], o.Value)
					}
				} else if v, ok := linked[user]; ok {
					t.Errorf("%s (%s) was linked to %q", user, o.Code, v)
				}
			}
			if len(linked) != safe {
				t.Errorf("%d users linked, want exactly the %d of the safe set", len(linked), safe)
			}

			if res := bulklink(t, nil, "validate", "--input", dups, "--endpoint-url", w.srv.URL, "--online"); res.code != exitOK {
				t.Fatalf("validate of the duplicates: exit %d, want 0", res.code)
			}
			rep = filepath.Join(dir, "d.csv")
			bulklink(t, nil, "run", "--input", dups, "--endpoint-url", w.srv.URL, "--report", rep, "--rate", "0", "--read-rate", "0", "--progress", "never")
			for _, r := range readReport(t, rep) {
				if r["status"] != "failed" || r["error_code"] != "SourceAlreadySignedIn" {
					t.Errorf("line %s: %s %s, want failed SourceAlreadySignedIn: the identity has a profile", r["line"], r["status"], r["error_code"])
				}
			}
		})
	}
}

// checkSummary checks the summary beside a discover's output.
func checkSummary(t *testing.T, output string, rows int) {
	t.Helper()
	var sum struct {
		Command  string           `json:"command"`
		State    string           `json:"state"`
		ExitCode int              `json:"exit_code"`
		ByStatus map[string]int64 `json:"by_status"`
		Users    int64            `json:"users_listed"`
	}
	b, err := os.ReadFile(output + ".summary.json")
	if err != nil || json.Unmarshal(b, &sum) != nil {
		t.Fatalf("summary: %v", err)
	}
	if sum.Command != "discover" || sum.State != "finished" || sum.ExitCode != 1 || sum.ByStatus["emitted"] != int64(rows) || sum.Users == 0 {
		t.Errorf("summary: %s", b)
	}
}

// A discover killed with SIGKILL at seeded random moments (listing, matching, writing) and
// run again each time ends with the bytes of one that ran through.
func TestDiscoverKillSoak(t *testing.T) {
	t.Parallel()
	w := newDiscoverWorld(t, emulator.Options{Latency: 2 * time.Millisecond}, 50_000, true)
	dir := t.TempDir()
	whole := filepath.Join(dir, "whole.csv")
	if res := bulklink(t, nil, w.args(whole, "--duplicates")...); res.code != exitRows {
		t.Fatalf("uninterrupted discover: exit %d", res.code)
	}
	out := filepath.Join(dir, "links.csv")
	args := w.args(out, "--duplicates")
	rnd := rand.New(rand.NewPCG(testseed.Seed(t), 7))
	kills, listedKills := 0, 0
	for attempt := 0; kills < 12; attempt++ {
		if attempt > 60 {
			t.Fatalf("only %d kills landed in %d attempts", kills, attempt)
		}
		cmd := exec.Command(binary, args...)
		cmd.Env = append(cleanEnv(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION=us-east-1")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Now and then, wait for the listing to end and kill the match.
		if rnd.IntN(4) == 0 {
			for deadline := time.Now().Add(30 * time.Second); !stateListed(out) && time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
			}
			time.Sleep(time.Duration(rnd.IntN(80)) * time.Millisecond)
		} else {
			time.Sleep(time.Duration(20+rnd.IntN(500)) * time.Millisecond)
		}
		cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		if ee, ok := errors.AsType[*exec.ExitError](err); !ok || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			break // it finished first
		}
		kills++
		if stateListed(out) {
			listedKills++
		}
	}
	t.Logf("%d kills, %d of them once the listing was done", kills, listedKills)
	if kills < 10 {
		t.Fatalf("%d kills landed: want at least 10", kills)
	}
	if res := bulklink(t, nil, args...); res.code != exitRows {
		t.Fatalf("final discover: exit %d, want 1", res.code)
	}
	for _, p := range [][2]string{{whole, out}, {filepath.Join(dir, "whole.refused.csv"), filepath.Join(dir, "links.refused.csv")}} {
		a, _ := os.ReadFile(p[0])
		b, err := os.ReadFile(p[1])
		if err != nil || !bytes.Equal(a, b) || len(a) == 0 {
			t.Errorf("%s differs from %s, written by a discover never killed (%v)", p[1], p[0], err)
		}
	}
	if a, b := listed(t, whole), listed(t, out); a != b || a == 0 {
		t.Errorf("the killed discover counts %d users listed, the uninterrupted one %d: a page counted twice or skipped", b, a)
	}
	spilled := func(output string) int64 {
		var st struct {
			Records int64 `json:"spill_records"`
		}
		json.Unmarshal([]byte(readFile(output+".discover.json")), &st)
		return st.Records
	}
	if a, b := spilled(whole), spilled(out); a != b || a == 0 {
		t.Errorf("the killed discover spilled %d records, the uninterrupted one %d: a page spilled twice or lost", b, a)
	}
	for _, left := range []string{out + ".partial", filepath.Join(dir, "links.refused.csv.partial"), out + ".discover.spill"} {
		if _, err := os.Lstat(left); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s is left behind", left)
		}
	}
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// listed is the users the discover of output listed, as its summary says.
func listed(t *testing.T, output string) int64 {
	t.Helper()
	var sum struct {
		Users int64 `json:"users_listed"`
	}
	b, err := os.ReadFile(output + ".summary.json")
	if err != nil || json.Unmarshal(b, &sum) != nil {
		t.Fatalf("summary of %s: %v", output, err)
	}
	return sum.Users
}

// stateListed reports whether the discover of output has listed the whole pool.
func stateListed(output string) bool {
	b, err := os.ReadFile(output + ".discover.json")
	var st struct {
		Listed bool `json:"listed"`
	}
	return err == nil && json.Unmarshal(b, &st) == nil && st.Listed
}

// Ctrl-C stops the listing at once, exit 130, and the same command continues it.
func TestDiscoverSignalContinues(t *testing.T) {
	t.Parallel()
	w := newDiscoverWorld(t, emulator.Options{}, 3000, true)
	dir := t.TempDir()
	whole := filepath.Join(dir, "whole.jsonl")
	bulklink(t, nil, w.args(whole, "--provider", "Okta", "--by", "email")...)
	out := filepath.Join(dir, "links.jsonl")
	args := append(w.args(out, "--provider", "Okta", "--by", "email"), "--list-rate", "20", "--progress", "auto", "--progress-interval", "100ms")
	cmd := exec.Command(binary, args...)
	cmd.Env = append(cleanEnv(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION=us-east-1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); statePages(out) == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no page committed: %s", stderr.String())
		}
	}
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	if ee, ok := errors.AsType[*exec.ExitError](err); !ok || ee.ExitCode() != exitSIGINT {
		t.Fatalf("after SIGINT: %v, want exit 130\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), `"msg":"progress","phase":"listing","users":`) || !strings.Contains(stderr.String(), `"estimated":3000`) {
		t.Errorf("no progress record without a terminal: %s", tail(stderr.String(), 600))
	}
	if !strings.Contains(stderr.String(), `"state":"stopped"`) {
		t.Errorf("the last log record does not say stopped: %s", tail(stderr.String(), 600))
	}
	res := bulklink(t, nil, w.args(out, "--provider", "Okta", "--by", "email")...)
	if res.code != exitRows || !strings.Contains(res.stderr, `"resumed_users":`) || strings.Contains(res.stderr, `"resumed_users":0`) {
		t.Fatalf("continued: exit %d, want 1, users resumed", res.code)
	}
	a, _ := os.ReadFile(whole)
	b, _ := os.ReadFile(out)
	if !bytes.Equal(a, b) {
		t.Error("the continued discover wrote another output than one that ran through")
	}
}

// statePages is how many pages the discover of output has committed.
func statePages(output string) int {
	b, _ := os.ReadFile(output + ".discover.json")
	var st struct {
		Pages int `json:"pages"`
	}
	json.Unmarshal(b, &st)
	return st.Pages
}

// What discover refuses on its command line or in the pool, before listing anyone.
func TestDiscoverRefusals(t *testing.T) {
	t.Parallel()
	w := newDiscoverWorld(t, emulator.Options{}, 200, true)
	dir := t.TempDir()
	out := filepath.Join(dir, "links.csv")
	for _, c := range []struct {
		name string
		args []string
		code int
		says string
	}{
		{"no mode", w.args(out), exitUsage, "--provider NAME --by ATTR, or --duplicates"},
		{"--by with --duplicates", w.args(out, "--duplicates", "--by", "email"), exitUsage, "not with --duplicates"},
		{"--provider without --by", w.args(out, "--provider", "Okta"), exitUsage, "needs --by"},
		{"a bad filter", w.args(out, "--duplicates", "--filter", `email_verified = "true"`), exitUsage, "cannot filter on email_verified"},
		{"a filter prefix ending with @", w.args(out, "--duplicates", "--filter", `email ^= "alice@"`), exitUsage, "ends with @"},
		{"an output of another format", w.args(filepath.Join(dir, "links.txt"), "--duplicates"), exitUsage, ".csv or .jsonl"},
		{"a social provider by email", w.args(out, "--provider", "Google", "--by", "email"), exitUsage, "AttributeNotMapped"},
		{"an attribute Okta does not map", w.args(out, "--provider", "Okta", "--by", "name"), exitUsage, "AttributeNotMapped"},
		{"a provider the pool lacks", w.args(out, "--provider", "okta", "--by", "email"), exitUsage, `it has "Okta"`},
		{"a pool that does not exist", append(w.args(out, "--duplicates"), "--user-pool-id", "us-east-1_Missing00"), exitFatal, "does not exist"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := w.srv.Calls("ListUsers")
			res := bulklink(t, nil, c.args...)
			if res.code != c.code || !strings.Contains(res.stderr, c.says) {
				t.Errorf("exit %d, want %d and %q in:\n%s", res.code, c.code, c.says, res.stderr)
			}
			if n := w.srv.Calls("ListUsers") - before; n != 0 {
				t.Errorf("%d ListUsers calls before the refusal", n)
			}
			if _, err := os.Lstat(out); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s was written", out)
			}
		})
	}

	// Another discover holds the output: exit 75.
	unlock, err := report.Lock(out)
	if err != nil {
		t.Fatal(err)
	}
	res := bulklink(t, nil, w.args(out, "--duplicates")...)
	unlock()
	if res.code != exitLocked {
		t.Errorf("locked: exit %d, want 75", res.code)
	}
	// A file of the user's at --output is never replaced.
	mine := filepath.Join(dir, "mine.csv")
	os.WriteFile(mine, []byte("destination_user,source_provider,source_value,email\nbob,Okta,b@x,b@x\n"), 0o600)
	if res := bulklink(t, nil, w.args(mine, "--duplicates")...); res.code != exitUsage || !strings.Contains(res.stderr, "no mine.csv.discover.json beside the output") {
		t.Errorf("an existing file: exit %d, want 2 and why:\n%s", res.code, res.stderr)
	}
	// Another query over a discover that listed users: exit 2, unless --restart.
	if res := bulklink(t, nil, w.args(out, "--duplicates")...); res.code != exitRows {
		t.Fatalf("discover: exit %d", res.code)
	}
	if res := bulklink(t, nil, w.args(out, "--duplicates", "--email-domain", "corp.example")...); res.code != exitUsage || !strings.Contains(res.stderr, "--restart") {
		t.Errorf("another query: exit %d, want 2 naming --restart", res.code)
	}
	if res := bulklink(t, nil, w.args(out, "--duplicates", "--email-domain", "corp.example", "--restart")...); res.code != exitRows {
		t.Errorf("--restart: exit %d, want 1", res.code)
	}
}

// On a terminal discover shows a bar and prints a summary for a person, with the next step;
// --allow-unverified-email warns in the log and in the summary.
func TestDiscoverOnATerminal(t *testing.T) {
	t.Parallel()
	w := newDiscoverWorld(t, emulator.Options{}, 2000, true)
	out := filepath.Join(t.TempDir(), "links.csv")
	screen, code := onTerminal(t, 100, "discover", "--user-pool-id", discoverPoolID, "--endpoint-url", w.srv.URL, "--output", out,
		"--provider", "Okta", "--by", "email", "--allow-unverified-email", "--list-rate", "0")
	if code != exitRows {
		t.Fatalf("exit %d, want 1:\n%s", code, screen)
	}
	text := screenOf(100, screen)
	for _, want := range []string{"users listed in", "refused by code:", "AmbiguousEmail", "WARN", "warning: --allow-unverified-email",
		"rows with an unverified email", "next: bulklink validate --input " + out, "users/s"} {
		if !strings.Contains(text, want) {
			t.Errorf("the screen lacks %q:\n%s", want, text)
		}
	}
	// Done already: the same command prints the summary again, inert.
	again, code := onTerminal(t, 100, "discover", "--user-pool-id", discoverPoolID, "--endpoint-url", w.srv.URL, "--output", out,
		"--provider", "Okta", "--by", "email", "--allow-unverified-email", "--progress", "never")
	if code != exitRows || !strings.Contains(screenOf(100, again), "finished already") {
		t.Errorf("again: exit %d:\n%s", code, again)
	}
	checkInert(t, "discover", again)
	rows := readTable(t, out)
	unverified := 0
	for _, r := range rows {
		if r["unverified_email"] == "true" {
			unverified++
		}
	}
	if unverified == 0 {
		t.Error("no row marked unverified_email=true")
	}
}

// The AWS CLI, botocore following the tokens itself, lists the pool in pages of 60 as
// discover reads it: every user once, with email_verified, the status and enabled flag, and
// a profile's identities holding its subject in its own case in a case-insensitive pool.
func TestDiscoverListUsersWithTheAWSCLI(t *testing.T) {
	t.Parallel()
	w := newDiscoverWorld(t, emulator.Options{}, 400, false)
	cli := newAWSCLI(t, w.srv.URL)
	var listed struct {
		Users []struct {
			Username, UserStatus string
			Enabled              bool
			Attributes           []struct{ Name, Value string }
		}
	}
	cli.run(t, "list-users", "--user-pool-id", discoverPoolID, "--page-size", "60").ok(t, &listed)
	filtered := cli.run(t, "list-users", "--user-pool-id", discoverPoolID, "--page-size", "60", "--filter", `email ^= "DUP"`)
	var dups struct{ Users []struct{ Username string } }
	filtered.ok(t, &dups)
	seen := map[string]bool{}
	profiles, verified := 0, 0
	for _, u := range listed.Users {
		if seen[u.Username] {
			t.Errorf("%s listed twice", u.Username)
		}
		seen[u.Username] = true
		attrs := map[string]string{}
		for _, a := range u.Attributes {
			attrs[a.Name] = a.Value
		}
		if attrs["email_verified"] == "true" {
			verified++
		}
		if u.UserStatus == "EXTERNAL_PROVIDER" {
			profiles++
			var ids []struct {
				UserID       string `json:"userId"`
				ProviderName string `json:"providerName"`
				Primary      bool   `json:"primary"`
			}
			if err := json.Unmarshal([]byte(attrs["identities"]), &ids); err != nil || len(ids) == 0 || !ids[0].Primary || ids[0].ProviderName != "Google" ||
				strings.ToLower(ids[0].UserID) != strings.TrimPrefix(u.Username, "google_") || ids[0].UserID == strings.ToLower(ids[0].UserID) {
				t.Errorf("%s: identities %q, want its own Google identity, primary, its subject in its own case", u.Username, attrs["identities"])
			}
		}
	}
	if len(seen) != len(w.seed.Users) || profiles == 0 || verified == 0 {
		t.Errorf("listed %d users (%d profiles, %d verified), want the pool's %d", len(seen), profiles, verified, len(w.seed.Users))
	}
	if len(dups.Users) == 0 || len(dups.Users) >= len(listed.Users) {
		t.Errorf("email ^= \"DUP\" listed %d users, want the dup ones, whatever the case", len(dups.Users))
	}
	for _, u := range dups.Users {
		if !seen[u.Username] {
			t.Errorf("the filter listed %s, which the whole listing did not", u.Username)
		}
	}
}
