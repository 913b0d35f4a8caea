package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/bulklink/bulklink/emulator"
	"github.com/bulklink/bulklink/internal/testseed"
)

// poolState is every user's identities in a pool, "provider:userId", sorted.
func poolState(t *testing.T, emu *emulator.Emulator, seed emulator.Seed) map[string][]string {
	t.Helper()
	state := map[string][]string{}
	for _, p := range seed.UserPools {
		for _, u := range p.Users {
			ids, ok := emu.Identities(p.ID, u.Username)
			if !ok {
				t.Fatalf("user %s of %s vanished", u.Username, p.ID)
			}
			var s []string
			for _, id := range ids {
				s = append(s, id.ProviderName+":"+id.UserID)
			}
			slices.Sort(s)
			state[p.ID+"/"+u.Username] = s
		}
	}
	return state
}

// sameState reports the differences between two states of a pool.
func sameState(t *testing.T, got, want map[string][]string) {
	t.Helper()
	bad := 0
	for _, user := range slices.Sorted(maps.Keys(want)) {
		if !slices.Equal(got[user], want[user]) {
			if bad++; bad <= 20 {
				t.Errorf("%s holds %v, want %v", user, got[user], want[user])
			}
		}
	}
}

// TestUndo: a run with faults (5xx, lost answers, 500 after the call was applied) over the
// mixed file, then its undo, with faults too, leaves every pool exactly as the seed made it,
// and the undo's report has one record per row the run linked.
func TestUndo(t *testing.T) {
	t.Parallel()
	s := mixedScenario(200)
	srv := startEmulator(t, emulator.Options{Fault5xx: 0.05, FaultLost: 0.05, Fault5xxAfter: 0.05}, s.seed)
	before := poolState(t, srv.Emulator, s.seed)
	in := writeFile(t, "links.csv", s.csv())
	rep, undoRep := in+".report.csv", in+".undo.csv"
	common := []string{"--endpoint-url", srv.URL, "--rate", "0", "--read-rate", "0"}
	if res := bulklink(t, nil, append([]string{"run", "--input", in, "--report", rep}, common...)...); res.code != exitRows {
		t.Fatalf("run: exit %d", res.code)
	}
	s.check(t, readReport(t, rep), 2)
	linked := map[string]bool{} // lines of the run's report
	lost := 0
	for _, r := range readReport(t, rep) {
		if r["status"] == "linked" {
			linked[r["line"]] = true
			if strings.Contains(r["error_message"], "made by an earlier attempt") {
				lost++
			}
		}
	}
	t.Logf("%d rows linked, %d of them by an attempt whose answer was lost", len(linked), lost)

	res := bulklink(t, nil, append([]string{"undo", "--report", rep, "--undo-report", undoRep, "--yes"}, common...)...)
	if res.code != exitOK {
		t.Fatalf("undo: exit %d, want 0\n%s", res.code, res.stderr)
	}
	if !strings.Contains(res.stderr, "left to unlink") {
		t.Errorf("undo did not say what it would unlink before it did:\n%s", res.stderr)
	}
	sameState(t, poolState(t, srv.Emulator, s.seed), before)
	recs := readReport(t, undoRep)
	if len(recs) != len(linked) {
		t.Errorf("%d undo records, want one per linked row: %d", len(recs), len(linked))
	}
	for _, r := range recs {
		// line is the row's line in the run's report; input_line its line in the input.
		if !linked[r["input_line"]] {
			t.Errorf("undo record of input line %s, which the run did not link", r["input_line"])
		}
		if r["status"] != "unlinked" {
			t.Errorf("line %s: %s %s (%s), want unlinked", r["line"], r["status"], r["error_code"], r["error_message"])
		}
		if r["input_line"] == "" || r["input_status"] != "linked" {
			t.Errorf("line %s: input_line %q, input_status %q: want the run's columns carried", r["line"], r["input_line"], r["input_status"])
		}
	}

	// An undo of the undo's report is refused: it is not a run's.
	if res := bulklink(t, nil, append([]string{"undo", "--report", undoRep, "--undo-report", in + ".undo2.csv", "--yes"}, common...)...); res.code != exitUsage ||
		!strings.Contains(res.stderr, "is an undo's report") {
		t.Errorf("undo of an undo: exit %d, want %d and a message\n%s", res.code, exitUsage, res.stderr)
	}
	// Run again, undo again into a fresh report: the same.
	if res := bulklink(t, nil, append([]string{"undo", "--report", rep, "--undo-report", undoRep, "--yes"}, common...)...); res.code != exitOK ||
		!strings.Contains(res.stderr, "0 of them left to unlink") {
		t.Errorf("undo again with its own report: exit %d, want 0 and nothing left\n%s", res.code, res.stderr)
	}
}

