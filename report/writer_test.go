package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulklink/bulklink/input"
	"github.com/bulklink/bulklink/schema"
)

func sampleRecord() *Record {
	return &Record{
		Line:         7,
		Status:       Failed,
		ErrorCode:    "UserNotFoundException",
		ErrorMessage: "User does not exist.",
		Attempts:     2,
		Request: input.Request{UserPoolID: "us-east-1_Abc123", DestinationProvider: "Cognito", DestinationUser: "alice",
			SourceProvider: "Google", SourceAttribute: "Cognito_Subject", SourceValue: "1178"},
		Duration:   1500 * time.Millisecond,
		FinishedAt: time.Date(2026, 11, 21, 23, 5, 1, 234_000_000, time.UTC),
	}
}

func TestCSVRecord(t *testing.T) {
	var b bytes.Buffer
	w, err := NewWriter(&b, Layout{Format: CSV, ExtraColumns: []string{"ticket", "note"}}, true)
	if err != nil {
		t.Fatal(err)
	}
	r := sampleRecord()
	r.Extra = []input.Field{{Name: "ticket", Value: "T-1"}, {Name: "note", Value: "a, \"quoted\"\nnote"}}
	must(t, w.Write(r))
	// Extras out of order or missing are matched by name.
	r2 := sampleRecord()
	r2.Line, r2.Status, r2.ErrorCode, r2.ErrorMessage = 8, Linked, "", ""
	r2.Extra = []input.Field{{Name: "note", Value: "n"}}
	must(t, w.Write(r2))
	must(t, w.Flush())
	want := "line,status,error_code,error_message,attempts,user_pool_id,destination_provider,destination_user,source_provider,source_attribute,source_value,duration_ms,finished_at,ticket,note\n" +
		"7,failed,UserNotFoundException,User does not exist.,2,us-east-1_Abc123,Cognito,alice,Google,Cognito_Subject,1178,1500,2026-11-21T23:05:01.234Z,T-1,\"a, \"\"quoted\"\"\nnote\"\n" +
		"8,linked,,,2,us-east-1_Abc123,Cognito,alice,Google,Cognito_Subject,1178,1500,2026-11-21T23:05:01.234Z,,n\n"
	if got := b.String(); got != want {
		t.Errorf("CSV report\n got %q\nwant %q", got, want)
	}
}

func TestCSVExtraJSONCell(t *testing.T) {
	var b bytes.Buffer
	w, err := NewWriter(&b, Layout{Format: CSV, ExtraJSON: true}, true)
	if err != nil {
		t.Fatal(err)
	}
	r := sampleRecord()
	r.Extra = []input.Field{{Name: "ticket", Value: "T-1"}, {Name: "n", Value: "5", JSON: true}}
	must(t, w.Write(r))
	r.Extra = nil
	must(t, w.Write(r))
	must(t, w.Flush())
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if !strings.HasSuffix(lines[0], ",finished_at,extra") {
		t.Errorf("header %q, want it to end with the extra column", lines[0])
	}
	if want := `,"{""ticket"":""T-1"",""n"":5}"`; !strings.HasSuffix(lines[1], want) {
		t.Errorf("record %q, want it to end with %s", lines[1], want)
	}
	if !strings.HasSuffix(lines[2], "Z,") {
		t.Errorf("record without extras %q, want an empty extra cell", lines[2])
	}
}

func TestJSONLRecord(t *testing.T) {
	var b bytes.Buffer
	w, err := NewWriter(&b, Layout{Format: JSONL}, true)
	if err != nil {
		t.Fatal(err)
	}
	r := sampleRecord()
	r.ErrorMessage = "quote \" backslash \\ newline \n tab \t nul \x00 bad \xff sep \u2028 ünï"
	r.Extra = []input.Field{{Name: "ticket", Value: "T-1"}, {Name: "obj", Value: `{"a":[1,2]}`, JSON: true}, {Name: "n", Value: "null", JSON: true}}
	must(t, w.Write(r))
	must(t, w.Flush())
	line := b.String()
	wantPrefix := `{"line":7,"status":"failed","error_code":"UserNotFoundException","error_message":`
	if !strings.HasPrefix(line, wantPrefix) || !strings.HasSuffix(line, "}\n") {
		t.Fatalf("JSONL record %q: keys out of order or not one line", line)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(line), &got); err != nil {
		t.Fatalf("JSONL record is not JSON: %v\n%s", err, line)
	}
	checks := map[string]any{
		"line": 7.0, "attempts": 2.0, "duration_ms": 1500.0, "finished_at": "2026-11-21T23:05:01.234Z",
		"error_message": strings.ToValidUTF8(r.ErrorMessage, "\ufffd"), "source_value": "1178", "ticket": "T-1", "n": nil,
	}
	for k, want := range checks {
		if got[k] != want {
			t.Errorf("key %s = %#v, want %#v", k, got[k], want)
		}
	}
	if obj, ok := got["obj"].(map[string]any); !ok || len(obj["a"].([]any)) != 2 {
		t.Errorf("obj = %#v, want the JSON object carried through", got["obj"])
	}
}

