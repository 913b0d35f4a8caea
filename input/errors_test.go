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
	"testing/iotest"
)

// onceEach checks that a message says each thing once (issue 23, item 3): no part between
// ": " repeats another, name (when not "") appears exactly once, and so does want.
func onceEach(t *testing.T, msg, name, want string) {
	t.Helper()
	seen := map[string]bool{}
	for _, part := range strings.Split(msg, ": ") {
		if seen[part] {
			t.Errorf("%q is said twice in: %s", part, msg)
		}
		seen[part] = true
	}
	if name != "" && strings.Count(msg, name) != 1 {
		t.Errorf("the input's name %q is in the message %d times, want once: %s", name, strings.Count(msg, name), msg)
	}
	if n := strings.Count(msg, want); n != 1 {
		t.Errorf("%q is in the message %d times, want once: %s", want, n, msg)
	}
}

// TestErrorsSayItOnce walks every error the input layer returns, from Open, Scan, Rows and
// a later pass's Next, on hostile and broken inputs, files and streams, and checks that each
// names the input once, and says each thing once: one layer (Source) adds the name.
func TestErrorsSayItOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name string, data []byte) string { return writeIn(t, dir, name, data) }
	const h3 = "destination_user,source_provider,source_value\n"
	whole := gzipped(t, strings.Repeat(csvInput, 1000))
	corrupt := bytes.Clone(whole)
	corrupt[len(corrupt)/2] ^= 0xff
	badCRC := bytes.Clone(whole)
	badCRC[len(badCRC)-6] ^= 0xff
	must(t, os.Mkdir(filepath.Join(dir, "d.csv"), 0o700))
	fifo := filepath.Join(dir, "fifo.csv")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("mkfifo:", err)
	}
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	boom := errors.New("boom")
	type phase int
	const (
		open phase = iota
		scan
		rows
	)
	tests := []struct {
		name  string
		path  string // "-": stdin
		stdin func() io.Reader
		opt   Options
		ctx   context.Context // nil: the test's
		spool string          // "": a temporary directory
		fails phase
		want  string
		named bool // the error names the input (not an option's mistake)
	}{
		// Open
		{name: "no such file", path: filepath.Join(dir, "none.csv"), fails: open, want: "no such file or directory", named: true},
		{name: "a directory", path: filepath.Join(dir, "d.csv"), fails: open, want: "is a directory", named: true},
		{name: "a directory, format given", path: filepath.Join(dir, "d.csv"), opt: Options{Format: CSV}, fails: open, want: "is not a regular file (a directory)", named: true},
		{name: "unknown extension", path: write("a.txt", []byte(csvInput)), fails: open, want: "cannot tell the format", named: true},
		{name: "a FIFO where a file is wanted", path: fifo, opt: Options{RegularOnly: true}, fails: open, want: "is not a regular file (a FIFO)", named: true},
		{name: "a stream where a file is wanted", path: "-", stdin: func() io.Reader { return strings.NewReader(csvInput) }, opt: Options{Format: CSV, RegularOnly: true}, fails: open, want: "is not a regular file", named: true},
		{name: "a FIFO, stopped", path: fifo, ctx: cancelled, fails: open, want: "context canceled", named: true},
		{name: "no spool", path: "-", stdin: func() io.Reader { return strings.NewReader(csvInput) }, opt: Options{Format: CSV}, spool: filepath.Join(dir, "none"), fails: open, want: "no such file or directory", named: true},
		{name: "stdin without format", path: "-", stdin: func() io.Reader { return strings.NewReader(csvInput) }, fails: open, want: "the format of standard input must be given"},
		{name: "no stdin", path: "-", opt: Options{Format: CSV}, fails: open, want: "no standard input to read"},
		{name: "unknown format", path: "-", stdin: func() io.Reader { return strings.NewReader(csvInput) }, opt: Options{Format: "xml"}, fails: open, want: `unknown format "xml"`},
		{name: "bad pool option", path: write("b.csv", []byte(csvInput)), opt: Options{UserPoolID: "x"}, fails: open, want: `invalid user pool id "x"`},
		// The first pass
		{name: "empty", path: write("e.csv", nil), fails: scan, want: "empty input: want a header row", named: true},
		{name: "missing columns", path: write("m.csv", []byte("destination_user\n")), fails: scan, want: "header on line 1: missing columns", named: true},
		{name: "missing columns, stdin", path: "-", stdin: func() io.Reader { return strings.NewReader("destination_user\n") }, opt: Options{Format: CSV}, fails: scan, want: "header on line 1: missing columns", named: true},
		{name: "JSON named .csv", path: write("j.csv", []byte(jsonlInput)), fails: scan, want: "it looks like JSON lines, not CSV", named: true},
		{name: "a CSV header in a .jsonl", path: write("h.jsonl", []byte(h3+"alice,Okta,a-1\n")), opt: Options{UserPoolID: pool}, fails: scan, want: "its first line is a CSV header", named: true},
		{name: "a zip", path: write("z.csv", []byte("PK\x03\x04\x14\x00\x06\x00")), fails: scan, want: "it is a zip archive", named: true},
		{name: "a zip named .jsonl", path: write("z.jsonl", []byte("PK\x03\x04\x14\x00\x06\x00")), fails: scan, want: "it is a zip archive", named: true},
		{name: "an xls", path: write("x.csv", []byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00")), fails: scan, want: "Excel 97-2003 workbook", named: true},
		{name: "a PDF", path: write("p.csv", []byte("%PDF-1.7\n")), fails: scan, want: "PDF document", named: true},
		{name: "UTF-16", path: write("u.csv", []byte(utf16LE(h3, true))), fails: scan, want: "it is UTF-16 text", named: true},
		{name: "UTF-16 without a BOM", path: write("u2.csv", []byte(utf16LE(h3, false))), fails: scan, want: "as UTF-16 text does", named: true},
		{name: "zeros after a header", path: write("n.csv", append([]byte(h3), make([]byte, 8192)...)), opt: Options{UserPoolID: pool}, fails: scan, want: "runs of NUL bytes", named: true},
		{name: "CR line ends", path: write("cr.csv", []byte("destination_user,source_provider,source_value\ralice,Okta,a-1\r")), fails: scan, want: "carriage return", named: true},
		{name: "two columns alike", path: write("dup.csv", []byte("destination_user,source_provider,source_value,x,X\n")), opt: Options{UserPoolID: pool}, fails: scan, want: "have the same name", named: true},
		{name: "a column without a name", path: write("nn.csv", []byte("destination_user,,source_provider,source_value\n")), opt: Options{UserPoolID: pool}, fails: scan, want: "has no name", named: true},
		{name: "a header longer than a record", path: write("long.csv", []byte("\"destination_user"+strings.Repeat("a", MaxRecordBytes+1))), fails: scan, want: "longer than", named: true},
		{name: "a header that never ends its quote", path: write("q.csv", []byte(h3[:len(h3)-1]+",\"note\nalice,Okta,a-1,x\n")), opt: Options{UserPoolID: pool}, fails: scan, want: "never closes", named: true},
		{name: "a truncated gzip", path: write("t.csv.gz", whole[:len(whole)/2]), opt: Options{UserPoolID: pool}, fails: scan, want: "the gzip stream is corrupt or truncated", named: true},
		{name: "a gzip cut in its header", path: write("t2.csv.gz", whole[:5]), fails: scan, want: "the gzip stream is corrupt or truncated", named: true},
		{name: "a gzip cut in its trailer", path: write("t3.csv.gz", whole[:len(whole)-3]), opt: Options{UserPoolID: pool}, fails: scan, want: "the gzip stream is corrupt or truncated", named: true},
		{name: "a corrupt gzip", path: write("c.csv.gz", corrupt), opt: Options{UserPoolID: pool}, fails: scan, want: "the gzip stream is corrupt or truncated", named: true},
		{name: "a gzip with a bad checksum", path: write("k.csv.gz", badCRC), opt: Options{UserPoolID: pool}, fails: scan, want: "the gzip stream is corrupt or truncated", named: true},
		{name: "a gzip with garbage after it", path: write("g.csv.gz", append(gzipped(t, csvInput), "mallory,Okta,m-1\n"...)), fails: scan, want: "the gzip stream is corrupt or truncated", named: true},
		{name: "a truncated gzip on stdin", path: "-", stdin: func() io.Reader { return bytes.NewReader(whole[:len(whole)/2]) }, opt: Options{Format: CSV, UserPoolID: pool}, fails: scan, want: "the gzip stream is corrupt or truncated", named: true},
		{name: "a truncated gzip of JSONL on stdin", path: "-", stdin: func() io.Reader { return bytes.NewReader(gzipped(t, strings.Repeat(jsonlInput, 500))[:600]) }, opt: Options{Format: JSONL, UserPoolID: pool}, fails: scan, want: "the gzip stream is corrupt or truncated", named: true},
		{name: "a stream that fails", path: "-", stdin: func() io.Reader { return io.MultiReader(strings.NewReader(csvInput), iotest.ErrReader(boom)) }, opt: Options{Format: CSV}, fails: scan, want: "boom", named: true},
		{name: "a stream of JSONL that fails", path: "-", stdin: func() io.Reader { return io.MultiReader(strings.NewReader(jsonlInput), iotest.ErrReader(boom)) }, opt: Options{Format: JSONL, UserPoolID: pool}, fails: scan, want: "boom", named: true},
		{name: "a stream that fails in the header", path: "-", stdin: func() io.Reader { return io.MultiReader(strings.NewReader("destination_"), iotest.ErrReader(boom)) }, opt: Options{Format: CSV}, fails: scan, want: "boom", named: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := tt.ctx
			if ctx == nil {
				ctx = t.Context()
			}
			spool := tt.spool
			if spool == "" {
				spool = t.TempDir()
			}
			var stdin io.Reader
			if tt.stdin != nil {
				stdin = tt.stdin()
			}
			name := tt.path
			if name == "-" {
				name = "standard input"
			}
			if !tt.named {
				name = ""
			}
			src, err := Open(ctx, tt.path, stdin, tt.opt, spool)
			if tt.fails == open {
				if err == nil {
					src.Close()
					t.Fatalf("Open: no error, want %q", tt.want)
				}
				onceEach(t, err.Error(), name, tt.want)
				return
			}
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer src.Close()
			_, err = src.Scan(ctx, func(*Row) error { return nil })
			if err == nil {
				t.Fatalf("Scan: no error, want %q", tt.want)
			}
			onceEach(t, err.Error(), name, tt.want)
		})
	}

	// Later passes: the input changed, and the context ended.
	for _, stop := range []bool{false, true} {
		path := write("later.csv", []byte(csvInput))
		src, err := Open(t.Context(), path, nil, Options{}, dir)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := src.Scan(t.Context(), func(*Row) error { return nil }); err != nil {
			t.Fatal(err)
		}
		ctx, want := t.Context(), "the input changed while bulklink read it"
		if stop {
			ctx, want = cancelled, "context canceled"
		} else {
			must(t, os.WriteFile(path, []byte(strings.Replace(csvInput, "bob", "eve", 1)), 0o600))
		}
		rd, err := src.Rows(ctx)
		for err == nil {
			_, err = rd.Next()
		}
		onceEach(t, err.Error(), path, want)
		src.Close()
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