// TestUndoOptions: --include-already-linked takes back older links too; an undo against
// another pool, endpoint or region than the run's is refused unless --force; without a
// terminal, undo needs --yes.
func TestUndoOptions(t *testing.T) {
	t.Parallel()
	s := mixedScenario(40)
	srv := startEmulator(t, emulator.Options{}, s.seed)
	in := writeFile(t, "links.csv", s.csv())
	rep := in + ".report.csv"
	common := []string{"--endpoint-url", srv.URL, "--rate", "0", "--read-rate", "0"}
	if res := bulklink(t, nil, append([]string{"run", "--input", in, "--report", rep}, common...)...); res.code != exitRows {
		t.Fatalf("run: exit %d", res.code)
	}
	undo := func(name string, extra ...string) result {
		t.Helper()
		return bulklink(t, nil, append(append([]string{"undo", "--report", rep, "--undo-report", in + "." + name + ".csv"}, common...), extra...)...)
	}
	if res := undo("noyes"); res.code != exitUsage || !strings.Contains(res.stderr, "--yes") {
		t.Errorf("undo without --yes and without a terminal: exit %d, want %d asking for --yes\n%s", res.code, exitUsage, res.stderr)
	}
	if n := srv.Calls("AdminDisableProviderForUser"); n != 0 {
		t.Fatalf("%d unlink calls before any confirmation", n)
	}
	other := bulklink(t, []string{"AWS_REGION=eu-west-1"}, "undo", "--report", rep, "--undo-report", in+".region.csv", "--yes",
		"--endpoint-url", srv.URL, "--rate", "0", "--read-rate", "0")
	if other.code != exitUsage || !strings.Contains(other.stderr, "another target") {
		t.Errorf("undo in another region: exit %d, want %d\n%s", other.code, exitUsage, other.stderr)
	}
	if res := undo("pool", "--yes", "--user-pool-id", "us-east-1_Another1"); res.code != exitUsage {
		t.Errorf("undo with another --user-pool-id: exit %d, want %d", res.code, exitUsage)
	}
	if n := srv.Calls("AdminDisableProviderForUser"); n != 0 {
		t.Fatalf("%d unlink calls by refused undos", n)
	}
	res := undo("all", "--yes", "--include-already-linked")
	if res.code != exitOK {
		t.Fatalf("undo --include-already-linked: exit %d\n%s", res.code, res.stderr)
	}
	// Every link the run's report names is gone, the older ones too; the links the seed
	// made for rows the run did not touch (the five of the "sixth identity" users, the
	// identity linked to another user) stay.
	for _, r := range readReport(t, rep) {
		if r["status"] != "linked" && r["status"] != "already_linked" {
			continue
		}
		user := r["destination_user"]
		if r["destination_provider"] != "Cognito" {
			user = r["destination_provider"] + "_" + user
		}
		ids, _ := srv.Identities(s.pool, user)
		for _, id := range ids {
			if id.ProviderName == r["source_provider"] && id.UserID == r["source_value"] {
				t.Errorf("line %s: %s still holds %s %s", r["line"], user, id.ProviderName, id.UserID)
			}
		}
	}
	for _, u := range s.seed.UserPools[0].Users {
		if strings.HasPrefix(u.Username, "f") || strings.HasPrefix(u.Username, "o") {
			if ids, _ := srv.Identities(s.pool, u.Username); len(ids) != len(u.Identities) {
				t.Errorf("%s holds %d identities, want its %d seeded ones", u.Username, len(ids), len(u.Identities))
			}
		}
	}
}

