package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/bulklink/bulklink/emulator"
)

const (
	trustPool  = "us-east-1_Trust0001"
	otherPool  = "us-east-1_Trust0002"
	emailClaim = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"
)

// trustRow is a row of the trust scenario and what must become of it.
type trustRow struct {
	pool, user, provider, attribute, value string
	want, code                             string // status and error_code
}

// trustScenario is a file that breaks every trust rule, mixed with rows that break none,
// over two pools and one that does not exist.
func trustScenario() (emulator.Seed, []trustRow) {
	providers := []emulator.SeedProvider{
		{Name: "Google", Type: "Google"},
		{Name: "Facebook", Type: "Facebook"},
		{Name: "Okta", Type: "SAML", AttributeMapping: map[string]string{"email": emailClaim}},
	}
	main := emulator.SeedPool{ID: trustPool, IdentityProviders: providers}
	other := emulator.SeedPool{ID: otherPool, IdentityProviders: providers[:1]}
	for i := range 40 {
		main.Users = append(main.Users, emulator.SeedUser{Username: fmt.Sprintf("t%02d", i)})
		other.Users = append(other.Users, emulator.SeedUser{Username: fmt.Sprintf("t%02d", i)})
	}
	ok := func(pool, user, provider, attr, value string) trustRow {
		return trustRow{pool, user, provider, attr, value, "linked", ""}
	}
	bad := func(pool, user, provider, attr, value, code string) trustRow {
		return trustRow{pool, user, provider, attr, value, "invalid", code}
	}
	rows := []trustRow{
		ok(trustPool, "t00", "Google", "Cognito_Subject", "g00"),
		bad(trustPool, "t01", "Apple", "Cognito_Subject", "a01", "ProviderNotInPool"),     // not configured
		bad(trustPool, "t02", "google", "Cognito_Subject", "g02", "ProviderNotInPool"),    // case matters
		bad(trustPool, "t03", "Facebook", "Cognito_Subject", "f03", "ProviderNotAllowed"), // configured, not allowed
		ok(trustPool, "t04", "Okta", "email", "t04@example.com"),
		bad(trustPool, "t05", "Okta", "department", "sales", "AttributeNotMapped"),        // SAML, unmapped
		bad(trustPool, "t06", "Google", "email", "t06@example.com", "AttributeNotMapped"), // social by email
		ok(trustPool, "t07", "Okta", "Cognito_Subject", "00u07"),
		// One Google identity to two users: both rows, wherever they are.
		bad(trustPool, "t08", "Google", "Cognito_Subject", "shared", "ConflictingSource"),
		ok(trustPool, "t09", "Google", "Cognito_Subject", "g09"),
		bad(trustPool, "t10", "Google", "Cognito_Subject", "shared", "ConflictingSource"),
		// A row of a pool that does not exist, among rows of pools that do.
		bad("us-east-1_Missing01", "t11", "Google", "Cognito_Subject", "g11", "PoolNotFound"),
		ok(otherPool, "t12", "Google", "Cognito_Subject", "g12"),
		bad(otherPool, "t13", "Okta", "email", "t13@example.com", "ProviderNotInPool"), // the other pool has no Okta
	}
	// Seven identities for t20: the first five link, the last two are refused; the repeat of
	// the second is no conflict and no sixth identity.
	for i := range 7 {
		r := ok(trustPool, "t20", "Okta", "email", fmt.Sprintf("t20.%d@example.com", i))
		if i >= 5 {
			r.want, r.code = "invalid", "TooManyIdentities"
		}
		rows = append(rows, r)
		if i == 1 {
			rows = append(rows, trustRow{trustPool, "t20", "Okta", "email", "t20.1@example.com", "already_linked", ""})
		}
	}
	rows = append(rows, ok(trustPool, "t21", "Google", "Cognito_Subject", "g21"))
	return emulator.Seed{UserPools: []emulator.SeedPool{main, other}}, rows
}

func trustCSV(rows []trustRow) string {
	var b strings.Builder
	b.WriteString("user_pool_id,destination_user,source_provider,source_attribute,source_value\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "%s,%s,%s,%s,%s\n", r.pool, r.user, r.provider, r.attribute, r.value)
	}
	return b.String()
}

