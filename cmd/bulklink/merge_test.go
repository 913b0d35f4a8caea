package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/bulklink/bulklink/emulator"
	"github.com/bulklink/bulklink/internal/testseed"
)

const mergePool = "us-east-1_Merge0001"

// mergeCase is a row of a merge scenario and what must become of it.
type mergeCase struct {
	row        string // the input row: destination_user,source_provider,source_value
	wantStatus string
	wantCode   string
	profile    string // the profile a merged row deletes
}

// mergeScenario is a pool where n identities of Google signed in before they were linked:
// each native user u<i> (email u<i>@example.com, verified, sub dest-<i>) has a profile
// Google_m<i> (the same email, verified, sub old-<i>; every other one in the group staff),
// and a row links m<i> to u<i>. Then the rows each precondition refuses, a plain new link,
// and a link already in place.
func mergeScenario(n int) (emulator.Seed, []mergeCase) {
	verified := func(email, sub string) map[string]string {
		return map[string]string{"email": email, "email_verified": "true", "sub": sub}
	}
	no := false
	p := emulator.SeedPool{ID: mergePool, IdentityProviders: []emulator.SeedProvider{{Name: "Google", Type: "Google"}, {Name: "Facebook", Type: "Facebook"}},
		Groups: []emulator.SeedGroup{{Name: "staff", Description: "the staff"}}}
	var cases []mergeCase
	for i := range n {
		u, prof := fmt.Sprintf("u%d", i), fmt.Sprintf("Google_m%d", i)
		email := u + "@example.com"
		p.Users = append(p.Users, emulator.SeedUser{Username: u, Attributes: verified(email, fmt.Sprintf("dest-%d", i))})
		pu := emulator.SeedUser{Username: prof, Federated: true, Attributes: verified(email, fmt.Sprintf("old-%d", i))}
		if i%2 == 0 {
			pu.Groups = []string{"staff"}
		}
		p.Users = append(p.Users, pu)
		cases = append(cases, mergeCase{row: fmt.Sprintf("%s,Google,m%d", u, i), wantStatus: "merged", profile: prof})
	}
	refusal := func(dest, prof string, du, pu emulator.SeedUser, code string) {
		du.Username, pu.Username = dest, prof
		p.Users = append(p.Users, du, pu)
		cases = append(cases, mergeCase{row: dest + ",Google," + strings.TrimPrefix(prof, "Google_"), wantStatus: "invalid", wantCode: code})
	}
	// A native user named like a profile is no profile: Cognito links the identity.
	p.Users = append(p.Users, emulator.SeedUser{Username: "r1", Attributes: verified("r1@example.com", "")},
		emulator.SeedUser{Username: "Google_notfed", Attributes: verified("r1@example.com", "")})
	cases = append(cases, mergeCase{row: "r1,Google,notfed", wantStatus: "linked"})
	refusal("r2", "Google_more", emulator.SeedUser{Attributes: verified("r2@example.com", "")},
		emulator.SeedUser{Federated: true, Attributes: verified("r2@example.com", ""), Identities: []emulator.SeedIdentity{{Provider: "Facebook", Value: "fb2"}}},
		"MergeProfileHasOtherIdentities")
	refusal("r3", "Google_other", emulator.SeedUser{Attributes: verified("r3@example.com", "")},
		emulator.SeedUser{Federated: true, Attributes: verified("someone@example.com", "")}, "MergeEmailMismatch")
	refusal("r4", "Google_unver", emulator.SeedUser{Attributes: verified("r4@example.com", "")},
		emulator.SeedUser{Federated: true, Attributes: map[string]string{"email": "r4@example.com", "email_verified": "false"}}, "MergeEmailNotVerified")
	refusal("r5", "Google_dis", emulator.SeedUser{Attributes: verified("r5@example.com", ""), Enabled: &no},
		emulator.SeedUser{Federated: true, Attributes: verified("r5@example.com", "")}, "DestinationDisabled")
	full := emulator.SeedUser{Attributes: verified("r6@example.com", "")}
	for j := range 5 {
		full.Identities = append(full.Identities, emulator.SeedIdentity{Provider: "Facebook", Value: fmt.Sprintf("r6-%d", j)})
	}
	refusal("r6", "Google_full", full, emulator.SeedUser{Federated: true, Attributes: verified("r6@example.com", "")}, "TooManyIdentities")
	// Two rows that name one user: the profile one would delete is the other's destination.
	p.Users = append(p.Users, emulator.SeedUser{Username: "r7", Attributes: verified("r7@example.com", "")},
		emulator.SeedUser{Username: "Google_conf", Federated: true, Attributes: verified("r7@example.com", "")})
	cases = append(cases, mergeCase{row: "r7,Google,conf", wantStatus: "invalid", wantCode: "MergeConflict"},
		mergeCase{row: "Google_conf,Facebook,fb7", wantStatus: "invalid", wantCode: "MergeConflict"})
	// A plain new link, and one in place already.
	p.Users = append(p.Users, emulator.SeedUser{Username: "plain"}, emulator.SeedUser{Username: "done", Identities: []emulator.SeedIdentity{{Provider: "Google", Value: "gdone"}}})
	cases = append(cases, mergeCase{row: "plain,Google,gplain", wantStatus: "linked"}, mergeCase{row: "done,Google,gdone", wantStatus: "already_linked"})
	return emulator.Seed{UserPools: []emulator.SeedPool{p}}, cases
}

