package input

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"testing/iotest"
)

func TestFormatOf(t *testing.T) {
	tests := []struct {
		path string
		want Format
		err  string
	}{
		{"links.csv", CSV, ""},
		{"dir.jsonl/links.CSV", CSV, ""},
		{"links.csv.gz", CSV, ""},
		{"links.jsonl", JSONL, ""},
		{"links.ndjson", JSONL, ""},
		{"links.NDJSON.GZ", JSONL, ""},
		{"links.json", "", "cannot tell the format of links.json from its name"},
		{"links.gz", "", "cannot tell the format of links.gz"},
		{"links", "", "cannot tell the format"},
		{"-", "", "the format of standard input must be given"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got, err := FormatOf(tt.path)
			if got != tt.want || (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
				t.Errorf("FormatOf(%q): got %q, %v; want %q, %q", tt.path, got, err, tt.want, tt.err)
			}
		})
	}
}

const (
	csvInput   = header + pool + ",alice,Okta,a-1\n" + pool + ",bob,Okta,b-1\n"
	jsonlInput = `{"destination_user":"alice","source_provider":"Okta","source_value":"a-1"}` + "\n" +
		`{"DestinationUser":{"ProviderAttributeValue":"bob"},"SourceUser":{"ProviderName":"Okta","ProviderAttributeValue":"b-1"}}` + "\n"
)

var wantAliceBob = []Row{{Line: 2, Request: linked("alice", "a-1")}, {Line: 3, Request: linked("bob", "b-1")}}

func gzipped(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestIOTest reads through the testing/iotest readers that split, delay and fail reads.
func TestIOTest(t *testing.T) {
	messy, err := os.ReadFile("../testdata/input/messy.csv")
	if err != nil {
		t.Fatal(err)
	}
	messyJSONL, err := os.ReadFile("../testdata/input/messy.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	opt := Options{UserPoolID: pool}
	readers := []struct {
		name string
		wrap func(io.Reader) io.Reader
	}{
		{"OneByteReader", iotest.OneByteReader},
		{"HalfReader", iotest.HalfReader},
		{"DataErrReader", iotest.DataErrReader},
		{"OneByteDataErrReader", func(r io.Reader) io.Reader { return iotest.DataErrReader(iotest.OneByteReader(r)) }},
	}
	for _, rd := range readers {
		t.Run(rd.name, func(t *testing.T) {
			r, err := NewCSV(bytes.NewReader(messy), opt)
			if err != nil {
				t.Fatal(err)
			}
			want := readAll(t, r)
			r, err = NewCSV(rd.wrap(bytes.NewReader(messy)), opt)
			if err != nil {
				t.Fatal(err)
			}
			checkRows(t, readAll(t, r), want)

			want = readAll(t, NewJSONL(bytes.NewReader(messyJSONL), opt))
			checkRows(t, readAll(t, NewJSONL(rd.wrap(bytes.NewReader(messyJSONL)), opt)), want)
		})
	}

	t.Run("TimeoutReader", func(t *testing.T) {
		// The first read returns one byte, the second fails: the header cannot be read.
		_, err := NewCSV(iotest.TimeoutReader(iotest.OneByteReader(strings.NewReader(csvInput))), opt)
		if !errors.Is(err, iotest.ErrTimeout) {
			t.Errorf("NewCSV: got error %v, want %v", err, iotest.ErrTimeout)
		}
	})
	t.Run("ErrReader", func(t *testing.T) {
		// Rows before the failure are read, then the error is returned, again and again.
		boom := errors.New("boom")
		in := io.MultiReader(strings.NewReader(csvInput+pool+",carol,Okta,c-"), iotest.ErrReader(boom))
		r, err := NewCSV(in, opt)
		if err != nil {
			t.Fatal(err)
		}
		var rows []Row
		for {
			row, err := r.Next()
			if err != nil {
				if !errors.Is(err, boom) || errors.Is(err, io.EOF) {
					t.Fatalf("Next: got error %v, want %v", err, boom)
				}
				if !strings.Contains(err.Error(), "read line 4: boom") {
					t.Errorf("Next: got error %q, want it to name line 4", err)
				}
				break
			}
			rows = append(rows, row)
		}
		checkRows(t, rows, wantAliceBob)
		if _, err := r.Next(); !errors.Is(err, boom) {
			t.Errorf("Next after the error: got %v, want %v again", err, boom)
		}

		// A read error inside a quoted field that spans lines is returned too.
		in = io.MultiReader(strings.NewReader(csvInput+pool+",\"carol\n"), iotest.ErrReader(boom))
		if r, err = NewCSV(in, opt); err != nil {
			t.Fatal(err)
		}
		checkRows(t, []Row{mustNext(t, r), mustNext(t, r)}, wantAliceBob)
		if _, err := r.Next(); !errors.Is(err, boom) {
			t.Errorf("Next: got %v, want %v", err, boom)
		}

		in = io.MultiReader(strings.NewReader(jsonlInput), iotest.ErrReader(boom))
		jr := NewJSONL(in, opt)
		for range 2 {
			if row, err := jr.Next(); err != nil || !row.Valid() {
				t.Fatalf("Next: got %s, %v; want a valid row", show(row), err)
			}
		}
		if _, err := jr.Next(); !errors.Is(err, boom) {
			t.Errorf("Next: got %v, want %v", err, boom)
		}
	})
}

func mustNext(t *testing.T, r Reader) Row {
	t.Helper()
	row, err := r.Next()
	if err != nil {
		t.Fatalf("Next: got error %v, want a row", err)
	}
	return row
}
