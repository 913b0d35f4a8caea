package main

// Tests from a hostile review of run --merge-signed-in: each one is a sequence of answers,
// crashes, signals or concurrent changes to the pool after which bulklink must still keep the
// promises of docs/merge.md: nothing deleted without its backup on disk, nothing that is not
// the profile backed up, no identity left unlinked behind a deleted profile but for a refusal
// for good, and a sub map that maps every sub a merge deleted.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/bulklink/bulklink/emulator"
)

// hookedCall is one Cognito call as a hooked emulator's proxy sees it.
type hookedCall struct {
	op string         // the operation: AdminDeleteUser, AdminLinkProviderForUser...
	in map[string]any // the request
	r  *http.Request
	// forward serves the call to the emulator, its answer written to w.
	forward func(w http.ResponseWriter)
}

// str is a string member of the request, "" when absent; a path of names reaches into
// nested objects (SourceUser, ProviderAttributeValue).
func (c *hookedCall) str(path ...string) string {
	var v any = c.in
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = m[p]
	}
	s, _ := v.(string)
	return s
}

// startHooked serves a seeded emulator behind a proxy on loopback: hook sees every call
// first and answers it (c.forward(w) passes it on). Admin changes a hook makes meanwhile go
// to the emulator's own URL, through the SDK (srv.Client()), as another admin's would.
func startHooked(t *testing.T, seed emulator.Seed, hook func(c *hookedCall, w http.ResponseWriter)) (srv *emulator.Server, url string) {
	t.Helper()
	srv = startEmulator(t, emulator.Options{}, seed)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		c := &hookedCall{op: strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AWSCognitoIdentityProviderService."), r: r}
		json.Unmarshal(body, &c.in)
		c.forward = func(w http.ResponseWriter) {
			r2 := r.Clone(r.Context())
			r2.Body = io.NopCloser(bytes.NewReader(body))
			srv.Emulator.ServeHTTP(w, r2)
		}
		hook(c, w)
	}))
	t.Cleanup(proxy.Close)
	return srv, proxy.URL
}

// answerError answers a call with a Cognito error.
func answerError(w http.ResponseWriter, status int, code, msg string) {
	b, _ := json.Marshal(map[string]string{"__type": code, "message": msg})
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", code)
	w.WriteHeader(status)
	w.Write(b)
}

// mergeArgs are the arguments of a merge run of in into rep against url.
func mergeArgs(in, rep, url string, extra ...string) []string {
	return append([]string{"run", "--input", in, "--report", rep, "--endpoint-url", url, "--user-pool-id", mergePool,
		"--rate", "0", "--read-rate", "0", "--merge-signed-in", "--concurrency", "1"}, extra...)
}

// admin is another administrator of the pool, calling the emulator directly.
func admin(t *testing.T, srv *emulator.Server) *cip.Client {
	t.Helper()
	return srv.Client(func(o *cip.Options) { o.Retryer = aws.NopRetryer{} })
}

// fillUp links Facebook identities to user until it holds five, as another admin would.
func fillUp(t *testing.T, srv *emulator.Server, user string) {
	t.Helper()
	ids, _ := srv.Identities(mergePool, user)
	for i := len(ids); i < 5; i++ {
		_, err := admin(t, srv).AdminLinkProviderForUser(context.Background(), &cip.AdminLinkProviderForUserInput{
			UserPoolId:      aws.String(mergePool),
			DestinationUser: &types.ProviderUserIdentifierType{ProviderName: aws.String("Cognito"), ProviderAttributeValue: aws.String(user)},
			SourceUser: &types.ProviderUserIdentifierType{ProviderName: aws.String("Facebook"), ProviderAttributeName: aws.String("Cognito_Subject"),
				ProviderAttributeValue: aws.String(user + "-fb-" + itoa(i))},
		})
		if err != nil {
			t.Fatalf("fill %s up: %v", user, err)
		}
	}
}