// TestUndoSignedIn: a SAML identity linked by email that signed in since is known to
// Cognito by its subject; undo finds it in the user's identities and unlinks it by
// Cognito_Subject.
func TestUndoSignedIn(t *testing.T) {
	t.Parallel()
	const pool = "us-east-1_Signed001"
	seed := emulator.Seed{UserPools: []emulator.SeedPool{{ID: pool,
		IdentityProviders: []emulator.SeedProvider{{Name: "Okta", Type: "SAML", AttributeMapping: map[string]string{"email": "x"}}},
		Users:             []emulator.SeedUser{{Username: "alice"}, {Username: "bob"}, {Username: "carol"}}}}}
	srv := startEmulator(t, emulator.Options{}, seed)
	in := writeFile(t, "links.csv", "user_pool_id,destination_user,source_provider,source_attribute,source_value\n"+
		pool+",alice,Okta,email,alice@example.com\n"+pool+",bob,Okta,email,bob@example.com\n"+pool+",carol,Okta,email,carol@example.com\n")
	rep, undoRep := in+".report.csv", in+".undo.csv"
	common := []string{"--endpoint-url", srv.URL, "--rate", "0", "--read-rate", "0"}
	if res := bulklink(t, nil, append([]string{"run", "--input", in, "--report", rep}, common...)...); res.code != exitOK {
		t.Fatalf("run: exit %d", res.code)
	}
	if err := srv.SignIn(pool, "Okta", "alice@example.com", "00u-alice"); err != nil {
		t.Fatal(err)
	}
	// carol's link was removed by someone else meanwhile: nothing to undo.
	if _, err := srv.Client().AdminDisableProviderForUser(t.Context(), disable(pool, "Okta", "email", "carol@example.com")); err != nil {
		t.Fatal(err)
	}
	res := bulklink(t, nil, append([]string{"undo", "--report", rep, "--undo-report", undoRep, "--yes"}, common...)...)
	if res.code != exitOK {
		t.Fatalf("undo: exit %d\n%s", res.code, res.stderr)
	}
	got := map[string]record{}
	for _, r := range readReport(t, undoRep) {
		got[r["destination_user"]] = r
	}
	if r := got["alice"]; r["status"] != "unlinked" || !strings.Contains(r["error_message"], "Cognito_Subject=00u-alice") {
		t.Errorf("alice: %s %q, want unlinked by its subject", r["status"], r["error_message"])
	}
	if r := got["bob"]; r["status"] != "unlinked" {
		t.Errorf("bob: %s %q, want unlinked", r["status"], r["error_message"])
	}
	if r := got["carol"]; r["status"] != "not_linked" {
		t.Errorf("carol: %s %q, want not_linked", r["status"], r["error_message"])
	}
	for _, u := range []string{"alice", "bob", "carol"} {
		if ids, _ := srv.Identities(pool, u); len(ids) != 0 {
			t.Errorf("%s still holds %v", u, ids)
		}
	}
}