func mergeInput(cases []mergeCase) string {
	var b strings.Builder
	b.WriteString("destination_user,source_provider,source_value\n")
	for _, c := range cases {
		b.WriteString(c.row + "\n")
	}
	return b.String()
}

// checkMerged holds a merge run's outcome to its scenario: every record, the pool (each
// merged identity linked to its user, each profile gone, deleted exactly once, backed up
// before: its backup is on disk with its sub and groups), and the sub map.
func checkMerged(t *testing.T, srv *emulator.Server, rep string, cases []mergeCase) {
	t.Helper()
	recs := readReport(t, rep)
	if len(recs) != len(cases) {
		t.Fatalf("%d records, want one per row: %d", len(recs), len(cases))
	}
	byLine := map[string]record{}
	for _, r := range recs {
		byLine[r["line"]] = r
	}
	backups := readBackups(t, rep)
	subs := readSubs(t, rep)
	deletes := srv.UserCalls("AdminDeleteUser")
	merged := 0
	for i, c := range cases {
		r := byLine[fmt.Sprint(i+2)]
		if r["status"] != c.wantStatus || r["error_code"] != c.wantCode {
			t.Errorf("line %d (%s): %s %s %q, want %s %s", i+2, c.row, r["status"], r["error_code"], r["error_message"], c.wantStatus, c.wantCode)
			continue
		}
		if c.wantStatus != "merged" {
			if r["merged_username"] != "" {
				t.Errorf("line %d: merged_username %q on a row not merged", i+2, r["merged_username"])
			}
			continue
		}
		merged++
		n := strings.TrimPrefix(c.profile, "Google_m")
		user := "u" + n
		if r["merged_username"] != c.profile || r["merged_sub"] != "old-"+n || r["destination_sub"] != "dest-"+n {
			t.Errorf("line %d: merged_username %q, merged_sub %q, destination_sub %q; want %s, old-%s, dest-%s",
				i+2, r["merged_username"], r["merged_sub"], r["destination_sub"], c.profile, n, n)
		}
		if srv.UserExists(mergePool, c.profile) {
			t.Errorf("%s still exists", c.profile)
		}
		if ids, _ := srv.Identities(mergePool, user); len(ids) != 1 || ids[0].ProviderName != "Google" || ids[0].UserID != "m"+n {
			t.Errorf("%s holds %v, want Google m%s", user, ids, n)
		}
		if d := deletes[emulator.UserRef{PoolID: mergePool, Username: c.profile}]; d.Applied != 1 {
			t.Errorf("%s deleted %d times, want once", c.profile, d.Applied)
		}
		b, ok := backups[c.profile]
		switch {
		case !ok:
			t.Errorf("%s was deleted without a backup on disk", c.profile)
		case b.Sub != "old-"+n || b.Destination != user || b.DestinationSub != "dest-"+n:
			t.Errorf("%s's backup: sub %q to %s (sub %q); want old-%s to %s (dest-%s)", c.profile, b.Sub, b.Destination, b.DestinationSub, n, user, n)
		case (atoi(t, n)%2 == 0) != (len(b.Groups) == 1 && b.Groups[0] == "staff"):
			t.Errorf("%s's backup has the groups %v", c.profile, b.Groups)
		}
		if subs["old-"+n] != "dest-"+n {
			t.Errorf("the sub map has old-%s → %q, want dest-%s", n, subs["old-"+n], n)
		}
	}
	if len(subs) != merged {
		t.Errorf("the sub map has %d rows, want one per merged row: %d", len(subs), merged)
	}
	for ref, c := range deletes {
		if c.Applied > 1 {
			t.Errorf("%v deleted %d times", ref, c.Applied)
		}
	}
}

