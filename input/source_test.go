package input

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// scanAll opens an input, runs the first pass and a second one, and checks that both read
// the same rows; it returns them with the shape.
func scanAll(t *testing.T, path string, stdin io.Reader, opt Options) ([]Row, *Shape) {
	t.Helper()
	src, err := Open(t.Context(), path, stdin, opt, t.TempDir())
	if err != nil {
		t.Fatalf("Open: got error %v, want none", err)
	}
	defer func() {
		if err := src.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()
	var first []Row
	shape, err := src.Scan(t.Context(), func(r *Row) error { first = append(first, *r); return nil })
	if err != nil {
		t.Fatalf("Scan: got error %v, want none", err)
	}
	if shape.Rows != int64(len(first)) {
		t.Errorf("Shape.Rows %d, but %d rows were visited", shape.Rows, len(first))
	}
	rd, err := src.Rows(t.Context())
	if err != nil {
		t.Fatalf("Rows: got error %v, want none", err)
	}
	second := readAll(t, rd)
	checkRows(t, second, first)
	if n, size := rd.Position(); n != shape.Size || size != shape.Size {
		t.Errorf("Position after the second pass: %d of %d, want %d of %d", n, size, shape.Size, shape.Size)
	}
	return first, shape
}

// writeIn writes data to name in dir and returns its path.
func writeIn(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestSource(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string { return writeIn(t, dir, name, data) }
	file := func(path string) *os.File {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
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
		{"gzip named .csv", write("b.csv", gzipped(t, csvInput)), nil, Options{}, wantAliceBob},
		{"plain named .gz", write("c.csv.gz", []byte(csvInput)), nil, Options{}, wantAliceBob},
		{"format given", write("a.txt", []byte(csvInput)), nil, Options{Format: CSV}, wantAliceBob},
		{"format given over the name", write("c.jsonl", []byte(csvInput)), nil, Options{Format: CSV}, wantAliceBob},
		{"stdin, a stream", "-", strings.NewReader(csvInput), Options{Format: CSV}, wantAliceBob},
		{"stdin, a gzip stream", "-", bytes.NewReader(gzipped(t, jsonlInput)), Options{Format: JSONL, UserPoolID: pool}, jsonlRows},
		{"stdin, a regular file", "-", file(write("d.csv", []byte(csvInput))), Options{Format: CSV}, wantAliceBob},
		{"empty jsonl", write("empty.jsonl", nil), nil, Options{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, shape := scanAll(t, tt.path, tt.stdin, tt.opt)
			checkRows(t, rows, tt.want)
			if wantLines := int64(strings.Count(csvInput, "\n")); tt.opt.Format != JSONL && !strings.HasSuffix(tt.path, "jsonl") &&
				len(tt.want) > 0 && tt.want[0].Line == 2 && shape.Lines != wantLines {
				t.Errorf("Shape.Lines %d, want %d", shape.Lines, wantLines)
			}
		})
	}
}

func TestSourceFingerprint(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	fp := func(path string, stdin io.Reader, format Format) *Shape {
		_, sh := scanAll(t, path, stdin, Options{Format: format, UserPoolID: pool})
		return sh
	}
	a := fp(write("a.csv", csvInput), nil, "")
	b := fp(write("b.csv", csvInput+pool+",carol,Okta,c-1\n"), nil, "")
	again := fp(write("a2.csv", csvInput), nil, "")
	piped := fp("-", strings.NewReader(csvInput), CSV)
	if !strings.HasPrefix(a.Fingerprint, "sha256:") || a.Fingerprint == b.Fingerprint {
		t.Errorf("fingerprints %s and %s: want two different sha256 values", a.Fingerprint, b.Fingerprint)
	}
	if again.Fingerprint != a.Fingerprint || piped.Fingerprint != a.Fingerprint {
		t.Errorf("the same bytes elsewhere and through a pipe: %s and %s, want %s", again.Fingerprint, piped.Fingerprint, a.Fingerprint)
	}
	if a.Lines != 3 || a.Rows != 2 || a.Size != int64(len(csvInput)) {
		t.Errorf("shape %+v: want 3 lines, 2 rows, %d bytes", a, len(csvInput))
	}
	z := fp(write("z.csv", string(gzipped(t, csvInput))), nil, "")
	if !z.Gzip || z.Fingerprint == a.Fingerprint || z.Lines != 3 || z.Rows != 2 {
		t.Errorf("gzip shape %+v: want gzip, its own fingerprint, 3 lines of text, 2 rows", z)
	}
	big := strings.Repeat(pool+",alice,Okta,a-1\n", 20000) // longer than any buffer
	if x, y := fp(write("big.csv", header+big), nil, ""), fp("-", strings.NewReader(header+big), CSV); x.Fingerprint != y.Fingerprint || x.Rows != 20000 {
		t.Errorf("a long stream: %s, %d rows; the same file: %s", y.Fingerprint, y.Rows, x.Fingerprint)
	}
}

func TestSourceErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string { return writeIn(t, dir, name, data) }
	whole := gzipped(t, strings.Repeat(csvInput, 1000))
	corrupt := bytes.Clone(whole)
	corrupt[len(corrupt)/2] ^= 0xff
	badCRC := bytes.Clone(whole)
	badCRC[len(badCRC)-6] ^= 0xff // the trailer's CRC-32
	tests := []struct {
		name  string
		path  string
		stdin io.Reader
		opt   Options
		open  string // the error of Open; "" for none
		scan  string // the error of Scan
	}{
		{"no such file", filepath.Join(dir, "none.csv"), nil, Options{}, "no such file", ""},
		{"a directory", dir + "/x.csv", nil, Options{}, "", ""},
		{"unknown extension", write("a.txt", []byte(csvInput)), nil, Options{}, "cannot tell the format", ""},
		{"stdin without format", "-", strings.NewReader(csvInput), Options{}, "the format of standard input must be given", ""},
		{"no stdin", "-", nil, Options{Format: CSV}, "no standard input to read", ""},
		{"unknown format", "-", strings.NewReader(csvInput), Options{Format: "xml"}, `unknown format "xml": want --format csv or --format jsonl`, ""},
		{"bad pool option", write("b.csv", []byte(csvInput)), nil, Options{UserPoolID: "x"}, `invalid user pool id "x"`, ""},
		{"empty csv", write("e.csv", nil), nil, Options{}, "", "e.csv: empty input: want a header row"},
		{"bad header", write("f.csv", []byte("a,b\n")), nil, Options{}, "", "f.csv: header on line 1: missing columns"},
		{"bad header on stdin", "-", strings.NewReader("a,b\n"), Options{Format: CSV}, "", "read standard input: header on line 1"},
		{"truncated gzip", write("t.csv", whole[:len(whole)/2]), nil, Options{}, "", "the gzip stream is corrupt or truncated"},
		{"truncated gzip trailer", write("t2.csv.gz", whole[:len(whole)-3]), nil, Options{}, "", "the gzip stream is corrupt or truncated"},
		{"corrupt gzip", write("c.csv.gz", corrupt), nil, Options{}, "", "the gzip stream is corrupt or truncated"},
		{"gzip with a bad checksum", write("k.csv.gz", badCRC), nil, Options{}, "", "the gzip stream is corrupt or truncated"},
		{"truncated gzip stream on stdin", "-", bytes.NewReader(whole[:len(whole)/2]), Options{Format: CSV}, "", "the gzip stream is corrupt or truncated"},
	}
	if err := os.Mkdir(dir+"/x.csv", 0o700); err != nil {
		t.Fatal(err)
	}
	tests[1].open = "is a directory"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := Open(t.Context(), tt.path, tt.stdin, tt.opt, t.TempDir())
			if tt.open != "" {
				if err == nil || !strings.Contains(err.Error(), tt.open) {
					t.Errorf("Open: got error %v, want %q", err, tt.open)
				}
				if err == nil {
					src.Close()
				}
				return
			}
			if err != nil {
				t.Fatalf("Open: got error %v, want none", err)
			}
			defer src.Close()
			n := 0
			_, err = src.Scan(t.Context(), func(*Row) error { n++; return nil })
			if err == nil || !strings.Contains(err.Error(), tt.scan) {
				t.Errorf("Scan: got error %v, want %q", err, tt.scan)
			}
		})
	}
}

