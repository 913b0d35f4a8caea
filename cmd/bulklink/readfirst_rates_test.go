package main

import (
	"strings"
	"testing"

	"github.com/bulklink/bulklink/emulator"
)

// TestReadFirstAutoWeighsTheRateFlags: run hands --rate and --read-rate to auto, which weighs
// a read and a write by them. A file of 100 new rows, then 200 linked already: at --read-rate
// six times --rate, the break-even is a seventh, and auto reads first once a quarter of the
// last 100 rows were already linked (a seventh and the margin), not 60% as with the rates
// alike: it writes 25 of the linked rows first, plus the rows in flight, not 60. Its log says
// the break-even it judged by.
func TestReadFirstAutoWeighsTheRateFlags(t *testing.T) {
	t.Parallel()
	s := nightlyScenario(300, 0)
	p := &s.seed.UserPools[0]
	for i := 100; i < 300; i++ {
		u := &p.Users[i]
		u.Identities = []emulator.SeedIdentity{{Provider: "Google", Value: "g" + u.Username}}
		s.rows[i].wantStatus = "already_linked"
	}
	srv := startEmulator(t, emulator.Options{}, s.seed)
	rep, res := runCSV(t, s, srv, "--rate", "60", "--read-rate", "360", "--log-format", "json")
	if res.code != exitOK {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	s.check(t, readReport(t, rep), 2)
	if writes, most := srv.Calls("AdminLinkProviderForUser"), int64(100+25+8); writes > most {
		t.Errorf("%d link calls for 100 new rows, then 200 linked: want at most %d (the new rows, 25 linked ones and the 8 in flight)", writes, most)
	}
	if !strings.Contains(res.stderr, `"break_even_share":0.142`) {
		t.Errorf("no log line says auto judged by the break-even of --rate 60 and --read-rate 360 (a seventh):\n%s", res.stderr)
	}
}
