package input

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
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

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	jsonlRows := []Row{{Line: 1, Request: linked("alice", "a-1")}, {Line: 2, Request: linked("bob", "b-1")}}
	tests := []struct {
		name  string
		path  string
		stdin io.Reader
		opt   Options
		want  []Row
	}{
		{"csv", write("a.csv", []byte(csvInput)), nil, Options{}, wantAliceBob},
		{"jsonl", write("a.jsonl", []byte(jsonlInput)), nil, Options{UserPoolID: pool}, jsonlRows},
		{"ndjson", write("a.ndjson", []byte(jsonlInput)), nil, Options{UserPoolID: pool}, jsonlRows},
		{"csv.gz", write("a.csv.gz", gzipped(t, csvInput)), nil, Options{}, wantAliceBob},
		{"jsonl.gz", write("a.JSONL.GZ", gzipped(t, jsonlInput)), nil, Options{UserPoolID: pool}, jsonlRows},
		{"gzip sniffed", write("b.csv", gzipped(t, csvInput)), nil, Options{}, wantAliceBob},
		{"format given", write("a.txt", []byte(csvInput)), nil, Options{Format: CSV}, wantAliceBob},
		{"format given over the name", write("c.jsonl", []byte(csvInput)), nil, Options{Format: CSV}, wantAliceBob},
		{"stdin", "-", strings.NewReader(csvInput), Options{Format: CSV}, wantAliceBob},
		{"stdin gzip", "-", bytes.NewReader(gzipped(t, jsonlInput)), Options{Format: JSONL, UserPoolID: pool}, jsonlRows},
		{"empty jsonl", write("empty.jsonl", nil), nil, Options{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Open(tt.path, tt.stdin, tt.opt)
			if err != nil {
				t.Fatalf("Open: got error %v, want none", err)
			}
			checkRows(t, readAll(t, r), tt.want)
			if err := r.Close(); err != nil {
				t.Errorf("Close: got error %v, want none", err)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	tests := []struct {
		name  string
		path  string
		stdin io.Reader
		opt   Options
		want  string
	}{
		{"no such file", filepath.Join(dir, "none.csv"), nil, Options{}, "no such file"},
		{"unknown extension", write("a.txt", []byte(csvInput)), nil, Options{}, "cannot tell the format"},
		{"stdin without format", "-", strings.NewReader(csvInput), Options{}, "the format of standard input must be given"},
		{"no stdin", "-", nil, Options{Format: CSV}, "no standard input to read"},
		{"unknown format", "-", strings.NewReader(csvInput), Options{Format: "xml"}, `unknown format "xml": want csv or jsonl`},
		{"bad pool option", write("b.csv", []byte(csvInput)), nil, Options{UserPoolID: "x"}, `invalid user pool id "x"`},
		{"not gzip", write("c.csv.gz", []byte(csvInput)), nil, Options{}, "read " + filepath.Join(dir, "c.csv.gz") + ": gzip: invalid header"},
		{"empty gzip", write("d.csv.gz", nil), nil, Options{}, "d.csv.gz: empty gzip stream"},
		{"empty csv", write("e.csv", nil), nil, Options{}, "e.csv: empty input: want a header row"},
		{"bad header", write("f.csv", []byte("a,b\n")), nil, Options{}, "f.csv: header on line 1: missing columns"},
		{"bad header on stdin", "-", strings.NewReader("a,b\n"), Options{Format: CSV}, "read standard input: header on line 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Open(tt.path, tt.stdin, tt.opt)
			if err == nil {
				r.Close()
				t.Fatalf("Open: got no error, want %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open: got error %q, want %q", err, tt.want)
			}
		})
	}
}

func TestOpenProgress(t *testing.T) {
	type progresser interface{ Progress() (done, total int64) }
	var big strings.Builder
	big.WriteString(header)
	for range 20000 {
		big.WriteString(pool + ",alice,Okta,a-1\n")
	}
	for _, tt := range []struct {
		name string
		data []byte
	}{
		{"plain.csv", []byte(big.String())},
		{"packed.csv.gz", gzipped(t, big.String())},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tt.name)
			if err := os.WriteFile(path, tt.data, 0o600); err != nil {
				t.Fatal(err)
			}
			r, err := Open(path, nil, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			p, ok := r.(progresser)
			if !ok {
				t.Fatalf("%T has no Progress method", r)
			}
			size := int64(len(tt.data))
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() { // Progress is read while rows are read
				defer close(done)
				for {
					select {
					case <-stop:
						return
					default:
						if n, total := p.Progress(); n < 0 || n > total || total != size {
							t.Errorf("Progress: got %d of %d, want 0..%d of %d", n, total, size, size)
							return
						}
					}
				}
			}()
			rows := readAll(t, r)
			close(stop)
			<-done
			if len(rows) != 20000 {
				t.Errorf("got %d rows, want 20000", len(rows))
			}
			if n, total := p.Progress(); n != size || total != size {
				t.Errorf("Progress at the end: got %d of %d, want %d of %d", n, total, size, size)
			}
		})
	}
	t.Run("stdin", func(t *testing.T) {
		r, err := Open("-", strings.NewReader(csvInput), Options{Format: CSV})
		if err != nil {
			t.Fatal(err)
		}
		readAll(t, r)
		if n, total := r.(progresser).Progress(); n != int64(len(csvInput)) || total != -1 {
			t.Errorf("Progress: got %d of %d, want %d of -1", n, total, len(csvInput))
		}
	})
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