// A report is itself a valid input, whatever columns its input had: read back, each record
// is the same request, with the report's line and status as its Prior, and every column
// carried through again, the report's own under new names, never twice.
func TestReportIsAnInput(t *testing.T) {
	for _, f := range []Format{CSV, JSONL} {
		t.Run(string(f), func(t *testing.T) {
			var b bytes.Buffer
			// The input had columns named like the report's: carried as input_status,
			// input_line and input_extra.
			w, err := NewWriter(&b, Layout{Format: f, ExtraColumns: []string{"ticket", "input_status", "input_line", "input_extra"}}, true)
			if err != nil {
				t.Fatal(err)
			}
			r := sampleRecord()
			r.Extra = []input.Field{{Name: "ticket", Value: "T-1"}, {Name: "input_status", Value: "vip"}, {Name: "input_line", Value: "x"}, {Name: "input_extra", Value: "{}"}}
			must(t, w.Write(r))
			must(t, w.Flush())
			var rd input.Reader
			if f == CSV {
				rd, err = input.NewCSV(&b, input.Options{})
				if err != nil {
					t.Fatal(err)
				}
			} else {
				rd = input.NewJSONL(&b, input.Options{})
			}
			row, err := rd.Next()
			if err != nil {
				t.Fatal(err)
			}
			if !row.Valid() || row.Request != r.Request {
				t.Errorf("read back %+v (invalid: %q), want request %+v", row.Request, row.Invalid, r.Request)
			}
			if row.Prior == nil || row.Prior.Line != 7 || row.Prior.Status != "failed" {
				t.Errorf("prior %+v, want line 7, status failed", row.Prior)
			}
			got := map[string]string{}
			for _, e := range row.Extra {
				if _, twice := got[e.Name]; twice || schema.Reserved(e.Name) {
					t.Errorf("extra %q: twice or reserved, in %+v", e.Name, row.Extra)
				}
				got[e.Name] = e.Value
			}
			want := map[string]string{
				"input_input_line": "7", "input_input_status": "failed", "input_error_code": "UserNotFoundException",
				"input_error_message": "User does not exist.", "input_attempts": "2", "input_duration_ms": "1500",
				"input_finished_at": "2026-11-21T23:05:01.234Z",
				"ticket":            "T-1", "input_status": "vip", "input_line": "x", "input_extra": "{}",
			}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("extra %s = %q, want %q (all: %+v)", k, got[k], v, row.Extra)
				}
			}
			if len(got) != len(want) {
				t.Errorf("extras %+v, want exactly %v", row.Extra, want)
			}
			if _, err := rd.Next(); err != io.EOF {
				t.Errorf("after the record: %v, want EOF", err)
			}
		})
	}
}

// TestColumnsMatchSchema holds both encoders to the schema's table of columns: the CSV header
// and the JSONL keys, in order, and the values under them.
func TestColumnsMatchSchema(t *testing.T) {
	var c, j bytes.Buffer
	cw, _ := NewWriter(&c, Layout{Format: CSV}, true)
	jw, _ := NewWriter(&j, Layout{Format: JSONL}, true)
	r := sampleRecord()
	for _, w := range []*Writer{cw, jw} {
		must(t, w.Write(r))
		must(t, w.Flush())
	}
	lines := strings.Split(c.String(), "\n")
	if got, want := lines[0], strings.Join(schema.ColumnNames(), ","); got != want {
		t.Errorf("CSV header %q, want %q", got, want)
	}
	record := j.String()
	dec := json.NewDecoder(&j)
	if tok, _ := dec.Token(); tok != json.Delim('{') {
		t.Fatalf("JSONL record does not start with an object: %q", j.String())
	}
	cells := strings.Split(lines[1], ",")
	for i, col := range schema.Columns {
		key, err := dec.Token()
		if err != nil || key != col.Name {
			t.Fatalf("JSONL key %d: %v %v, want %q", i, key, err, col.Name)
		}
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSuffix(fmt.Sprint(v), ".000"); got != cells[i] && fmt.Sprintf("%.0f", v) != cells[i] {
			t.Errorf("column %s: JSONL %v, CSV %q", col.Name, v, cells[i])
		}
	}
	// The input package reads every request column of the table, by that name.
	row, err := input.NewJSONL(strings.NewReader(record), input.Options{}).Next()
	if err != nil || row.Request != r.Request {
		t.Errorf("the record read back as input: %+v, %v; want %+v", row.Request, err, r.Request)
	}
}

func TestSummary(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := NewSummary("run", start)
	for _, st := range []Status{Linked, Linked, AlreadyLinked, Failed, Invalid} {
		r := sampleRecord()
		r.Status, r.ErrorCode = st, ""
		if st == Failed {
			r.ErrorCode = "LimitExceededException"
		}
		s.Add(r)
	}
	s.Finish(start.Add(2 * time.Second))
	if s.Rows != 5 || s.Count(Linked) != 2 || s.ByErrorCode["LimitExceededException"] != 1 || s.RowsPerSec != 2.5 {
		t.Errorf("summary %+v: want 5 rows, 2 linked, 1 LimitExceededException, 2.5 rows/s", s)
	}
	path := filepath.Join(t.TempDir(), "r.csv.summary.json")
	must(t, s.WriteFile(path))
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var back Summary
	if err := json.Unmarshal(b, &back); err != nil || back.Rows != 5 || back.ByStatus[AlreadyLinked] != 1 {
		t.Errorf("summary file %s: %v", b, err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("summary mode %v, want 0600", fi.Mode().Perm())
	}
	var out bytes.Buffer
	s.Print(&out)
	if !strings.Contains(out.String(), "run: 5 rows in 2s (2.5 rows/s)") {
		t.Errorf("printed summary:\n%s", out.String())
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