// backupOf is what the tests read of a backup.
type backupOf struct {
	Line           int      `json:"line"`
	Username       string   `json:"username"`
	Sub            string   `json:"sub"`
	Destination    string   `json:"destination_user"`
	DestinationSub string   `json:"destination_sub"`
	Groups         []string `json:"-"`
}

// readBackups reads the backup file of a report, by the username backed up (the latest).
func readBackups(t *testing.T, rep string) map[string]backupOf {
	t.Helper()
	f, err := os.Open(rep + ".merged.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if fi, _ := f.Stat(); fi.Mode().Perm() != 0o600 {
		t.Errorf("the backup file is %v, want 0600", fi.Mode().Perm())
	}
	out := map[string]backupOf{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var b backupOf
		var raw struct {
			Groups []struct{ Name string } `json:"groups"`
		}
		if err := json.Unmarshal(sc.Bytes(), &b); err != nil {
			t.Fatalf("backup %q: %v", sc.Text(), err)
		}
		json.Unmarshal(sc.Bytes(), &raw)
		b.Groups = nil
		for _, g := range raw.Groups {
			b.Groups = append(b.Groups, g.Name)
		}
		out[b.Username] = b
	}
	return out
}

// readSubs reads the sub map of a report: old sub → new sub.
func readSubs(t *testing.T, rep string) map[string]string {
	t.Helper()
	f, err := os.Open(rep + ".subs.csv")
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 || strings.Join(rows[0], ",") != "user_pool_id,old_sub,new_sub,old_username,destination_user" {
		t.Fatalf("the sub map's header: %v", rows)
	}
	m := map[string]string{}
	for _, r := range rows[1:] {
		m[r[1]] = r[2]
	}
	return m
}

// TestMerge: identities that signed in before they were linked are merged into their users,
// every precondition refuses what it should, and with faults on every call (lost answers,
// 500s before and after the change, dropped connections) and throttling (quotas under what an
// unpaced run asks) every profile is still deleted exactly once, after its backup, and every
// identity linked. BULKLINK_LONG_TESTS=1 merges 3,000 rows.
func TestMerge(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		n      int
		faults emulator.Options
	}{
		{"no faults", 20, emulator.Options{}},
		{"faults", 300, emulator.Options{Fault5xx: 0.05, Fault5xxAfter: 0.05, FaultLost: 0.05, FaultDrop: 0.05,
			WriteQuota: 60, ReadQuota: 100, QuotaBurst: 50 * time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if longTests() && tc.n > 20 {
				tc.n = 3000
			}
			seed, cases := mergeScenario(tc.n)
			opt := tc.faults
			opt.Seed = int64(testseed.Seed(t))
			srv := startEmulator(t, opt, seed)
			in := writeFile(t, "links.csv", mergeInput(cases))
			rep := in + ".report.csv"
			res := bulklink(t, nil, "run", "--input", in, "--report", rep, "--endpoint-url", srv.URL, "--user-pool-id", mergePool,
				"--rate", "0", "--read-rate", "0", "--merge-signed-in", "--max-attempts", "12")
			if res.code != exitRows {
				t.Fatalf("exit %d, want %d (the refused rows)\n%s", res.code, exitRows, res.stderr)
			}
			checkMerged(t, srv, rep, cases)
			if tc.faults.WriteQuota > 0 {
				throttled := 0
				for _, op := range []string{"AdminLinkProviderForUser", "AdminDeleteUser", "AdminUserGlobalSignOut", "AdminGetUser"} {
					throttled += int(srv.Outcomes(op)["TooManyRequestsException"])
				}
				if throttled == 0 {
					t.Errorf("no call was throttled: the test did not merge under throttling")
				}
				t.Logf("%d calls throttled", throttled)
			}
		})
	}
}