// TestUndoCrashSoak: an undo killed with SIGKILL at random moments and resumed each time
// ends with one record per row, every link of the run gone, and no identity unlinked twice.
func TestUndoCrashSoak(t *testing.T) {
	t.Parallel()
	n := 1000
	if longTests() {
		n = 10000
	}
	s := linkScenario(n, 0)
	srv := startEmulator(t, emulator.Options{Latency: 5 * time.Millisecond}, s.seed)
	before := poolState(t, srv.Emulator, s.seed)
	in := writeFile(t, "links.csv", s.csv())
	rep, undoRep := in+".report.csv", in+".undo.jsonl"
	common := []string{"--endpoint-url", srv.URL, "--rate", "0", "--read-rate", "0", "--concurrency", "8", "--progress", "never"}
	if res := bulklink(t, nil, append([]string{"run", "--input", in, "--report", rep}, common...)...); res.code != exitOK {
		t.Fatalf("run: exit %d", res.code)
	}
	args := append([]string{"undo", "--report", rep, "--undo-report", undoRep, "--yes"}, common...)
	soak := killSoak{args: args, report: undoRep, rows: n, kills: 10, attempts: 40, pause: 200 * time.Millisecond, early: true}
	kills := soak.run(t, rand.New(rand.NewPCG(testseed.Seed(t), 2)))
	if res := bulklink(t, nil, args...); res.code != exitOK {
		t.Fatalf("final undo: exit %d", res.code)
	}
	recs := readReport(t, undoRep)
	if len(recs) != n {
		t.Fatalf("%d records, want one per row: %d", len(recs), n)
	}
	for i, r := range recs {
		if atoi(t, r["line"]) != i+2 {
			t.Fatalf("record %d has line %s: a row is missing or recorded twice", i, r["line"])
		}
		if r["status"] != "unlinked" {
			t.Errorf("line %s: %s %s, want unlinked", r["line"], r["status"], r["error_message"])
		}
	}
	sameState(t, poolState(t, srv.Emulator, s.seed), before)
	for ref, c := range srv.IdentityCalls("AdminDisableProviderForUser") {
		if c.Applied > 1 {
			t.Errorf("%v: unlinked %d times", ref, c.Applied)
		}
	}
	t.Logf("%d kills; %d unlink calls for %d rows", kills, srv.Calls("AdminDisableProviderForUser"), n)
	if kills == 0 {
		t.Error("no kill landed: the soak tested nothing")
	}
}

func disable(pool, provider, attr, value string) *cip.AdminDisableProviderForUserInput {
	return &cip.AdminDisableProviderForUserInput{UserPoolId: aws.String(pool), User: &types.ProviderUserIdentifierType{
		ProviderName: aws.String(provider), ProviderAttributeName: aws.String(attr), ProviderAttributeValue: aws.String(value)}}
}

// TestUndoSeveralIdentitiesOfOneSocialProvider: a social identity is only ever unlinked by its
// own value. One user holds four Google identities, all linked by the run; the undo's unlinks
// lose their answers (all of them, or half, so that retries hear "isn't linked"). Every row
// ends unlinked, each identity is unlinked exactly once, by its own row, and nothing else is
// touched.
func TestUndoSeveralIdentitiesOfOneSocialProvider(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		lost, after float64 // --fault-lost, --fault-5xx-after
		attempts    string
	}{{"every answer lost", 1, 0, "3"}, {"half the answers lost", 0.5, 0, "20"},
		{"every call answered 500 after it is applied", 0, 1, "3"}, {"half the calls answered 500 after they are applied", 0, 0.5, "20"}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const pool = "us-east-1_Social001"
			seed := emulator.Seed{UserPools: []emulator.SeedPool{{ID: pool,
				IdentityProviders: []emulator.SeedProvider{{Name: "Google", Type: "Google"}},
				Users:             []emulator.SeedUser{{Username: "alice"}, {Username: "bob", Identities: []emulator.SeedIdentity{{Provider: "Google", Value: "older"}}}}}}}
			srv := startEmulator(t, emulator.Options{}, seed)
			var rows strings.Builder
			rows.WriteString("destination_user,source_provider,source_value\n")
			for i := range 4 {
				fmt.Fprintf(&rows, "alice,Google,g%d\n", i)
			}
			rows.WriteString("bob,Google,g-bob\n")
			in := writeFile(t, "links.csv", rows.String())
			rep, undoRep := in+".report.csv", in+".undo.csv"
			common := []string{"--endpoint-url", srv.URL, "--user-pool-id", pool, "--rate", "0", "--read-rate", "0", "--max-attempts", tc.attempts}
			if res := bulklink(t, nil, append([]string{"run", "--input", in, "--report", rep}, common...)...); res.code != exitOK {
				t.Fatalf("run: exit %d\n%s", res.code, res.stderr)
			}
			if err := srv.Reconfigure(func(o *emulator.Options) {
				o.FaultLost, o.Fault5xxAfter, o.Seed = tc.lost, tc.after, int64(testseed.Seed(t))
			}); err != nil {
				t.Fatal(err)
			}
			// One row at a time, so that a row settles while the user still holds the others.
			res := bulklink(t, nil, append([]string{"undo", "--report", rep, "--undo-report", undoRep, "--yes", "--concurrency", "1"}, common...)...)
			if res.code != exitOK {
				t.Errorf("undo: exit %d, want 0\n%s", res.code, res.stderr)
			}
			for _, r := range readReport(t, undoRep) {
				if r["status"] != "unlinked" {
					t.Errorf("line %s (%s %s): %s %s %q, want unlinked", r["line"], r["destination_user"], r["source_value"], r["status"], r["error_code"], r["error_message"])
				}
			}
			if ids, _ := srv.Identities(pool, "alice"); len(ids) != 0 {
				t.Errorf("alice still holds %v", ids)
			}
			if ids, _ := srv.Identities(pool, "bob"); len(ids) != 1 || ids[0].UserID != "older" {
				t.Errorf("bob holds %v, want only the link that predates the run", ids)
			}
			calls := srv.IdentityCalls("AdminDisableProviderForUser")
			for ref, c := range calls {
				if c.Applied != 1 {
					t.Errorf("%v: unlinked %d times, want once", ref, c.Applied)
				}
				if !strings.HasPrefix(ref.Value, "g") {
					t.Errorf("an unlink call for %v, which no row of the run linked", ref)
				}
			}
			if len(calls) != 5 {
				t.Errorf("unlink calls named %d identities, want the 5 the run linked: %v", len(calls), calls)
			}
			if out := srv.Outcomes("AdminDisableProviderForUser"); out[emulator.OutcomeLost]+out["InternalErrorException"] == 0 {
				t.Errorf("no unlink answer was lost or a 500: the test tested nothing (%v)", out)
			}
		})
	}
}

