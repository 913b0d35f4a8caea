package main

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/bulklink/bulklink/emulator"
	"github.com/bulklink/bulklink/internal/testseed"
)

// nightlyScenario is a nightly file: n rows of which linked are already linked in the pool
// (the export of the night before), the others new.
func nightlyScenario(n, linked int) *scenario {
	s := mixedScenario(0)
	p := &s.seed.UserPools[0]
	for i := range n {
		u := "n" + itoa(i)
		su := emulator.SeedUser{Username: u}
		r := scenarioRow{destUser: u, srcProvider: "Google", srcAttr: "Cognito_Subject", srcValue: "g" + u, wantStatus: "linked"}
		if i%10 < linked*10/n { // spread them through the file
			su.Identities = []emulator.SeedIdentity{{Provider: "Google", Value: "g" + u}}
			r.wantStatus = "already_linked"
		}
		p.Users = append(p.Users, su)
		s.rows = append(s.rows, r)
		s.links[u] = []string{"Google:g" + u}
	}
	return s
}

// TestReadFirstModesGiveTheSameReport: whatever --read-first says, the same input against the
// same pool, with faults, ends with the same statuses and codes, row by row, and the same
// links in the pool.
func TestReadFirstModesGiveTheSameReport(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"never", "always", "auto"} {
		for _, sc := range []struct {
			name string
			s    *scenario
		}{{"mixed", mixedScenario(400)}, {"nightly", nightlyScenario(400, 360)}} {
			t.Run(mode+"/"+sc.name, func(t *testing.T) {
				t.Parallel()
				srv := startEmulator(t, emulator.Options{Fault5xx: 0.03, FaultLost: 0.03, Fault5xxAfter: 0.03, Seed: int64(testseed.Seed(t))}, sc.s.seed)
				rep, res := runCSV(t, sc.s, srv, "--rate", "0", "--read-rate", "0", "--read-first", mode)
				want := exitOK
				if sc.name == "mixed" {
					want = exitRows // it has rows that fail and invalid ones
				}
				if res.code != want {
					t.Errorf("exit %d, want %d\n%s", res.code, want, res.stderr)
				}
				sc.s.check(t, readReport(t, rep), 2)
				sc.s.checkLinks(t, srv.Emulator)
			})
		}
	}
}

// TestReadFirstAutoSpendsNoWriteOnLinkedRows: a nightly file of 2,000 rows, 90% of them
// linked the night before. auto soon reads first, and then a row already linked costs a read
// and no write: the run writes little more than the new rows. A first migration, nothing
// linked, reads nothing first.
func TestReadFirstAutoSpendsNoWriteOnLinkedRows(t *testing.T) {
	t.Parallel()
	summary := func(t *testing.T, rep string) map[string]any {
		t.Helper()
		b, err := os.ReadFile(rep + ".summary.json")
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	t.Run("nightly", func(t *testing.T) {
		t.Parallel()
		s := nightlyScenario(2000, 1800)
		srv := startEmulator(t, emulator.Options{}, s.seed)
		rep, res := runCSV(t, s, srv, "--rate", "0", "--read-rate", "0", "--log-format", "json")
		if res.code != exitOK {
			t.Fatalf("exit %d\n%s", res.code, res.stderr)
		}
		s.check(t, readReport(t, rep), 2)
		writes := srv.Calls("AdminLinkProviderForUser")
		if writes > 200+100 {
			t.Errorf("%d link calls for 200 new rows and 1,800 linked ones: want the new ones and the few before auto read first", writes)
		}
		if !strings.Contains(res.stderr, "reading first") {
			t.Errorf("no log line says auto began to read first:\n%s", res.stderr)
		}
		m := summary(t, rep)
		if n, _ := m["read_first_rows"].(float64); n < 1800 {
			t.Errorf("summary: %v rows read first, want most of the 2,000", m["read_first_rows"])
		}
		if by, _ := m["calls_by_kind"].(map[string]any); by["AdminLinkProviderForUser"] != float64(writes) || by["AdminGetUser"] != float64(srv.Calls("AdminGetUser")) {
			t.Errorf("summary calls by kind %v, the emulator saw %d links and %d reads", by, writes, srv.Calls("AdminGetUser"))
		}
	})
	t.Run("first migration", func(t *testing.T) {
		t.Parallel()
		s := nightlyScenario(1000, 0)
		srv := startEmulator(t, emulator.Options{}, s.seed)
		rep, res := runCSV(t, s, srv, "--rate", "0", "--read-rate", "0")
		if res.code != exitOK {
			t.Fatalf("exit %d\n%s", res.code, res.stderr)
		}
		if n := srv.Calls("AdminGetUser"); n != 0 {
			t.Errorf("%d reads for a first migration, want none", n)
		}
		if m := summary(t, rep); m["read_first_rows"] != nil {
			t.Errorf("summary: %v rows read first, want none", m["read_first_rows"])
		}
	})
}

// TestReadFirstResumeIsExact: a run that reads first, killed with SIGKILL at random moments
// and resumed each time, ends with every row linked, none already_linked: a link a killed run
// made and did not record is found by the read before the write, and its date says this
// report's runs made it.
func TestReadFirstResumeIsExact(t *testing.T) {
	t.Parallel()
	s := nightlyScenario(1000, 0)
	srv := startEmulator(t, emulator.Options{Latency: 5 * time.Millisecond}, s.seed)
	in := writeFile(t, "links.csv", s.csv())
	rep := in + ".report.csv"
	args := []string{"run", "--input", in, "--report", rep, "--endpoint-url", srv.URL, "--rate", "0", "--read-rate", "0", "--read-first", "always", "--progress", "never"}
	soak := killSoak{args: args, report: rep, rows: len(s.rows), kills: 5, attempts: 30, pause: 200 * time.Millisecond}
	kills := soak.run(t, rand.New(rand.NewPCG(testseed.Seed(t), 3)))
	if res := bulklink(t, nil, args...); res.code != exitOK {
		t.Fatalf("final run: exit %d\n%s", res.code, res.stderr)
	}
	recs := readReport(t, rep)
	if len(recs) != len(s.rows) {
		t.Fatalf("%d records, want %d", len(recs), len(s.rows))
	}
	for _, r := range recs {
		if r["status"] != "linked" {
			t.Errorf("line %s: %s %q, want linked: nothing was linked before the report began", r["line"], r["status"], r["error_message"])
		}
	}
	if kills == 0 {
		t.Error("no kill landed: the test tested nothing")
	}
	t.Logf("%d kills", kills)
}