// unlinkOne unlinks one of the Facebook identities fillUp linked to user.
func unlinkOne(t *testing.T, srv *emulator.Server, user string) {
	t.Helper()
	if _, err := admin(t, srv).AdminDisableProviderForUser(context.Background(), disable(mergePool, "Facebook", "Cognito_Subject", user+"-fb-0")); err != nil {
		t.Fatalf("unlink from %s: %v", user, err)
	}
}

// backedUpSubs are the subs of every backup in a report's backup file.
func backedUpSubs(t *testing.T, rep string) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(rep + ".merged.jsonl")
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	subs := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var bk struct{ Sub string }
		if json.Unmarshal([]byte(l), &bk) == nil {
			subs[bk.Sub] = true
		}
	}
	return subs
}

// linkedTo says whether the Google identity value is linked to user.
func linkedTo(srv *emulator.Server, user, value string) bool {
	ids, _ := srv.Identities(mergePool, user)
	for _, id := range ids {
		if id.ProviderName == "Google" && id.UserID == value {
			return true
		}
	}
	return false
}

// TestMergeSignOutNotFoundDeletesNothingUnbackedUp: the profile is gone when its sign-out is
// sent (another admin deleted it), and the identity signs in again before the delete, which
// makes a new profile of the same name. The delete reads the profile first and finds a sub
// that is not the one backed up: the new profile, which has no backup, is not deleted.
func TestMergeSignOutNotFoundDeletesNothingUnbackedUp(t *testing.T) {
	t.Parallel()
	seed, cases := mergeScenario(1)
	var once sync.Once
	var srv *emulator.Server
	var newSub string
	srv, url := startHooked(t, seed, func(c *hookedCall, w http.ResponseWriter) {
		if c.op != "AdminUserGlobalSignOut" || c.str("Username") != "Google_m0" {
			c.forward(w)
			return
		}
		once.Do(func() {
			// Another admin deletes the profile; the sign-out then finds no user...
			if _, err := admin(t, srv).AdminDeleteUser(context.Background(), &cip.AdminDeleteUserInput{UserPoolId: aws.String(mergePool), Username: aws.String("Google_m0")}); err != nil {
				t.Error(err)
			}
			rec := httptest.NewRecorder()
			c.forward(rec)
			// ...and before its answer arrives, the person signs in: a new profile.
			got, err := srv.FederatedSignIn(mergePool, "Google", "m0", nil)
			if err != nil || !got.Created {
				t.Errorf("sign-in: %+v %v", got, err)
			}
			newSub = got.Sub
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			w.Write(rec.Body.Bytes())
		})
	})
	in := writeFile(t, "links.csv", mergeInput(cases[:1]))
	rep := in + ".report.csv"
	res := bulklink(t, nil, mergeArgs(in, rep, url)...)
	t.Logf("exit %d; report %v", res.code, readReport(t, rep))
	if newSub == "" {
		t.Fatal("the hook did not run")
	}
	if !srv.UserExists(mergePool, newSub) && !backedUpSubs(t, rep)[newSub] {
		t.Errorf("the new profile Google_m0 (sub %s), made by a sign-in after the backup, was deleted without a backup on disk", newSub)
	}
}

// crashOneMerge runs the merge of cases[0] against srv into a report, killed by the failpoint
// at point, and returns the report and the arguments that resume it.
func crashOneMerge(t *testing.T, srv *emulator.Server, cases []mergeCase, point string) (rep string, args []string) {
	t.Helper()
	in := writeFile(t, "links.csv", mergeInput(cases[:1]))
	rep = in + ".report.csv"
	args = mergeArgs(in, rep, srv.URL)
	if res := bulklink(t, []string{"BULKLINK_FAILPOINT=" + point}, args...); res.code != -1 && res.code != 137 {
		t.Fatalf("the run with the failpoint: exit %d, want killed", res.code)
	}
	return rep, args
}

