package input

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/bulklink/bulklink/internal/testseed"
	"github.com/bulklink/bulklink/schema"
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
// strictly increasing, each on a line that is not blank, valid rows that pass Check, invalid
// ones with a code of the schema, and carried names that are neither reserved nor twice.
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
			if code, reason := Check(&row.Request); reason != "" {
				t.Fatalf("valid row %s fails Check: %s %s", show(row), code, reason)
			}
		} else {
			if row.Invalid != strings.ToValidUTF8(row.Invalid, "?") {
				t.Fatalf("reason %q is not valid UTF-8", row.Invalid)
			}
			if !knownCode(row.Code) {
				t.Fatalf("invalid row %s: code %q is not in the schema", show(row), row.Code)
			}
		}
		checkCarried(t, row)
	}
}

func knownCode(c schema.Code) bool {
	for _, ci := range schema.Codes {
		if ci.Code == c && ci.Status == schema.Invalid {
			return true
		}
	}
	return false
}

// checkCarried checks that a row's carried names can sit beside the report's own columns.
func checkCarried(t *testing.T, row Row) {
	t.Helper()
	seen := map[string]bool{}
	for _, f := range row.Extra {
		key := strings.ToLower(strings.TrimSpace(f.Name))
		if schema.Reserved(f.Name) || seen[key] {
			t.Fatalf("row %s carries %q: reserved or twice", show(row), f.Name)
		}
		seen[key] = true
	}
}

// longFields returns well-formed CSV whose quoted fields span many lines and bytes, holding
// text that would be rows if read line by line.
func longFields(lines, bytes int) string {
	var b strings.Builder
	b.WriteString("destination_user,source_provider,source_value,note\n")
	b.WriteString("alice,Okta,a-1,\"")
	for i := range lines {
		fmt.Fprintf(&b, "victim%d,Okta,\"\"evil%d\"\"\n", i, i)
	}
	b.WriteString(strings.Repeat("z", bytes))
	b.WriteString("\"\nbob,Okta,b-1,x\n")
	return b.String()
}

func FuzzCSV(f *testing.F) {
	addSeeds(f, ".csv")
	for _, s := range []string{
		header + pool + `,"a` + "\n" + `b",Okta,c` + "\n",
		header + pool + `,"a,Okta,c` + "\n" + pool + ",b,Okta,c\n",
		header + pool + `,"a"b` + "\n" + pool + ",x,Okta,y\n" + `"` + "\n",
		"destination_user,source_provider,source_value,x\na,Okta,b,\"\"\"\"\n",
		"line,status," + header + "1,linked," + pool + ",a,Okta,b\n",
		"line,status,input_status,Error_Code,extra,input_extra," + header + "1,linked,a,b,c,d," + pool + ",a,Okta,b\n",
		longFields(20, 0),
		longFields(3, MaxRecordBytes+10),
		longFields(40, MaxRecordBytes-2000),
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
		cols := map[string]bool{}
		for _, c := range r.Columns() {
			if schema.Reserved(c) || cols[strings.ToLower(c)] {
				t.Fatalf("column %q: reserved or twice in %q", c, r.Columns())
			}
			cols[strings.ToLower(c)] = true
		}
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
// spaces, invalid UTF-8), the reader returns the same records on the same lines, but for
// records over MaxRecordBytes, which it reports RecordTooLong on the same line.
func compareWithEncodingCSV(t *testing.T, data []byte, rows []Row) {
	t.Helper()
	if bytes.HasPrefix(data, bom) || bytes.IndexByte(data, '\r') >= 0 || !utf8.Valid(data) {
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
	head := records[0]
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
		size := 0
		for _, v := range rec {
			size += len(v)
		}
		if size > MaxRecordBytes {
			if row.Code != schema.RecordTooLong {
				t.Fatalf("row %d: %d bytes, got %s, want RecordTooLong", i, size, show(row))
			}
			continue
		}
		if !row.Valid() && row.Request == (Request{}) {
			t.Fatalf("row %d: got unreadable %s, encoding/csv got %q", i, show(row), rec)
		}
		extra := 0
		for j, name := range head {
			if f := fieldOf(name); f != noField {
				if got, want := *f.in(&row.Request), strings.Trim(rec[j], " \t"); got != want && want != "" {
					t.Fatalf("row %d, %s: got %q, encoding/csv got %q", i, f, got, want)
				}
				continue
			}
			if got, want := row.Extra[extra].Value, rec[j]; got != want {
				t.Fatalf("row %d, extra %d: got %q, encoding/csv got %q", i, extra, got, want)
			}
			extra++
		}
	}
}

// TestCSVMatchesEncodingCSV compares the reader with encoding/csv on generated well-formed
// files whose quoted fields run over many lines and up to MaxRecordBytes and beyond.
func TestCSVMatchesEncodingCSV(t *testing.T) {
	seed := testseed.Seed(t)
	rng := rand.New(rand.NewPCG(seed, seed))
	for range 30 {
		var b strings.Builder
		b.WriteString("note,destination_user,source_provider,source_value,memo\n")
		for i := range 1 + rng.IntN(30) {
			fmt.Fprintf(&b, "%s,u%d,Okta,v%d,%s\n", randomField(rng), i, i, randomField(rng))
		}
		data := []byte(b.String())
		r, err := NewCSV(bytes.NewReader(data), Options{UserPoolID: pool})
		if err != nil {
			t.Fatal(err)
		}
		rows := readAll(t, r)
		checkInvariants(t, data, rows, 2)
		compareWithEncodingCSV(t, data, rows)
		if t.Failed() {
			return
		}
	}
	for _, data := range []string{longFields(20, 0), longFields(1000, 0), longFields(3, MaxRecordBytes-500), longFields(3, 2*MaxRecordBytes)} {
		r, err := NewCSV(strings.NewReader(data), Options{UserPoolID: pool})
		if err != nil {
			t.Fatal(err)
		}
		compareWithEncodingCSV(t, []byte(data), readAll(t, r))
	}
}

// randomField returns a CSV field: plain, or quoted and holding commas, doubled quotes,
// many lines, and now and then more bytes than a record may have.
func randomField(rng *rand.Rand) string {
	switch rng.IntN(4) {
	case 0:
		return fmt.Sprintf("plain%d", rng.IntN(1000))
	case 1:
		return ""
	}
	var b strings.Builder
	b.WriteByte('"')
	for range rng.IntN(60) {
		switch rng.IntN(5) {
		case 0:
			b.WriteString("\n")
		case 1:
			b.WriteString(`""`)
		case 2:
			b.WriteString(",x,Okta,evil\n")
		default:
			b.WriteString(strings.Repeat("w", rng.IntN(200)))
		}
	}
	if rng.IntN(20) == 0 {
		b.WriteString(strings.Repeat("L", MaxRecordBytes/2+rng.IntN(MaxRecordBytes)))
	}
	b.WriteByte('"')
	return b.String()
}

func FuzzJSONL(f *testing.F) {
	addSeeds(f, ".jsonl")
	for _, s := range []string{
		`{"line":1,"status":"linked","destination_user":"a","source_provider":"Okta","source_value":"b"}`,
		`{"DestinationUser":{"ProviderAttributeValue":"a"},"SourceUser":{"ProviderName":"Okta","ProviderAttributeValue":"b"},"x":{"y":[1,null]}}`,
		"{}\n\n[]\n\"\"\nnull\n{\"a\":\"\\u00e9\\ud800\"}",
		`{"extra":1,"input_extra":2,"Status":3,"line":4,"destination_user":"a","source_provider":"Okta","source_value":"b\ud83d\ude00"}`,
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