// TestUndoLeavesLinksOlderThanTheRun: the report is a file anyone can edit. A row changed from
// already_linked to linked does not make undo remove a link older than the run: the read
// before the unlink finds its date before the report began, and the row fails PredatesRun.
// --include-already-linked is the one way to remove it.
func TestUndoLeavesLinksOlderThanTheRun(t *testing.T) {
	t.Parallel()
	const pool = "us-east-1_Tamper001"
	seed := emulator.Seed{UserPools: []emulator.SeedPool{{ID: pool,
		IdentityProviders: []emulator.SeedProvider{{Name: "Google", Type: "Google"}},
		Users:             []emulator.SeedUser{{Username: "alice"}, {Username: "bob", Identities: []emulator.SeedIdentity{{Provider: "Google", Value: "g-bob"}}}}}}}
	srv := startEmulator(t, emulator.Options{}, seed)
	in := writeFile(t, "links.csv", "destination_user,source_provider,source_value\nalice,Google,g-alice\nbob,Google,g-bob\n")
	rep := in + ".report.csv"
	common := []string{"--endpoint-url", srv.URL, "--user-pool-id", pool, "--rate", "0", "--read-rate", "0"}
	if res := bulklink(t, nil, append([]string{"run", "--input", in, "--report", rep}, common...)...); res.code != exitOK {
		t.Fatalf("run: exit %d\n%s", res.code, res.stderr)
	}
	b, err := os.ReadFile(rep)
	if err != nil {
		t.Fatal(err)
	}
	tampered := strings.Replace(string(b), ",already_linked,", ",linked,", 1)
	if tampered == string(b) {
		t.Fatalf("the run's report has no already_linked row to tamper with:\n%s", b)
	}
	if err := os.WriteFile(rep, []byte(tampered), 0o600); err != nil {
		t.Fatal(err)
	}
	res := bulklink(t, nil, append([]string{"undo", "--report", rep, "--undo-report", in + ".undo.csv", "--yes"}, common...)...)
	if res.code != exitRows {
		t.Fatalf("undo: exit %d, want %d (a row refused)\n%s", res.code, exitRows, res.stderr)
	}
	got := map[string]record{}
	for _, r := range readReport(t, in+".undo.csv") {
		got[r["destination_user"]] = r
	}
	if r := got["alice"]; r["status"] != "unlinked" {
		t.Errorf("alice: %s %s %q, want unlinked", r["status"], r["error_code"], r["error_message"])
	}
	if r := got["bob"]; r["status"] != "failed" || r["error_code"] != "PredatesRun" || !strings.Contains(r["error_message"], "--include-already-linked") {
		t.Errorf("bob: %s %s %q, want failed PredatesRun pointing at --include-already-linked", r["status"], r["error_code"], r["error_message"])
	}
	if ids, _ := srv.Identities(pool, "bob"); len(ids) != 1 {
		t.Fatalf("bob holds %v: undo removed a link older than the run", ids)
	}
	if n := srv.IdentityCalls("AdminDisableProviderForUser")[emulator.IdentityRef{PoolID: pool, Provider: "Google", Value: "g-bob"}]; n.Received != 0 {
		t.Errorf("%d unlink calls for bob's older link, want none", n.Received)
	}
	res = bulklink(t, nil, append([]string{"undo", "--report", rep, "--undo-report", in + ".undo-all.csv", "--yes", "--include-already-linked"}, common...)...)
	if res.code != exitOK {
		t.Fatalf("undo --include-already-linked: exit %d\n%s", res.code, res.stderr)
	}
	if ids, _ := srv.Identities(pool, "bob"); len(ids) != 0 {
		t.Errorf("bob holds %v after undo --include-already-linked", ids)
	}
}

