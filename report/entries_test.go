package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestReadEntries(t *testing.T) {
	const csvHead = "line,status,error_code,note\n"
	tests := []struct {
		name, file, content string
		want                []string // status/note of each entry
		torn                bool
	}{
		{"csv", "r.csv", csvHead + "2,linked,,a\n3,failed,E,\"b\nc\"\n", []string{"linked/a", "failed/b\nc"}, false},
		{"csv cut in a quoted field", "r.csv", csvHead + "2,linked,,a\n3,failed,E,\"b", []string{"linked/a"}, true},
		{"csv cut short", "r.csv", csvHead + "2,linked,,a\n3,fai", []string{"linked/a"}, true},
		{"csv cut in its last column", "r.csv", csvHead + "2,linked,,a\n3,failed,E,b", []string{"linked/a"}, true},
		{"csv with a quote in a middle record", "r.csv", csvHead + "2,linked,,\"a\"\"b\"\n3,failed,E,c\n", []string{"linked/a\"b", "failed/c"}, false},
		{"jsonl", "r.jsonl", `{"line":2,"status":"linked","note":"a"}` + "\n" + `{"line":3,"status":"failed","note":{"x":1}}` + "\n",
			[]string{"linked/a", `failed/{"x":1}`}, false},
		{"jsonl cut", "r.jsonl", `{"line":2,"status":"linked","note":"a"}` + "\n" + `{"line":3,"sta`, []string{"linked/a"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tt.file)
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			var got []string
			torn, err := ReadEntries(t.Context(), path, func(e *Entry) error {
				got = append(got, string(e.Status())+"/"+e.Get("note"))
				return nil
			})
			if err != nil || torn != tt.torn || strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("got %q, torn %v, %v; want %q, torn %v", got, torn, err, tt.want, tt.torn)
			}
		})
	}
	if _, err := ReadEntries(t.Context(), filepath.Join(t.TempDir(), "x.csv"), nil); err == nil {
		t.Error("a missing report: no error")
	}
	// A JSONL record with more after its object would be printed as it is: no JSON.
	path := filepath.Join(t.TempDir(), "r.jsonl")
	if err := os.WriteFile(path, []byte(`{"line":2,"status":"linked"} {"x":1}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadEntries(t.Context(), path, func(*Entry) error { return nil }); err == nil || !strings.Contains(err.Error(), "line 1: not a JSON object") {
		t.Errorf("a record with an object after its object: got %v, want it refused", err)
	}
}

func TestEntryJSON(t *testing.T) {
	e := &Entry{Columns: []string{"line", "status", "attempts", "note"}, Values: []string{"2", "failed", "1", "7"}}
	if got, want := string(e.AppendJSON(nil)), `{"line":2,"status":"failed","attempts":1,"note":"7"}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// hostileNames are column names a tampered report (or one of an older bulklink) may hold:
// control characters, DEL, BEL, a tag character, and what JSON must escape.
var hostileNames = []string{"a\x01b", "del\x7f", "bel\a", "tag\U000E0001", "nul\x00", "esc\x1b[2J", `q"uote\`, "<html>&", "line\u2028sep", "c1\u0085"}

// TestEntryJSONHostileNames: AppendJSON and CSVRow write every key and value through one
// JSON encoder (issue 23, item 2): the output parses, and reads back as the report's names
// and values exactly. Before, keys were quoted as Go does, "a\x01b", which is no JSON.
func TestEntryJSONHostileNames(t *testing.T) {
	cols := append([]string{"line", "status", "attempts"}, hostileNames...)
	vals := []string{"2", "linked", "+1"}
	for _, n := range hostileNames {
		vals = append(vals, "v-"+n)
	}
	e := &Entry{Columns: cols, Values: vals}
	b := e.AppendJSON(nil)
	if !json.Valid(b) {
		t.Fatalf("AppendJSON wrote invalid JSON: %s", b)
	}
	back, err := jsonEntry(b)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.Columns, cols) {
		t.Errorf("keys read back %q, want %q", back.Columns, cols)
	}
	for i, c := range cols {
		want := vals[i]
		if got := back.Get(c); got != want {
			t.Errorf("%q read back %q, want %q", c, got, want)
		}
	}

	// A JSONL record's carried keys, in the extra column of CSVRow.
	line := append(bytes.TrimSuffix(b, []byte("}")), []byte(`,"num":1.5e3,"obj":{"k\u0001":[1,"x\u007f"]}}`)...)
	j, err := jsonEntry(line)
	if err != nil {
		t.Fatal(err)
	}
	row := j.CSVRow()
	extra := row[len(row)-1]
	var m map[string]any
	if err := json.Unmarshal([]byte(extra), &m); err != nil {
		t.Fatalf("CSVRow's extra is not JSON (%v): %s", err, extra)
	}
	for _, n := range hostileNames {
		if m[n] != "v-"+n {
			t.Errorf("extra[%q] = %v, want %q", n, m[n], "v-"+n)
		}
	}
	if m["num"] != 1500.0 {
		t.Errorf("extra's num %v, want 1.5e3 as it was", m["num"])
	}
}
