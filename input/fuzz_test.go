package input

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// addSeeds adds the files of testdata/input with the extension ext to the corpus.
func addSeeds(f *testing.F, ext string) {
	f.Helper()
	paths, err := filepath.Glob(filepath.Join("..", "testdata", "input", "*"+ext))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no seeds *%s in testdata/input: %v", ext, err)
	}
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}

// checkInvariants checks what holds for the rows of any input: lines at or after first and
// strictly increasing, each on a line that is not blank, and valid rows that pass Check.
func checkInvariants(t *testing.T, data []byte, rows []Row, first int) {
	t.Helper()
	lines := bytes.Split(data, []byte("\n"))
	prev := first - 1
	for _, row := range rows {
		if row.Line <= prev {
			t.Fatalf("row on line %d after a row on line %d, want increasing lines from %d", row.Line, prev, first)
		}
		prev = row.Line
		if row.Line > len(lines) || isBlank(lines[row.Line-1]) || row.Line == 1 && isBlank(bytes.TrimPrefix(lines[0], bom)) {
			t.Fatalf("row %s on a line that is blank or past the end", show(row))
		}
		if row.Valid() {
			if reason := Check(&row.Request); reason != "" {
				t.Fatalf("valid row %s fails Check: %s", show(row), reason)
			}
		} else if row.Invalid != strings.ToValidUTF8(row.Invalid, "?") {
			t.Fatalf("reason %q is not valid UTF-8", row.Invalid)
		}
	}
}

func FuzzCSV(f *testing.F) {
	addSeeds(f, ".csv")
	for _, s := range []string{
		header + pool + `,"a` + "\n" + `b",Okta,c` + "\n",
		header + pool + `,"a,Okta,c` + "\n" + pool + ",b,Okta,c\n",
		"destination_user,source_provider,source_value,x\na,Okta,b,\"\"\"\"\n",
		"line,status," + header + "1,linked," + pool + ",a,Okta,b\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewCSV(bytes.NewReader(data), Options{UserPoolID: pool})
		if err != nil {
			return
		}
		rows := readAll(t, r)
		checkInvariants(t, data, rows, 2)
		for _, row := range rows {
			if row.Valid() && len(row.Extra) != len(r.Columns()) {
				t.Fatalf("row %s has %d extras, want %d", show(row), len(row.Extra), len(r.Columns()))
			}
		}
		compareWithEncodingCSV(t, data, rows)
	})
}

// compareWithEncodingCSV checks that, on input encoding/csv reads without error and that
// stays clear of the cases where the two differ by design (BOM, carriage returns, lines of
// spaces, invalid UTF-8, records over the bounds), the reader returns the same records on
// the same lines.
func compareWithEncodingCSV(t *testing.T, data []byte, rows []Row) {
	t.Helper()
	if bytes.HasPrefix(data, bom) || bytes.IndexByte(data, '\r') >= 0 || !utf8.Valid(data) ||
		bytes.Count(data, []byte("\n")) >= MaxRecordLines {
		return
	}
	for _, l := range bytes.Split(data, []byte("\n")) {
		if len(l) > 0 && isBlank(l) {
			return
		}
	}
	cr := csv.NewReader(bytes.NewReader(data))
	records, err := cr.ReadAll()
	if err != nil || len(records) == 0 {
		return
	}
	cr = csv.NewReader(bytes.NewReader(data))
	cols := make([]column, len(records[0]))
	for i, name := range records[0] {
		cols[i] = columnOf(name)
	}
	if _, err := cr.Read(); err != nil {
		t.Fatal(err)
	}
	records = records[1:]
	if len(rows) != len(records) {
		t.Fatalf("got %d rows, encoding/csv got %d records", len(rows), len(records))
	}
	for i, rec := range records {
		if _, err := cr.Read(); err != nil {
			t.Fatal(err)
		}
		line, _ := cr.FieldPos(0)
		row := rows[i]
		if row.Line != line {
			t.Fatalf("row %d: got line %d, encoding/csv got %d", i, row.Line, line)
		}
		if !row.Valid() && row.Request == (Request{}) {
			t.Fatalf("row %d: got unreadable %s, encoding/csv got %q", i, show(row), rec)
		}
		extra := 0
		for j, col := range cols {
			switch {
			case col.isRequest():
				if got, want := *col.in(&row.Request), strings.TrimSpace(rec[j]); got != want && want != "" {
					t.Fatalf("row %d, %s: got %q, encoding/csv got %q", i, col, got, want)
				}
			case col == extraColumn:
				if got, want := row.Extra[extra].Value, rec[j]; got != want {
					t.Fatalf("row %d, extra %d: got %q, encoding/csv got %q", i, extra, got, want)
				}
				extra++
			}
		}
	}
}

func FuzzJSONL(f *testing.F) {
	addSeeds(f, ".jsonl")
	for _, s := range []string{
		`{"line":1,"status":"linked","destination_user":"a","source_provider":"Okta","source_value":"b"}`,
		`{"DestinationUser":{"ProviderAttributeValue":"a"},"SourceUser":{"ProviderName":"Okta","ProviderAttributeValue":"b"},"x":{"y":[1,null]}}`,
		"{}\n\n[]\n\"\"\nnull\n{\"a\":\"\\u00e9\\ud800\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rows := readAll(t, NewJSONL(bytes.NewReader(data), Options{UserPoolID: pool}))
		checkInvariants(t, data, rows, 1)
		// Every line that is not blank is one row.
		want := 0
		for i, l := range bytes.Split(data, []byte("\n")) {
			if i == 0 {
				l = bytes.TrimPrefix(l, bom)
			}
			if !isBlank(l) {
				want++
			}
		}
		if len(rows) != want {
			t.Fatalf("got %d rows, want one for each of the %d lines that are not blank", len(rows), want)
		}
	})
}