// TestSourceChangedBetweenPasses checks that a file changed in place after the first pass is
// found out at the end of the second.
func TestSourceChangedBetweenPasses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.csv")
	if err := os.WriteFile(path, []byte(csvInput), 0o600); err != nil {
		t.Fatal(err)
	}
	src, err := Open(t.Context(), path, nil, Options{}, "")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if _, err := src.Scan(t.Context(), func(*Row) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(csvInput, "bob", "eve", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	rd, err := src.Rows(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for {
		_, err := rd.Next()
		if err == nil {
			continue
		}
		if errors.Is(err, io.EOF) || !strings.Contains(err.Error(), "the input changed while bulklink read it") {
			t.Fatalf("Next at the end: got %v, want the input changed", err)
		}
		break
	}
}

// TestSourceStopsOnCancel checks that every phase gives up within moments of a cancellation:
// opening a FIFO nobody writes, and scanning a stalled pipe or an endless stream.
func TestSourceStopsOnCancel(t *testing.T) {
	within := func(t *testing.T, what string, f func(ctx context.Context) error) {
		t.Helper()
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- f(ctx) }()
		time.Sleep(100 * time.Millisecond)
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("%s: got %v, want context.Canceled", what, err)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("%s: still running 2s after the cancellation", what)
		}
	}
	t.Run("a FIFO without a writer", func(t *testing.T) {
		fifo := filepath.Join(t.TempDir(), "links.csv")
		if err := syscall.Mkfifo(fifo, 0o600); err != nil {
			t.Skipf("mkfifo: %v", err)
		}
		within(t, "Open", func(ctx context.Context) error {
			_, err := Open(ctx, fifo, nil, Options{}, t.TempDir())
			return err
		})
	})
	scan := func(stdin io.Reader) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			src, err := Open(ctx, "-", stdin, Options{Format: CSV, UserPoolID: pool}, t.TempDir())
			if err != nil {
				return err
			}
			defer src.Close()
			_, err = src.Scan(ctx, func(*Row) error { return nil })
			return err
		}
	}
	t.Run("a stalled pipe, in the header", func(t *testing.T) {
		pr, pw := io.Pipe()
		defer pw.Close()
		go pw.Write([]byte("destination_user,source_"))
		within(t, "Scan", scan(pr))
	})
	t.Run("a stalled pipe, in the rows", func(t *testing.T) {
		pr, pw := io.Pipe()
		defer pw.Close()
		go pw.Write([]byte("destination_user,source_provider,source_value\nalice,Okta,a-1\n"))
		within(t, "Scan", scan(pr))
	})
	t.Run("an endless stream of rows", func(t *testing.T) {
		within(t, "Scan", scan(io.MultiReader(strings.NewReader("destination_user,source_provider,source_value\n"), endless("alice,Okta,a-1\n"))))
	})
	t.Run("an endless record", func(t *testing.T) {
		within(t, "Scan", scan(io.MultiReader(strings.NewReader("destination_user,source_provider,source_value\n"), endless("x"))))
	})
}

// endless repeats s forever.
type endless string

func (e endless) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		n += copy(p[n:], e)
	}
	return n, nil
}

// TestSourceFIFO reads a FIFO, as a shell's process substitution hands one over: once,
// spooled, and a second pass reads the spool.
func TestSourceFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "links.csv")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	go func() {
		w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		w.Write(gzipped(t, csvInput))
		w.Close()
	}()
	rows, shape := scanAll(t, fifo, nil, Options{})
	checkRows(t, rows, wantAliceBob)
	if !shape.Gzip {
		t.Error("a gzip stream through a FIFO: not recognised")
	}
}
