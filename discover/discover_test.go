package discover_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/bulklink/bulklink/call"
	"github.com/bulklink/bulklink/discover"
	"github.com/bulklink/bulklink/emulator"
	"github.com/bulklink/bulklink/internal/seedgen"
	"github.com/bulklink/bulklink/job"
	"github.com/bulklink/bulklink/plan"
	"github.com/bulklink/bulklink/report"
)

const poolID = "us-east-1_Discover1"

// world is an emulator serving a seedgen pool, and what discover needs to read it.
type world struct {
	srv    *emulator.Server
	api    call.Cognito
	pool   *plan.Pool
	expect seedgen.Expect
	seed   emulator.Seed
}

func newWorld(t *testing.T, n int, caseSensitive bool) *world {
	t.Helper()
	p, ex := seedgen.Pool(poolID, n, caseSensitive)
	w := &world{expect: ex, seed: emulator.Seed{UserPools: []emulator.SeedPool{p}}}
	w.serve(t)
	return w
}

// serve starts a new emulator with the world's seed: its pagination tokens are its own.
func (w *world) serve(t *testing.T) {
	t.Helper()
	w.srv = emulator.NewServer(emulator.Options{})
	t.Cleanup(w.srv.Close)
	if err := w.srv.Load(w.seed); err != nil {
		t.Fatal(err)
	}
	w.api = w.srv.Client()
	pool, err := (&job.PoolReader{API: w.api, Calls: unpaced()}).Pool(t.Context(), poolID)
	if err != nil {
		t.Fatal(err)
	}
	w.pool = pool
}

func unpaced() *call.Caller {
	return call.New(call.Config{Rates: map[call.Category]float64{call.UserList: 0, call.PoolRead: 0}, MaxAttempts: 3})
}

var (
	byEmail    = discover.Query{Mode: discover.ByAttribute, Provider: "Okta", Attribute: "email"}
	duplicates = discover.Query{Mode: discover.Duplicates}
)

func (w *world) config(q discover.Query, output string) discover.Config {
	return discover.Config{Query: q, Pool: w.pool, API: w.api, Calls: unpaced(), Output: output, Refused: discover.RefusedPath(output),
		Target: discover.Target{Region: "us-east-1", Endpoint: "emulator", UserPoolID: poolID}, CommitEvery: time.Nanosecond}
}

// readTable reads a CSV or JSONL file of discover's into records keyed by column.
func readTable(t *testing.T, path string) []map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	if strings.HasSuffix(path, ".jsonl") {
		for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
			if line == "" {
				continue
			}
			m := map[string]string{}
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			out = append(out, m)
		}
		return out
	}
	recs, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, c := range recs[0] {
			m[c] = r[i]
		}
		out = append(out, m)
	}
	return out
}

// checkOutcomes checks that the output and the refused file hold, between them, exactly
// the expected outcome of every candidate, each once.
func checkOutcomes(t *testing.T, q discover.Query, output string, want map[string]seedgen.Outcome) {
	t.Helper()
	got := map[string]string{}
	note := func(user, outcome string) {
		if prev, ok := got[user]; ok {
			t.Errorf("%s: %s and %s: a candidate twice", user, prev, outcome)
		}
		got[user] = outcome
	}
	for _, r := range readTable(t, output) {
		user := r["destination_user"]
		if q.Mode == discover.Duplicates {
			user = r["source_username"]
		}
		if r["user_pool_id"] != poolID || r["destination_provider"] != "Cognito" {
			t.Errorf("row %v: want the pool and Cognito", r)
		}
		note(user, fmt.Sprintf("row %s %s %s", r["destination_user"], r["source_provider"], r["source_value"]))
	}
	for _, r := range readTable(t, discover.RefusedPath(output)) {
		note(r["username"], r["code"])
		if r["message"] == "" || r["user_pool_id"] != poolID {
			t.Errorf("refused %v: want a message and the pool", r)
		}
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
		t.Errorf("... %d wrong in all, of %d candidates", bad, len(want))
	}
}

