package report

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/bulklink/bulklink/schema"
)

// FuzzRecover: whatever a report holds, Recover does not panic, and what it keeps is whole
// records: recovering again cuts nothing and finds the same rows.
func FuzzRecover(f *testing.F) {
	f.Add([]byte(header+csvRecord("2", "linked", "", "a")+"3,lin"), true)
	f.Add([]byte(header+csvRecord("2", "linked", "", `"x`+"\n"+`y"`)), true)
	f.Add([]byte(`{"line":1,"status":"linked","error_code":"","attempts":1}`+"\n"+`{"line":2`), false)
	f.Fuzz(func(t *testing.T, content []byte, csv bool) {
		l := Layout{Format: JSONL}
		if csv {
			l = Layout{Format: CSV, ExtraColumns: []string{"note"}}
		}
		path := filepath.Join(t.TempDir(), "r")
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
		j, err := Recover(path, schema.Run, l, 1<<20)
		if err != nil {
			return
		}
		again, err := Recover(path, schema.Run, l, 1<<20)
		if err != nil || again.Torn != 0 || again.Records != j.Records {
			t.Fatalf("second Recover: %+v, %v; want the same %d records and nothing cut", again, err, j.Records)
		}
	})
}