// TestUndoRefusesAReportWithoutItsMeta: undo judges links by when the run's report began, which
// its meta records. A report whose meta is gone, or whose meta is another report's (its start
// after the records), is refused before any call.
func TestUndoRefusesAReportWithoutItsMeta(t *testing.T) {
	t.Parallel()
	s := mixedScenario(20)
	srv := startEmulator(t, emulator.Options{}, s.seed)
	in := writeFile(t, "links.csv", s.csv())
	rep := in + ".report.csv"
	common := []string{"--endpoint-url", srv.URL, "--rate", "0", "--read-rate", "0"}
	if res := bulklink(t, nil, append([]string{"run", "--input", in, "--report", rep}, common...)...); res.code != exitRows {
		t.Fatalf("run: exit %d", res.code)
	}
	meta, err := os.ReadFile(rep + ".meta.json")
	if err != nil {
		t.Fatal(err)
	}
	undo := func(name string) result {
		return bulklink(t, nil, append([]string{"undo", "--report", rep, "--undo-report", in + "." + name + ".csv", "--yes"}, common...)...)
	}
	// Another report's meta: begun a day after this one's records.
	var m map[string]any
	if err := json.Unmarshal(meta, &m); err != nil {
		t.Fatal(err)
	}
	m["created_at"] = time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339Nano)
	later, _ := json.Marshal(m)
	if err := os.WriteFile(rep+".meta.json", later, 0o600); err != nil {
		t.Fatal(err)
	}
	if res := undo("later"); res.code != exitUsage || !strings.Contains(res.stderr, "does not match its meta") {
		t.Errorf("undo with another report's meta: exit %d, want %d and a message\n%s", res.code, exitUsage, res.stderr)
	}
	delete(m, "created_at")
	none, _ := json.Marshal(m)
	if err := os.WriteFile(rep+".meta.json", none, 0o600); err != nil {
		t.Fatal(err)
	}
	if res := undo("nostart"); res.code != exitUsage {
		t.Errorf("undo with a meta that has no start: exit %d, want %d\n%s", res.code, exitUsage, res.stderr)
	}
	if err := os.Remove(rep + ".meta.json"); err != nil {
		t.Fatal(err)
	}
	if res := undo("nometa"); res.code != exitUsage || !strings.Contains(res.stderr, "meta.json is missing") {
		t.Errorf("undo without the meta: exit %d, want %d and a message\n%s", res.code, exitUsage, res.stderr)
	}
	if n := srv.Calls("AdminDisableProviderForUser"); n != 0 {
		t.Errorf("%d unlink calls by refused undos", n)
	}
}