// Against the emulator over HTTP, both kinds of discover, in both kinds of pool and both
// formats, give every candidate its expected outcome.
func TestDiscoverOutcomes(t *testing.T) {
	t.Parallel()
	for _, cs := range []bool{true, false} {
		w := newWorld(t, 2000, cs)
		for _, q := range []discover.Query{byEmail, duplicates} {
			for _, ext := range []string{"csv", "jsonl"} {
				t.Run(fmt.Sprintf("case-sensitive=%t/%s/%s", cs, q.Mode, ext), func(t *testing.T) {
					out := filepath.Join(t.TempDir(), "links."+ext)
					sum, err := discover.Run(t.Context(), w.config(q, out))
					if err != nil {
						t.Fatal(err)
					}
					want := w.expect.ByEmail
					if q.Mode == discover.Duplicates {
						want = w.expect.Duplicates
					}
					checkOutcomes(t, q, out, want)
					if sum.Users < 2000 || sum.ByStatus[discover.Emitted] == 0 || sum.Refusals() == 0 {
						t.Errorf("summary: %d users, %v: want the pool, rows and refusals", sum.Users, sum.ByStatus)
					}
					if _, err := os.Stat(discover.SpillPath(out)); !errors.Is(err, os.ErrNotExist) {
						t.Errorf("the spill is left behind: %v", err)
					}
				})
			}
		}
	}
}

// stopAfter is a Cognito that stops its discover after n ListUsers pages, as Ctrl-C would.
type stopAfter struct {
	call.Cognito
	n      int64
	calls  atomic.Int64
	cancel context.CancelFunc
}

func (s *stopAfter) ListUsers(ctx context.Context, in *cip.ListUsersInput, o ...func(*cip.Options)) (*cip.ListUsersOutput, error) {
	if s.calls.Add(1) > s.n {
		s.cancel()
		return nil, ctx.Err()
	}
	return s.Cognito.ListUsers(ctx, in, o...)
}

// A discover stopped again and again, and continued each time, writes what one that ran
// through writes, byte for byte; one whose saved token is refused (a new emulator: the
// token expired) lists again from the start, and still does.
func TestDiscoverResume(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 3000, true)
	for _, q := range []discover.Query{byEmail, duplicates} {
		whole := filepath.Join(t.TempDir(), "whole.csv")
		wholeSum, err := discover.Run(t.Context(), w.config(q, whole))
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(t.TempDir(), "links.csv")
		stops := 0
		for ; stops < 20; stops++ {
			ctx, cancel := context.WithCancel(t.Context())
			cfg := w.config(q, out)
			cfg.API = &stopAfter{Cognito: w.api, n: 7, cancel: cancel}
			sum, err := discover.Run(ctx, cfg)
			cancel()
			if err == nil {
				// Each page counted once: a page read again after a stop replaced, not added to.
				if sum.Users != wholeSum.Users || sum.Pages != wholeSum.Pages {
					t.Errorf("%s: %d users in %d pages once continued, %d in %d uninterrupted", q.Mode, sum.Users, sum.Pages, wholeSum.Users, wholeSum.Pages)
				}
				break
			}
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("stop %d: %v", stops, err)
			}
			if stops == 3 {
				w.serve(t) // the tokens of the first emulator mean nothing to this one
				cfg = w.config(q, out)
			}
			if sum.Users == 0 {
				t.Fatalf("stop %d: nothing listed", stops)
			}
		}
		if stops < 5 {
			t.Fatalf("%s: finished after %d stops: the test stopped too few times", q.Mode, stops)
		}
		for _, p := range [][2]string{{whole, out}, {discover.RefusedPath(whole), discover.RefusedPath(out)}} {
			a, _ := os.ReadFile(p[0])
			b, _ := os.ReadFile(p[1])
			if string(a) != string(b) || len(a) == 0 {
				t.Errorf("%s: %s differs from %s, the file of a discover that was never stopped", q.Mode, p[1], p[0])
			}
		}
		spilled := func(output string) int64 {
			var st struct {
				Records int64 `json:"spill_records"`
			}
			b, _ := os.ReadFile(discover.StatePath(output))
			json.Unmarshal(b, &st)
			return st.Records
		}
		if a, b := spilled(whole), spilled(out); a != b || a == 0 {
			t.Errorf("%s: %d records spilled once continued, %d uninterrupted: a page spilled twice or lost", q.Mode, b, a)
		}
		var st struct {
			Restarts int `json:"listing_restarts"`
		}
		if b, err := os.ReadFile(discover.StatePath(out)); err != nil || json.Unmarshal(b, &st) != nil || st.Restarts != 1 {
			t.Errorf("%s: the state says %d restarts (%v), want 1: the refused token", q.Mode, st.Restarts, err)
		}
		// Done: the same command again lists nothing and says what it wrote.
		sum, err := discover.Run(t.Context(), w.config(q, out))
		if err != nil || !sum.AlreadyDone || sum.ByStatus[discover.Emitted] == 0 || sum.Calls != 0 {
			t.Errorf("%s again: %+v, %v: want it done already, its counts, no call", q.Mode, sum, err)
		}
	}
}

