package report

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulklink/bulklink/schema"
)

const header = "line,status,error_code,error_message,attempts,user_pool_id,destination_provider,destination_user,source_provider,source_attribute,source_value,duration_ms,finished_at,note\n"

func csvRecord(line, status, code, note string) string {
	return line + "," + status + "," + code + ",,1,us-east-1_A1,Cognito,u,Google,Cognito_Subject,g,5,2026-01-01T00:00:00.000Z," + note + "\n"
}

func TestRecover(t *testing.T) {
	csvLayout := Layout{Format: CSV, ExtraColumns: []string{"note"}}
	jsonl := func(line, status string) string {
		return `{"line":` + line + `,"status":"` + status + `","error_code":"","attempts":1}` + "\n"
	}
	tests := []struct {
		name      string
		layout    Layout
		content   string
		wantLines []int
		wantTorn  int
		wantKept  string // the file after recovery; "" means the content less the torn bytes
		wantErr   string
	}{
		{name: "whole", layout: csvLayout, content: header + csvRecord("2", "linked", "", "a") + csvRecord("4", "failed", "UserNotFoundException", "b"), wantLines: []int{2, 4}},
		{name: "torn last record", layout: csvLayout, content: header + csvRecord("2", "linked", "", "a") + "3,linked,,,1,us-east", wantLines: []int{2}, wantTorn: len("3,linked,,,1,us-east")},
		{name: "torn inside a quoted field over lines", layout: csvLayout,
			content:   header + csvRecord("2", "linked", "", `"x`+"\ny\"") + "3,linked,,,1,us-east-1_A1,Cognito,u,Google,Cognito_Subject,g,5,2026-01-01T00:00:00.000Z,\"one\ntw",
			wantLines: []int{2}, wantTorn: len("3,linked,,,1,us-east-1_A1,Cognito,u,Google,Cognito_Subject,g,5,2026-01-01T00:00:00.000Z,\"one\ntw")},
		{name: "header only", layout: csvLayout, content: header},
		{name: "torn header", layout: csvLayout, content: "line,status,er", wantTorn: len("line,status,er"), wantKept: header},
		{name: "empty", layout: csvLayout, content: "", wantKept: header},
		{name: "line twice", layout: csvLayout, content: header + csvRecord("2", "linked", "", "") + csvRecord("2", "failed", "", ""), wantErr: "line 2 recorded twice"},
		{name: "unknown status", layout: csvLayout, content: header + csvRecord("2", "done", "", ""), wantErr: `status "done" is not one this report's command writes`},
		{name: "a validate record", layout: csvLayout, content: header + csvRecord("2", "valid", "", ""), wantErr: `status "valid" is not one this report's command writes`},
		{name: "another layout", layout: Layout{Format: CSV}, content: header, wantErr: "is not that of this input's report"},
		{name: "jsonl whole", layout: Layout{Format: JSONL}, content: jsonl("1", "linked") + jsonl("3", "invalid"), wantLines: []int{1, 3}},
		{name: "jsonl torn", layout: Layout{Format: JSONL}, content: jsonl("1", "linked") + `{"line":2,"sta`, wantLines: []int{1}, wantTorn: len(`{"line":2,"sta`)},
		{name: "jsonl damaged", layout: Layout{Format: JSONL}, content: "garbage\n" + jsonl("1", "linked"), wantErr: "not a report record"},
		{name: "a quoted field longer than the read buffer", layout: csvLayout,
			content:   header + csvRecord("2", "linked", "", `"`+strings.Repeat("x", 300_000)+`"`) + csvRecord("3", "failed", "X", "b") + csvRecord("4", "linked", "", `"`+strings.Repeat("y\n", 200_000)+`"`),
			wantLines: []int{2, 3, 4}},
		{name: "line 0", layout: csvLayout, content: header + csvRecord("0", "linked", "", ""), wantErr: "not a line of the input"},
		{name: "line past the input", layout: csvLayout, content: header + csvRecord("5000", "linked", "", ""), wantErr: "not a line of the input"},
		{name: "jsonl extra key folding to status", layout: Layout{Format: JSONL},
			content:   `{"line":1,"status":"linked","error_code":"","attempts":1,"ſtatus":"vip"}` + "\n",
			wantLines: []int{1}},
		{name: "jsonl keys out of order", layout: Layout{Format: JSONL}, content: `{"status":"linked","line":1}` + "\n", wantErr: "not a report record"},
		{name: "too much to be torn", layout: csvLayout, content: header + csvRecord("2", "linked", "", "") + "\"" + strings.Repeat("x", MaxTorn+1), wantErr: "left as it is"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "r")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			j, err := Recover(path, schema.Run, tt.layout, 1000)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Recover: %v, want an error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Recover: %v", err)
			}
			if j.Done.Len() != len(tt.wantLines) || int(j.Records) != len(tt.wantLines) {
				t.Errorf("%d lines done, %d records; want %d", j.Done.Len(), j.Records, len(tt.wantLines))
			}
			for _, l := range tt.wantLines {
				if !j.Done.Has(l) {
					t.Errorf("line %d not done", l)
				}
			}
			if int(j.Torn) != tt.wantTorn {
				t.Errorf("cut %d bytes, want %d", j.Torn, tt.wantTorn)
			}
			got, _ := os.ReadFile(path)
			want := tt.wantKept
			if want == "" {
				want = tt.content[:len(tt.content)-tt.wantTorn]
			}
			if string(got) != want {
				t.Errorf("file after recovery\n got %q\nwant %q", got, want)
			}
			// New records append cleanly after what was kept.
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			w, err := NewWriter(f, tt.layout, false)
			if err != nil {
				t.Fatal(err)
			}
			r := sampleRecord()
			r.Line = 99
			must(t, w.Write(r))
			must(t, w.Close())
			j2, err := Recover(path, schema.Run, tt.layout, 1000)
			if err != nil || !j2.Done.Has(99) || j2.Torn != 0 || int(j2.Records) != len(tt.wantLines)+1 {
				t.Errorf("after appending: %+v, %v; want the old lines and 99, nothing torn", j2, err)
			}
		})
	}
}

func TestLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.csv")
	unlock, err := Lock(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(LockPath(path)); err != nil {
		t.Error(err)
	} else if fi.Mode().Perm() != 0o600 {
		t.Errorf("the lock: mode %v, want 0600 as every file of a report", fi.Mode().Perm())
	}
	_, err = Lock(path)
	le, ok := err.(*LockedError)
	if !ok || le.PID != os.Getpid() {
		t.Fatalf("second Lock: %v, want a LockedError naming pid %d", err, os.Getpid())
	}
	must(t, unlock())
	unlock, err = Lock(path)
	if err != nil {
		t.Fatalf("Lock after unlock: %v", err)
	}
	must(t, unlock())
}

func TestMetaMatches(t *testing.T) {
	a := &Meta{Input: "a.csv", Fingerprint: "sha256:1", Region: "us-east-1", UserPoolID: "us-east-1_A1"}
	same := *a
	same.Input = "elsewhere/a.csv"
	if err := a.Matches(&same); err != nil {
		t.Errorf("same bytes at another path: %v, want a match", err)
	}
	for _, tt := range []struct {
		name   string
		was    func(m *Meta) // the report's meta
		now    func(m *Meta) // this run's
		want   error
		phrase string
	}{
		{"other bytes", nil, func(m *Meta) { m.Fingerprint = "sha256:2" }, ErrOtherInput, "it was written for a.csv (sha256:1)"},
		{"another --only", nil, func(m *Meta) { m.Only = []string{"failed"} }, ErrOtherInput, "--only"},
		{"a stream an older bulklink could not fingerprint", func(m *Meta) { m.Partial = true }, nil, ErrOtherInput, "could not fingerprint"},
		{"another endpoint", nil, func(m *Meta) { m.Endpoint = "http://127.0.0.1:9229" }, ErrOtherTarget, "http://127.0.0.1:9229"},
		{"another region", nil, func(m *Meta) { m.Region = "eu-west-1" }, ErrOtherTarget, "eu-west-1"},
		{"another default pool", nil, func(m *Meta) { m.UserPoolID = "us-east-1_B2" }, ErrOtherTarget, "us-east-1_B2"},
	} {
		was, now := *a, *a
		if tt.was != nil {
			tt.was(&was)
		}
		if tt.now != nil {
			tt.now(&now)
		}
		err := was.Matches(&now)
		if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.phrase) {
			t.Errorf("%s: %v, want %v saying %q", tt.name, err, tt.want, tt.phrase)
		}
	}
}