// checkTrust compares a report with the scenario; statuses maps a run's statuses to the
// report's (validate says valid for linked).
func checkTrust(t *testing.T, recs []record, rows []trustRow, statuses map[string]string) {
	t.Helper()
	if len(recs) != len(rows) {
		t.Fatalf("%d records, want %d", len(recs), len(rows))
	}
	for i, r := range rows {
		rec := recs[i]
		want := r.want
		if s, ok := statuses[want]; ok {
			want = s
		}
		if rec["status"] != want || rec["error_code"] != r.code {
			t.Errorf("line %s (%s %s %s=%s): got %s %s (%s), want %s %s", rec["line"], r.user, r.provider, r.attribute, r.value,
				rec["status"], rec["error_code"], rec["error_message"], want, r.code)
		}
	}
}

// TestTrust: every row that breaks a trust rule is invalid with its code and costs no write
// call; every other row is linked. validate with the very same flags finds the same invalid
// rows and writes nothing; validate --predict foretells each row, and a run agrees.
func TestTrust(t *testing.T) {
	t.Parallel()
	seed, rows := trustScenario()
	srv := startEmulator(t, emulator.Options{}, seed)
	in := writeFile(t, "links.csv", trustCSV(rows))
	flags := []string{"--input", in, "--endpoint-url", srv.URL, "--allow-providers", "Google,Okta,Apple,google",
		"--rate", "0", "--read-rate", "0", "--log-format", "json"}

	// validate: run's flags, the verb changed.
	vrep := in + ".validate.csv"
	res := bulklink(t, nil, append([]string{"validate", "--report", vrep}, flags...)...)
	if res.code != exitRows {
		t.Errorf("validate: exit %d, want %d", res.code, exitRows)
	}
	checkTrust(t, readReport(t, vrep), rows, map[string]string{"linked": "valid", "already_linked": "valid"})
	if n := srv.Calls("AdminLinkProviderForUser"); n != 0 {
		t.Fatalf("validate made %d link calls, want none", n)
	}

	// validate --predict foretells the run.
	prep := in + ".predict.csv"
	res = bulklink(t, nil, append([]string{"validate", "--predict", "--report", prep}, flags...)...)
	if res.code != exitRows {
		t.Errorf("validate --predict: exit %d, want %d\n%s", res.code, exitRows, res.stderr)
	}
	var sum struct {
		Calls int64 `json:"predicted_write_calls"`
	}
	if b, err := os.ReadFile(prep + ".summary.json"); err != nil || json.Unmarshal(b, &sum) != nil || sum.Calls != 11 {
		t.Errorf("the summary of validate --predict: %d predicted write calls (%v), want 11: one per row run links", sum.Calls, err)
	}
	checkTrust(t, readReport(t, prep), rows, map[string]string{"linked": "valid"})
	if n := srv.Calls("AdminLinkProviderForUser"); n != 0 {
		t.Fatalf("validate --predict made %d link calls, want none", n)
	}

	rep := in + ".report.csv"
	res = bulklink(t, nil, append([]string{"run", "--report", rep}, flags...)...)
	if res.code != exitRows {
		t.Errorf("run: exit %d, want %d", res.code, exitRows)
	}
	checkTrust(t, readReport(t, rep), rows, nil)
	calls := srv.IdentityCalls("AdminLinkProviderForUser")
	for _, r := range rows {
		c := calls[emulator.IdentityRef{PoolID: r.pool, Provider: r.provider, Value: r.value}]
		switch {
		case r.want == "invalid" && c.Received != 0:
			t.Errorf("%s %s=%s (%s): %d link calls, want none", r.provider, r.attribute, r.value, r.code, c.Received)
		case r.want == "linked" && c.Applied != 1:
			t.Errorf("%s %s=%s: applied %d times, want once", r.provider, r.attribute, r.value, c.Applied)
		}
	}
	for _, r := range rows {
		ids, _ := srv.Identities(r.pool, r.user)
		has := false
		for _, id := range ids {
			has = has || id.ProviderName == r.provider && id.UserID == r.value
		}
		if want := r.want != "invalid"; has != want {
			t.Errorf("user %s of %s holds %s %s: %v, want %v", r.user, r.pool, r.provider, r.value, has, want)
		}
	}
}