// TestMergeResumeChecksPreconditionsAgain: a merge killed after its sign-out (before the
// delete) is resumed after the destination changed: another admin linked it to five
// identities meanwhile. The preconditions were read before the crash, maybe hours before: the
// resumed run reads them again and refuses the row (TooManyIdentities), deleting nothing,
// rather than delete the profile for a link Cognito would refuse.
func TestMergeResumeChecksPreconditionsAgain(t *testing.T) {
	t.Parallel()
	seed, cases := mergeScenario(1)
	srv := startEmulator(t, emulator.Options{}, seed)
	rep, args := crashOneMerge(t, srv, cases, "signed-out")
	if !srv.UserExists(mergePool, "Google_m0") {
		t.Fatal("the profile is gone before the delete")
	}
	fillUp(t, srv, "u0")
	res := bulklink(t, nil, args...)
	r := readReport(t, rep)[0]
	t.Logf("resume: exit %d, %s %s %q", res.code, r["status"], r["error_code"], r["error_message"])
	if !srv.UserExists(mergePool, "Google_m0") && !linkedTo(srv, "u0", "m0") {
		t.Errorf("the resumed merge deleted Google_m0 for a destination that holds five identities: the identity is linked to no one (%s %s)", r["status"], r["error_code"])
	}
}

// TestMergeSubMapHasEverySubDeleted: a merge killed after its delete (before the link); the
// person signs in before the resume, which makes a new profile; the resumed run merges that
// one. Two profiles were deleted, old-0 (the person's real one, with the data the application
// keys by it) and the new one: the sub map, made from the backup file's deletions, maps both.
func TestMergeSubMapHasEverySubDeleted(t *testing.T) {
	t.Parallel()
	seed, cases := mergeScenario(1)
	seed.UserPools[0].IdentityProviders[0].AttributeMapping = map[string]string{"email": "email", "email_verified": "email_verified"}
	srv := startEmulator(t, emulator.Options{}, seed)
	rep, args := crashOneMerge(t, srv, cases, "deleted")
	got, err := srv.FederatedSignIn(mergePool, "Google", "m0", map[string]string{"email": "u0@example.com", "email_verified": "true"})
	if err != nil || !got.Created {
		t.Fatalf("sign-in between the runs: %+v %v", got, err)
	}
	if res := bulklink(t, nil, args...); res.code != exitOK {
		t.Fatalf("resume: exit %d\n%s", res.code, res.stderr)
	}
	r := readReport(t, rep)[0]
	subs := readSubs(t, rep)
	t.Logf("record: %s merged_sub %s; sub map %v", r["status"], r["merged_sub"], subs)
	if subs["old-0"] != "dest-0" {
		t.Errorf("the sub map has old-0 → %q, want dest-0: the first profile deleted (its backup is on disk) is not in it", subs["old-0"])
	}
	if subs[got.Sub] != "dest-0" {
		t.Errorf("the sub map has %s → %q, want dest-0", got.Sub, subs[got.Sub])
	}
}

// TestMergeResumeAfterSignInSaysWhatWasDeleted: a merge killed after its delete; the person
// signs in before the resume, and this time the provider does not vouch for the email (the
// new profile's email_verified is false). The new profile is refused a merge, and the row
// says that its old profile was deleted and its identity is not linked: failed
// MergeLinkFailedAfterDelete, merged_sub old-0, not "nothing was deleted".
func TestMergeResumeAfterSignInSaysWhatWasDeleted(t *testing.T) {
	t.Parallel()
	seed, cases := mergeScenario(1)
	srv := startEmulator(t, emulator.Options{}, seed)
	rep, args := crashOneMerge(t, srv, cases, "deleted")
	if _, err := srv.FederatedSignIn(mergePool, "Google", "m0", nil); err != nil {
		t.Fatal(err)
	}
	bulklink(t, nil, args...)
	r := readReport(t, rep)[0]
	t.Logf("record: %s %s %q merged_sub %q", r["status"], r["error_code"], r["error_message"], r["merged_sub"])
	if srv.UserExists(mergePool, "old-0") || linkedTo(srv, "u0", "m0") {
		t.Fatal("the scenario did not happen: old-0 is there, or m0 is linked")
	}
	if r["status"] != "failed" || r["error_code"] != "MergeLinkFailedAfterDelete" || r["merged_sub"] != "old-0" {
		t.Errorf("the row whose profile old-0 this report deleted, its identity linked to no one: %s %s %q, merged_sub %q; want failed MergeLinkFailedAfterDelete, merged_sub old-0",
			r["status"], r["error_code"], r["error_message"], r["merged_sub"])
	}
}