// A discover of another query, pool or filter does not continue one that listed users; a
// discover that listed nothing yet is simply started over; --restart starts over always.
func TestDiscoverRefusesAnotherQuery(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 500, true)
	out := filepath.Join(t.TempDir(), "links.csv")
	ctx, cancel := context.WithCancel(t.Context())
	cfg := w.config(byEmail, out)
	cfg.API = &stopAfter{Cognito: w.api, n: 2, cancel: cancel}
	if _, err := discover.Run(ctx, cfg); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want a stop", err)
	}
	cancel()
	for _, q := range []discover.Query{duplicates, {Mode: discover.ByAttribute, Provider: "Okta", Attribute: "email", Filter: `email ^= "dup"`},
		{Mode: discover.ByAttribute, Provider: "Okta", Attribute: "email", AllowUnverified: true}} {
		_, err := discover.Run(t.Context(), w.config(q, out))
		var ce *discover.ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), "--restart") {
			t.Errorf("%s over a stopped %s: got %v, want a refusal naming --restart", q.Mode, byEmail.Mode, err)
		}
	}
	other := w.config(byEmail, out)
	other.Target.Endpoint = "production"
	if _, err := discover.Run(t.Context(), other); err == nil {
		t.Error("another endpoint continued the discover")
	}
	cfg = w.config(duplicates, out)
	cfg.Restart = true
	if _, err := discover.Run(t.Context(), cfg); err != nil {
		t.Fatalf("--restart: %v", err)
	}
	checkOutcomes(t, duplicates, out, w.expect.Duplicates)
}

// discover writes only files of its own: an output that exists with no discover state
// beside it, a link, another's file are refused before any call.
func TestDiscoverFiles(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 100, true)
	dir := t.TempDir()
	mine := filepath.Join(dir, "links.csv")
	os.WriteFile(mine, []byte("destination_user,source_provider,source_value,email\nalice,Okta,a@x,a@x\n"), 0o600)
	os.Symlink("/etc/passwd", filepath.Join(dir, "l.csv"))
	for _, out := range []string{mine, filepath.Join(dir, "l.csv")} {
		calls := unpaced()
		cfg := w.config(byEmail, out)
		cfg.Calls = calls
		_, err := discover.Run(t.Context(), cfg)
		if _, ok := errors.AsType[*report.UnsafeFileError](err); !ok {
			t.Errorf("%s: got %v, want an UnsafeFileError", out, err)
		}
		if n := calls.Count(call.KindListUsers).Calls.Load(); n != 0 {
			t.Errorf("%s: %d ListUsers calls before the refusal", out, n)
		}
	}
	if b, _ := os.ReadFile(mine); !strings.Contains(string(b), "alice") {
		t.Error("the user's file was changed")
	}
}

// A filter is sent as it is: a prefix of the email lists only those users.
func TestDiscoverFilter(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 1000, true)
	q := duplicates
	q.Filter = `email ^= "dup"`
	out := filepath.Join(t.TempDir(), "links.jsonl")
	sum, err := discover.Run(t.Context(), w.config(q, out))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Users == 0 || sum.Users >= 1000 {
		t.Fatalf("listed %d users, want the dup ones", sum.Users)
	}
	rows := readTable(t, out)
	if len(rows) == 0 {
		t.Fatal("no row")
	}
	for _, r := range rows {
		if !strings.HasPrefix(strings.ToLower(r["email"]), "dup") {
			t.Errorf("row %v: its email does not start with dup", r)
		}
	}
}
