package report

import (
	"os"
	"path/filepath"
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
}

func TestEntryJSON(t *testing.T) {
	e := &Entry{Columns: []string{"line", "status", "attempts", "note"}, Values: []string{"2", "failed", "1", "7"}}
	if got, want := string(e.AppendJSON(nil)), `{"line":2,"status":"failed","attempts":1,"note":"7"}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