// TestMergeSignedInAgainRecordsTheDeletedProfile: the person signs in between the delete and
// the link (a new profile). The row is failed MergeLinkFailedAfterDelete with the merge
// columns of the profile deleted, as a row whose link was refused; the rerun the message asks
// for (--only failed) merges the new profile, and the sub map maps old-0 all the same.
func TestMergeSignedInAgainRecordsTheDeletedProfile(t *testing.T) {
	t.Parallel()
	seed, cases := mergeScenario(1)
	seed.UserPools[0].IdentityProviders[0].AttributeMapping = map[string]string{"email": "email", "email_verified": "email_verified"}
	var once sync.Once
	var srv *emulator.Server
	srv, url := startHooked(t, seed, func(c *hookedCall, w http.ResponseWriter) {
		c.forward(w)
		if c.op == "AdminDeleteUser" && c.str("Username") == "Google_m0" {
			once.Do(func() {
				if _, err := srv.FederatedSignIn(mergePool, "Google", "m0", map[string]string{"email": "u0@example.com", "email_verified": "true"}); err != nil {
					t.Error(err)
				}
			})
		}
	})
	in, rep, r := mergeFailsAfterDelete(t, cases, url)
	if r["merged_username"] != "Google_m0" || r["merged_sub"] != "old-0" {
		t.Errorf("the failed row's merged_username %q, merged_sub %q; want Google_m0, old-0: the profile deleted", r["merged_username"], r["merged_sub"])
	}
	rep2 := rerunFailed(t, in, rep, url)
	if !linkedTo(srv, "u0", "m0") {
		t.Fatal("the rerun did not link m0")
	}
	checkOld0Mapped(t, rep, rep2, "the application's data of the deleted profile has nowhere to go")
}

// mergeFailsAfterDelete runs the merge of cases[0] against url, whose hook has the link after
// the delete refused, and returns the input, the report and its one record: failed
// MergeLinkFailedAfterDelete.
func mergeFailsAfterDelete(t *testing.T, cases []mergeCase, url string) (in, rep string, r record) {
	t.Helper()
	in = writeFile(t, "links.csv", mergeInput(cases[:1]))
	rep = in + ".report.csv"
	if res := bulklink(t, nil, mergeArgs(in, rep, url)...); res.code != exitRows {
		t.Fatalf("exit %d, want %d\n%s", res.code, exitRows, res.stderr)
	}
	r = readReport(t, rep)[0]
	if r["status"] != "failed" || r["error_code"] != "MergeLinkFailedAfterDelete" {
		t.Fatalf("%s %s %q, want failed MergeLinkFailedAfterDelete", r["status"], r["error_code"], r["error_message"])
	}
	return in, rep, r
}

// rerunFailed runs the failed rows of rep again, as MergeLinkFailedAfterDelete's message
// says, into a report of its own, which it returns: exit 0.
func rerunFailed(t *testing.T, in, rep, url string) string {
	t.Helper()
	rep2 := in + ".failed.csv"
	res := bulklink(t, nil, "run", "--input", rep, "--only", "failed", "--report", rep2, "--endpoint-url", url, "--user-pool-id", mergePool,
		"--rate", "0", "--read-rate", "0", "--merge-signed-in")
	if res.code != exitOK {
		t.Fatalf("--only failed: exit %d\n%s", res.code, res.stderr)
	}
	return rep2
}

// checkOld0Mapped checks that the sub map of rep or of its rerun's rep2 maps old-0, the
// profile deleted, to dest-0; why says what it means if neither does.
func checkOld0Mapped(t *testing.T, rep, rep2, why string) {
	t.Helper()
	if readSubs(t, rep)["old-0"] != "dest-0" && readSubs(t, rep2)["old-0"] != "dest-0" {
		t.Errorf("neither sub map maps old-0 to dest-0 (%v, %v): %s", readSubs(t, rep), readSubs(t, rep2), why)
	}
}