// TestMergeNeverDeletesANativeUser: when Cognito answers "Merging is not currently supported"
// and the user named like the identity's profile is a native user, not a federated profile
// (its status is not EXTERNAL_PROVIDER), nothing is deleted: the row is MergeProfileNotFederated.
func TestMergeNeverDeletesANativeUser(t *testing.T) {
	t.Parallel()
	seed := emulator.Seed{UserPools: []emulator.SeedPool{{ID: mergePool, IdentityProviders: []emulator.SeedProvider{{Name: "Google", Type: "Google"}},
		Users: []emulator.SeedUser{{Username: "alice", Attributes: map[string]string{"email": "a@example.com", "email_verified": "true"}},
			{Username: "Google_g1", Attributes: map[string]string{"email": "a@example.com", "email_verified": "true"}}}}}}
	emu, url := answerRewriter(t, seed, func(string) (string, string, bool) { return "InvalidParameterException", mergingAnswer, false })
	in := writeFile(t, "links.csv", "destination_user,source_provider,source_value\nalice,Google,g1\n")
	rep := in + ".report.csv"
	res := bulklink(t, nil, "run", "--input", in, "--report", rep, "--endpoint-url", url, "--user-pool-id", mergePool, "--rate", "0", "--read-rate", "0", "--merge-signed-in")
	if res.code != exitRows {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	if r := readReport(t, rep)[0]; r["status"] != "invalid" || r["error_code"] != "MergeProfileNotFederated" {
		t.Errorf("%s %s %q, want invalid MergeProfileNotFederated", r["status"], r["error_code"], r["error_message"])
	}
	if !emu.UserExists(mergePool, "Google_g1") || emu.Calls("AdminDeleteUser") != 0 {
		t.Errorf("the native user Google_g1 was deleted (%d deletes)", emu.Calls("AdminDeleteUser"))
	}
}

// TestMergeUnverified: --merge-unverified merges rows whose emails are not verified or not
// equal; without --merge-signed-in, a signed-in identity fails SourceAlreadySignedIn and
// nothing is deleted.
func TestMergeUnverified(t *testing.T) {
	t.Parallel()
	seed, cases := mergeScenario(2)
	srv := startEmulator(t, emulator.Options{}, seed)
	in := writeFile(t, "links.csv", mergeInput(cases))
	plain := bulklink(t, nil, "run", "--input", in, "--report", in+".plain.csv", "--endpoint-url", srv.URL, "--user-pool-id", mergePool, "--rate", "0", "--read-rate", "0")
	if plain.code != exitRows {
		t.Fatalf("run without --merge-signed-in: exit %d\n%s", plain.code, plain.stderr)
	}
	for _, r := range readReport(t, in+".plain.csv") {
		if strings.HasPrefix(r["destination_user"], "u") && (r["status"] != "failed" || r["error_code"] != "SourceAlreadySignedIn") {
			t.Errorf("line %s without --merge-signed-in: %s %s, want failed SourceAlreadySignedIn", r["line"], r["status"], r["error_code"])
		}
	}
	if n := srv.Calls("AdminDeleteUser"); n != 0 {
		t.Fatalf("%d deletes without --merge-signed-in", n)
	}
	rep := in + ".report.csv"
	res := bulklink(t, nil, "run", "--input", in, "--report", rep, "--endpoint-url", srv.URL, "--user-pool-id", mergePool,
		"--rate", "0", "--read-rate", "0", "--merge-signed-in", "--merge-unverified", "--log-format", "json")
	if res.code != exitRows {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	if !strings.Contains(res.stderr, "--merge-unverified") {
		t.Errorf("no warning of --merge-unverified in the log:\n%s", res.stderr)
	}
	for _, r := range readReport(t, rep) {
		switch r["destination_user"] {
		case "r3", "r4":
			if r["status"] != "merged" {
				t.Errorf("%s with --merge-unverified: %s %s %q, want merged", r["destination_user"], r["status"], r["error_code"], r["error_message"])
			}
		case "r2", "r5", "r6":
			if r["status"] != "invalid" {
				t.Errorf("%s with --merge-unverified: %s, want invalid still", r["destination_user"], r["status"])
			}
		}
	}
}

// TestMergePredict: validate --predict --merge-signed-in tells, with reads only, which rows
// would merge and which a precondition refuses, as run then does.
func TestMergePredict(t *testing.T) {
	t.Parallel()
	seed, cases := mergeScenario(3)
	srv := startEmulator(t, emulator.Options{}, seed)
	in := writeFile(t, "links.csv", mergeInput(cases))
	res := bulklink(t, nil, "validate", "--predict", "--merge-signed-in", "--input", in, "--report", in+".predict.csv", "--endpoint-url", srv.URL,
		"--user-pool-id", mergePool, "--read-rate", "0")
	if res.code != exitRows {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	for i, r := range readReport(t, in+".predict.csv") {
		c := cases[i]
		want, code := c.wantStatus, c.wantCode
		switch want {
		case "merged", "linked":
			want = "valid"
		}
		if r["status"] != want || r["error_code"] != code {
			t.Errorf("line %s (%s): predicted %s %s %q, want %s %s", r["line"], c.row, r["status"], r["error_code"], r["error_message"], want, code)
		}
		if c.wantStatus == "merged" && !strings.Contains(r["error_message"], "would merge") {
			t.Errorf("line %s: %q, want it to say the row would merge", r["line"], r["error_message"])
		}
	}
	if n := srv.Calls("AdminDeleteUser") + srv.Calls("AdminUserGlobalSignOut") + srv.Calls("AdminLinkProviderForUser"); n != 0 {
		t.Errorf("%d write calls by a prediction", n)
	}
}

// TestMergeCrashPoints: a run killed at each point of a merge (kill -9 there, by the
// failpoint hook) and run again ends as an uninterrupted run would: every profile deleted
// exactly once, after its backup; every identity linked; nothing left half-merged.
func TestMergeCrashPoints(t *testing.T) {
	t.Parallel()
	for _, point := range []string{"merge", "backup", "backed-up", "signout", "signed-out", "delete", "deleted", "link", "linked"} {
		t.Run(point, func(t *testing.T) {
			t.Parallel()
			seed, cases := mergeScenario(4)
			srv := startEmulator(t, emulator.Options{}, seed)
			in := writeFile(t, "links.csv", mergeInput(cases))
			rep := in + ".report.csv"
			args := []string{"run", "--input", in, "--report", rep, "--endpoint-url", srv.URL, "--user-pool-id", mergePool,
				"--rate", "0", "--read-rate", "0", "--merge-signed-in", "--concurrency", "1"}
			// The second merge's point: the first row is done, the second half-merged.
			crashed := bulklink(t, []string{"BULKLINK_FAILPOINT=" + point + ":2"}, args...)
			if crashed.code != -1 && crashed.code != 137 {
				t.Fatalf("the run with the failpoint: exit %d, want killed\n%s", crashed.code, crashed.stderr)
			}
			if res := bulklink(t, nil, args...); res.code != exitRows {
				t.Fatalf("the run after the crash: exit %d\n%s", res.code, res.stderr)
			}
			checkMerged(t, srv, rep, cases)
		})
	}
}

// TestMergeCrashSoak: a merge of many rows, with lost answers and 500s, killed with SIGKILL at
// random moments and resumed each time with the same command, ends with every identity linked
// to its user, every profile deleted exactly once with its backup on disk, and the report and
// the sub map in agreement with the pool.
func TestMergeCrashSoak(t *testing.T) {
	t.Parallel()
	n := 300
	if longTests() {
		n = 2000
	}
	seed, cases := mergeScenario(n)
	srv := startEmulator(t, emulator.Options{Latency: 3 * time.Millisecond, FaultLost: 0.03, Fault5xxAfter: 0.03, Seed: int64(testseed.Seed(t))}, seed)
	in := writeFile(t, "links.csv", mergeInput(cases))
	rep := in + ".report.csv"
	args := []string{"run", "--input", in, "--report", rep, "--endpoint-url", srv.URL, "--user-pool-id", mergePool,
		"--rate", "0", "--read-rate", "0", "--merge-signed-in", "--max-attempts", "12", "--progress", "never"}
	soak := killSoak{args: args, report: rep, rows: len(cases), kills: 10, attempts: 40, pause: 150 * time.Millisecond, early: true}
	kills := soak.run(t, rand.New(rand.NewPCG(testseed.Seed(t), 7)))
	if res := bulklink(t, nil, args...); res.code != exitRows {
		t.Fatalf("final run: exit %d\n%s", res.code, res.stderr)
	}
	checkMerged(t, srv, rep, cases)
	if kills < 10 {
		t.Errorf("%d kills landed, want at least 10", kills)
	}
	t.Logf("%d kills; %d deletes, %d links for %d rows", kills, srv.Calls("AdminDeleteUser"), srv.Calls("AdminLinkProviderForUser"), len(cases))
}

// TestMergeThenSignIn: after a merge, the identity's next sign-in (the emulator's rehearsal
// sign-in) lands in the user it was merged into, not in a new profile; undo of the merged row
// unlinks it, says what cannot come back, and the next sign-in makes a new profile.
func TestMergeThenSignIn(t *testing.T) {
	t.Parallel()
	seed, cases := mergeScenario(1)
	srv := startEmulator(t, emulator.Options{}, seed)
	in := writeFile(t, "links.csv", mergeInput(cases[:1]))
	rep := in + ".report.csv"
	common := []string{"--endpoint-url", srv.URL, "--user-pool-id", mergePool, "--rate", "0", "--read-rate", "0"}
	if res := bulklink(t, nil, append([]string{"run", "--input", in, "--report", rep, "--merge-signed-in"}, common...)...); res.code != exitOK {
		t.Fatalf("run: exit %d\n%s", res.code, res.stderr)
	}
	got, err := srv.FederatedSignIn(mergePool, "Google", "m0", map[string]string{"email": "u0@example.com"})
	if err != nil || got.Username != "u0" || got.Created {
		t.Fatalf("sign-in after the merge: %+v, %v; want into u0", got, err)
	}
	res := bulklink(t, nil, append([]string{"undo", "--report", rep, "--undo-report", in + ".undo.csv", "--yes"}, common...)...)
	if res.code != exitOK {
		t.Fatalf("undo: exit %d\n%s", res.code, res.stderr)
	}
	if !strings.Contains(res.stderr, "cannot come back") {
		t.Errorf("undo did not say that the merged profile cannot come back:\n%s", res.stderr)
	}
	for _, r := range readReport(t, in+".undo.csv") {
		if r["status"] != "unlinked" || !strings.Contains(r["error_message"], "cannot come back") {
			t.Errorf("undo of the merged row: %s %q, want unlinked, saying what cannot come back", r["status"], r["error_message"])
		}
	}
	got, err = srv.FederatedSignIn(mergePool, "Google", "m0", map[string]string{"email": "u0@example.com"})
	if err != nil || !got.Created || got.Username == "u0" {
		t.Errorf("sign-in after the undo: %+v, %v; want a new profile", got, err)
	}
}