// TestPredictAgreesWithRun: on the mixed scenario (every outcome Cognito has), validate
// --predict says, row for row, what the run then does: valid rows are linked, and the rest
// end as predicted.
func TestPredictAgreesWithRun(t *testing.T) {
	t.Parallel()
	s := mixedScenario(100)
	srv := startEmulator(t, emulator.Options{}, s.seed)
	in := writeFile(t, "links.csv", s.csv())
	flags := []string{"--input", in, "--endpoint-url", srv.URL, "--rate", "0", "--read-rate", "0"}
	res := bulklink(t, nil, append([]string{"validate", "--predict", "--report", in + ".predict.csv"}, flags...)...)
	if res.code != exitRows {
		t.Fatalf("validate --predict: exit %d", res.code)
	}
	predicted := readReport(t, in+".predict.csv")
	res = bulklink(t, nil, append([]string{"run", "--report", in + ".report.csv"}, flags...)...)
	ran := readReport(t, in+".report.csv")
	if len(predicted) != len(ran) {
		t.Fatalf("%d predictions, %d records", len(predicted), len(ran))
	}
	// What Cognito answers for each prediction.
	failedAs := map[string]string{
		"DestinationNotFound":   "UserNotFoundException",
		"SourceAlreadySignedIn": "SourceAlreadySignedIn",
		"IdentityLimitReached":  "LimitExceededException",
	}
	for i, p := range predicted {
		r := ran[i]
		switch {
		case p["status"] == "valid" && r["status"] == "linked":
		case p["status"] == "already_linked" && r["status"] == "already_linked":
		case p["status"] == "invalid" && r["status"] == "invalid" && p["error_code"] == r["error_code"]:
		case p["status"] == "invalid" && r["status"] == "failed" && failedAs[p["error_code"]] == r["error_code"]:
		default:
			// A source linked to another user is refused by Cognito: predict sees a valid row.
			if p["status"] == "valid" && r["status"] == "failed" && strings.HasPrefix(r["source_value"], "x") {
				continue
			}
			t.Errorf("line %s: predicted %s %s (%s), run %s %s (%s)", p["line"], p["status"], p["error_code"], p["error_message"],
				r["status"], r["error_code"], r["error_message"])
		}
	}
}

// TestUnreachable: a Cognito that does not answer stops the run (exit 3) before any row has a
// record, and the same command completes once it answers.
func TestUnreachable(t *testing.T) {
	t.Parallel()
	s := linkScenario(20, 0)
	in := writeFile(t, "links.csv", s.csv())
	rep := in + ".report.csv"
	srv := emulator.NewServer(emulator.Options{})
	url := srv.URL
	srv.Close() // nothing listens there now
	args := []string{"run", "--input", in, "--report", rep, "--endpoint-url", url, "--rate", "0", "--max-attempts", "2"}
	res := bulklink(t, nil, args...)
	if res.code != exitFatal || !strings.Contains(res.stderr, "did not answer") {
		t.Fatalf("exit %d, want %d and a message that Cognito did not answer\n%s", res.code, exitFatal, res.stderr)
	}
	if recs := readReportIfAny(t, rep); len(recs) != 0 {
		t.Fatalf("%d records after an unreachable start, want none", len(recs))
	}
	// Cognito answers at the same address: the same command completes.
	up := emulator.New(emulator.Options{})
	if err := up.Load(s.seed); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Skipf("the address is taken again: %v", err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { defer close(served); up.Serve(ctx, l) }()
	t.Cleanup(func() { stop(); <-served })
	if res := bulklink(t, nil, args...); res.code != exitOK {
		t.Fatalf("the same command once Cognito answers: exit %d, want 0", res.code)
	}
	if recs := readReport(t, rep); len(recs) != 20 {
		t.Errorf("%d records, want 20", len(recs))
	}
}

// readReportIfAny reads a report, or none when there is no file.
func readReportIfAny(t *testing.T, path string) []record {
	t.Helper()
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return readReport(t, path)
}