// TestMergeOnlyFailedKeepsTheSubMap: the link after the delete is refused for good (another
// admin filled the destination up meanwhile): failed MergeLinkFailedAfterDelete, merged_sub
// old-0. The operator frees a slot and reruns the failed rows, as the message says: the row
// is linked (the profile is gone), and the sub map still maps old-0.
func TestMergeOnlyFailedKeepsTheSubMap(t *testing.T) {
	t.Parallel()
	seed, cases := mergeScenario(1)
	var once sync.Once
	var srv *emulator.Server
	srv, url := startHooked(t, seed, func(c *hookedCall, w http.ResponseWriter) {
		c.forward(w)
		if c.op == "AdminDeleteUser" && c.str("Username") == "Google_m0" {
			once.Do(func() { fillUp(t, srv, "u0") })
		}
	})
	in, rep, _ := mergeFailsAfterDelete(t, cases, url)
	unlinkOne(t, srv, "u0")
	rep2 := rerunFailed(t, in, rep, url)
	r := readReport(t, rep2)[0]
	t.Logf("rerun: %s merged_sub %q", r["status"], r["merged_sub"])
	checkOld0Mapped(t, rep, rep2, "yet Google_m0 was deleted and m0 now signs in to u0")
}

// TestMergeRestartKeepsTheSubMap: a report whose first run merged u0 is run again with
// --restart, and a row merges this time. The sub map is made from the backup file, kept
// across --restart, so old-0 stays in it though the restarted report does not know u0's
// merge.
func TestMergeRestartKeepsTheSubMap(t *testing.T) {
	t.Parallel()
	seed, cases := mergeScenario(2)
	var mu sync.Mutex
	refuse := true // m1's link is throttled in the first run
	_, url := startHooked(t, seed, func(c *hookedCall, w http.ResponseWriter) {
		mu.Lock()
		r := refuse
		mu.Unlock()
		if r && c.op == "AdminLinkProviderForUser" && c.str("SourceUser", "ProviderAttributeValue") == "m1" {
			answerError(w, http.StatusBadRequest, "TooManyRequestsException", "Too many requests")
			return
		}
		c.forward(w)
	})
	in := writeFile(t, "links.csv", mergeInput(cases[:2]))
	rep := in + ".report.csv"
	if res := bulklink(t, nil, mergeArgs(in, rep, url, "--max-attempts", "1")...); res.code != exitRows {
		t.Fatalf("first run: exit %d, want %d\n%s", res.code, exitRows, res.stderr)
	}
	if s := readSubs(t, rep); s["old-0"] != "dest-0" || len(s) != 1 {
		t.Fatalf("the first run's sub map: %v, want old-0 → dest-0", s)
	}
	mu.Lock()
	refuse = false
	mu.Unlock()
	if res := bulklink(t, nil, mergeArgs(in, rep, url, "--restart")...); res.code != exitOK {
		t.Fatalf("--restart: exit %d\n%s", res.code, res.stderr)
	}
	s := readSubs(t, rep)
	if s["old-1"] != "dest-1" {
		t.Fatalf("the sub map after --restart: %v, want old-1 → dest-1", s)
	}
	if s["old-0"] != "dest-0" {
		t.Errorf("the sub map after --restart: %v; old-0 → dest-0 is gone, though Google_m0 was deleted under this report", s)
	}
}

// TestMergeStopFinishesTheLink: SIGTERM arrives while a merge's delete is in flight. A merge
// that may have deleted its profile sends its link within the grace period: the identity is
// linked when the run exits, not left to no one until someone runs the same command.
//
// The moment is made exact: a second row's read (--read-first always, before any write of
// it, so under the intake) is held by the proxy until the client gives it up, which it does
// when the stop closes the intake; the delete is answered only then.
func TestMergeStopFinishesTheLink(t *testing.T) {
	t.Parallel()
	seed, cases := mergeScenario(2)
	seed.UserPools[0].Users = append(seed.UserPools[0].Users, emulator.SeedUser{Username: "hold"})
	holdArrived, intakeClosed := make(chan struct{}), make(chan struct{})
	var arriveOnce, closeOnce sync.Once
	var cmdMu sync.Mutex
	var cmd *exec.Cmd
	srv, url := startHooked(t, seed, func(c *hookedCall, w http.ResponseWriter) {
		switch {
		case c.op == "AdminGetUser" && c.str("Username") == "hold":
			arriveOnce.Do(func() { close(holdArrived) })
			<-c.r.Context().Done() // the client gave the read up: the intake is closed
			closeOnce.Do(func() { close(intakeClosed) })
			return
		case c.op == "AdminDeleteUser" && c.str("Username") == "Google_m0":
			<-holdArrived
			c.forward(w) // the delete is applied...
			cmdMu.Lock()
			cmd.Process.Signal(syscall.SIGTERM)
			cmdMu.Unlock()
			select { // ...and answered once the stop has closed the intake
			case <-intakeClosed:
			case <-time.After(30 * time.Second): // a bound, should the stop never come
				t.Error("the intake did not close within 30s of SIGTERM")
			}
			return
		}
		c.forward(w)
	})
	in := writeFile(t, "links.csv", "destination_user,source_provider,source_value\nhold,Google,gh\n"+cases[0].row+"\n")
	rep := in + ".report.csv"
	cmdMu.Lock()
	cmd = exec.Command(binary, mergeArgs(in, rep, url, "--concurrency", "2", "--read-first", "always")...)
	cmd.Env = append(cleanEnv(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION=us-east-1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cmdMu.Unlock()
	err := cmd.Wait()
	t.Logf("exit %v\n%s", err, tail(stderr.String(), 2000))
	recs := readReportIfAny(t, rep)
	t.Logf("records: %v", recs)
	merged := false
	for _, r := range recs {
		if r["destination_user"] == "u0" && r["status"] == "merged" {
			merged = true
		}
	}
	if !merged && !linkedTo(srv, "u0", "m0") {
		t.Errorf("the run stopped with Google_m0 deleted and the row not merged (%d records): its identity is linked to no one until the next run", len(recs))
	}
}

// TestMergeLinkOutageStopsTheRun: Cognito answers 500 to every link after the delete (an
// outage of a few minutes). That is no refusal for good: the run stops (exit 3) rather than
// end the row failed, and the same command, once Cognito answers, links the row.
func TestMergeLinkOutageStopsTheRun(t *testing.T) {
	t.Parallel()
	seed, cases := mergeScenario(1)
	var mu sync.Mutex
	deleted, outage := false, true
	srv, url := startHooked(t, seed, func(c *hookedCall, w http.ResponseWriter) {
		mu.Lock()
		down := deleted && outage
		mu.Unlock()
		switch {
		case c.op == "AdminDeleteUser":
			c.forward(w)
			mu.Lock()
			deleted = true
			mu.Unlock()
		case c.op == "AdminLinkProviderForUser" && down:
			answerError(w, http.StatusInternalServerError, "InternalErrorException", "Internal error")
		default:
			c.forward(w)
		}
	})
	in := writeFile(t, "links.csv", mergeInput(cases[:1]))
	rep := in + ".report.csv"
	args := mergeArgs(in, rep, url, "--max-attempts", "2")
	res := bulklink(t, nil, args...)
	for _, r := range readReportIfAny(t, rep) {
		t.Logf("during the outage: exit %d, %s %s %q", res.code, r["status"], r["error_code"], r["error_message"])
	}
	mu.Lock()
	outage = false
	mu.Unlock()
	bulklink(t, nil, args...)
	if !linkedTo(srv, "u0", "m0") {
		r := readReport(t, rep)[0]
		t.Errorf("after the outage, the same command left m0 linked to no one, its profile deleted: %s %s (exit %d during the outage, want %d)",
			r["status"], r["error_code"], res.code, exitFatal)
	}
}

// TestMergeEmailLookalike: Unicode case mapping folds two non-ASCII letters into ASCII ones:
// KELVIN SIGN (U+212A) into k, and LATIN CAPITAL LETTER I WITH DOT ABOVE (U+0130) into i. A
// profile whose verified email is "\u212Aim@example.com" (another mailbox, under SMTPUTF8)
// is not the user kim@example.com's: the rows are invalid MergeEmailMismatch, and nothing is
// deleted.
func TestMergeEmailLookalike(t *testing.T) {
	t.Parallel()
	verified := func(email string) map[string]string {
		return map[string]string{"email": email, "email_verified": "true"}
	}
	seed := emulator.Seed{UserPools: []emulator.SeedPool{{ID: mergePool, IdentityProviders: []emulator.SeedProvider{{Name: "Google", Type: "Google"}},
		Users: []emulator.SeedUser{
			{Username: "kim", Attributes: verified("kim@example.com")},
			{Username: "Google_k1", Federated: true, Attributes: verified("\u212Aim@example.com")},
			{Username: "ian", Attributes: verified("ian@example.com")},
			{Username: "Google_i1", Federated: true, Attributes: verified("\u0130an@example.com")},
		}}}}
	srv := startEmulator(t, emulator.Options{}, seed)
	in := writeFile(t, "links.csv", "destination_user,source_provider,source_value\nkim,Google,k1\nian,Google,i1\n")
	rep := in + ".report.csv"
	bulklink(t, nil, mergeArgs(in, rep, srv.URL)...)
	for _, r := range readReport(t, rep) {
		if r["status"] != "invalid" || r["error_code"] != "MergeEmailMismatch" {
			t.Errorf("%s ← Google %s: %s %s; want invalid MergeEmailMismatch: the profile's email is another address", r["destination_user"], r["source_value"], r["status"], r["error_code"])
		}
	}
	for _, p := range []string{"Google_k1", "Google_i1"} {
		if !srv.UserExists(mergePool, p) {
			t.Errorf("%s was deleted", p)
		}
	}
}

// TestMergeAttributeRowPlanMisses: the plan looks for merge conflicts only among rows that
// name their identity by Cognito_Subject, so only those merge. A row linking Okta by email
// (a SAML NameID that is the email, so that Okta_<email> is its profile) runs beside another
// row that links g4 to that very user, the link landing between the first row's read of the
// profile and what would be its delete: the profile is not merged, and g4's link stays.
func TestMergeAttributeRowPlanMisses(t *testing.T) {
	t.Parallel()
	verified := func(email string) map[string]string {
		return map[string]string{"email": email, "email_verified": "true"}
	}
	seed := emulator.Seed{UserPools: []emulator.SeedPool{{ID: mergePool,
		IdentityProviders: []emulator.SeedProvider{{Name: "Okta", Type: "SAML", AttributeMapping: map[string]string{"email": "email"}}, {Name: "Google", Type: "Google"}},
		Users: []emulator.SeedUser{
			{Username: "dave", Attributes: verified("dave@example.com")},
			{Username: "Okta_dave@example.com", Federated: true, Attributes: verified("dave@example.com")},
		}}}}
	// The merge reads the profile, then the other row's link lands, then the merge signs the
	// profile out and deletes it. (A fix that runs the two rows one after the other never
	// sends the link while the merge waits: the bounds let each go on then.)
	profileRead, linked := make(chan struct{}), make(chan struct{})
	var readOnce, linkOnce sync.Once
	wait := func(ch chan struct{}) {
		select {
		case <-ch:
		case <-time.After(5 * time.Second):
		}
	}
	srv, url := startHooked(t, seed, func(c *hookedCall, w http.ResponseWriter) {
		switch {
		case c.op == "AdminGetUser" && c.str("Username") == "Okta_dave@example.com":
			c.forward(w)
			readOnce.Do(func() { close(profileRead) })
		case c.op == "AdminLinkProviderForUser" && c.str("SourceUser", "ProviderAttributeValue") == "g4":
			wait(profileRead)
			c.forward(w)
			linkOnce.Do(func() { close(linked) })
		case c.op == "AdminUserGlobalSignOut":
			wait(linked)
			c.forward(w)
		default:
			c.forward(w)
		}
	})
	in := writeFile(t, "links.csv", "destination_user,source_provider,source_attribute,source_value\n"+
		"dave,Okta,email,dave@example.com\nOkta_dave@example.com,Google,Cognito_Subject,g4\n")
	rep := in + ".report.csv"
	bulklink(t, nil, mergeArgs(in, rep, url, "--concurrency", "2")...)
	for _, r := range readReport(t, rep) {
		t.Logf("line %s: %s %s %q", r["line"], r["status"], r["error_code"], r["error_message"])
		if r["source_value"] == "g4" && (r["status"] == "linked" || r["status"] == "already_linked") && !srv.UserExists(mergePool, "Okta_dave@example.com") {
			t.Errorf("g4 is reported %s to Okta_dave@example.com, which the other row's merge deleted: want both rows MergeConflict, as for rows by Cognito_Subject", r["status"])
		}
	}
}

// TestMergeSubMapUnwritable: a file that is not a sub map lies at <report>.subs.csv (a
// user's own, or planted). The run refuses before any delete, as for the backup file, rather
// than delete profiles and find at the end that it cannot say where their subs went.
func TestMergeSubMapUnwritable(t *testing.T) {
	t.Parallel()
	seed, cases := mergeScenario(1)
	srv := startEmulator(t, emulator.Options{}, seed)
	in := writeFile(t, "links.csv", mergeInput(cases[:1]))
	rep := in + ".report.csv"
	if err := os.WriteFile(rep+".subs.csv", []byte("my notes\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	res := bulklink(t, nil, mergeArgs(in, rep, srv.URL)...)
	if res.code == exitOK && !srv.UserExists(mergePool, "Google_m0") && readSubs0(t, rep)["old-0"] != "dest-0" {
		t.Errorf("the run deleted Google_m0 and exited 0 without a sub map (%s.subs.csv is not one)", rep)
	}
}

// readSubs0 is readSubs for a file that may not be a sub map: nil then.
func readSubs0(t *testing.T, rep string) map[string]string {
	b, err := os.ReadFile(rep + ".subs.csv")
	if err != nil || !strings.HasPrefix(string(b), "user_pool_id,old_sub") {
		return nil
	}
	return readSubs(t, rep)
}

// TestMergeOddAnswerKeepsTheRow: Cognito's answer for the profile carries an identities
// attribute bulklink cannot read. Every row ends with a record or stops the run with an
// error: the run does not exit 0 with the row unrecorded.
func TestMergeOddAnswerKeepsTheRow(t *testing.T) {
	t.Parallel()
	seed, cases := mergeScenario(1)
	_, url := startHooked(t, seed, func(c *hookedCall, w http.ResponseWriter) {
		if c.op != "AdminGetUser" || c.str("Username") != "Google_m0" {
			c.forward(w)
			return
		}
		rec := httptest.NewRecorder()
		c.forward(rec)
		var out map[string]any
		json.Unmarshal(rec.Body.Bytes(), &out)
		attrs, _ := out["UserAttributes"].([]any)
		for _, a := range attrs {
			if m := a.(map[string]any); m["Name"] == "identities" {
				m["Value"] = `[{"userId":"m0","providerName":"Google","dateCreated":"1700000000000"}]` // a date as a string
			}
		}
		b, _ := json.Marshal(out)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Write(b)
	})
	in := writeFile(t, "links.csv", mergeInput(cases[:1]))
	rep := in + ".report.csv"
	res := bulklink(t, nil, mergeArgs(in, rep, url)...)
	if recs := readReportIfAny(t, rep); len(recs) == 0 && res.code == exitOK {
		t.Errorf("the run exited 0 with no record of its one row\n%s", res.stderr)
	}
}
