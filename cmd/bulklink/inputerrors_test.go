package main

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// saysOnce checks a command's one-line error (the line of stderr that starts with prefix):
// no part between ": " repeats another, name is in it once, and so is want.
func saysOnce(t *testing.T, stderr, prefix, name, want string) {
	t.Helper()
	var msg string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, prefix) {
			if msg != "" {
				t.Errorf("two errors:\n%s", stderr)
			}
			msg = strings.TrimPrefix(l, prefix)
		}
	}
	if msg == "" {
		t.Fatalf("no line starting %q in:\n%s", prefix, stderr)
	}
	seen := map[string]bool{}
	for _, part := range strings.Split(msg, ": ") {
		if seen[part] {
			t.Errorf("%q is said twice in: %s", part, msg)
		}
		seen[part] = true
	}
	if n := strings.Count(msg, name); n != 1 {
		t.Errorf("%q is in the message %d times, want once: %s", name, n, msg)
	}
	if n := strings.Count(msg, want); n != 1 {
		t.Errorf("%q is in the message %d times, want once: %s", want, n, msg)
	}
}

// TestInputErrorsSayItOnce: the errors an input gets, as the operator reads them on stderr,
// name the input once and say each thing once (issue 23, item 3): before, the input layer
// added the name twice, and "the gzip stream is corrupt or truncated" twice for a gzip cut in
// its header.
func TestInputErrorsSayItOnce(t *testing.T) {
	t.Parallel()
	const h3 = "destination_user,source_provider,source_value\n"
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(h3 + strings.Repeat("alice,Google,1\n", 2000)))
	zw.Close()
	whole := gz.Bytes()
	corrupt := bytes.Clone(whole)
	corrupt[len(corrupt)-6] ^= 0xff
	tests := []struct {
		name, file, content string // file "": standard input
		format              string
		want                string
	}{
		{"missing columns", "missing.csv", "destination_user\n", "", "header on line 1: missing columns"},
		{"missing columns on stdin", "", "destination_user\n", "csv", "header on line 1: missing columns"},
		{"JSON named .csv", "j.csv", `{"destination_user":"alice"}` + "\n", "", "it looks like JSON lines, not CSV"},
		{"a CSV header in a .jsonl", "h.jsonl", h3, "", "its first line is a CSV header"},
		{"a zip", "z.csv", "PK\x03\x04\x14\x00\x06\x00", "", "it is a zip archive"},
		{"a truncated gzip", "t.csv.gz", string(whole[:len(whole)/2]), "", "the gzip stream is corrupt or truncated"},
		{"a gzip cut in its header", "t5.csv.gz", string(whole[:5]), "", "the gzip stream is corrupt or truncated"},
		{"a corrupt gzip", "c.csv.gz", string(corrupt), "", "the gzip stream is corrupt or truncated"},
		{"a truncated gzip on stdin", "", string(whole[:len(whole)/2]), "csv", "the gzip stream is corrupt or truncated"},
		{"no such file", "none.csv", "", "", "no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in, name, stdin := "-", "standard input", tt.content
			if tt.file != "" {
				in = filepath.Join(t.TempDir(), tt.file)
				name, stdin = in, ""
				if tt.file != "none.csv" {
					must(t, os.WriteFile(in, []byte(tt.content), 0o600))
				}
			}
			args := []string{"validate", "--input", in, "--user-pool-id", "us-east-1_Example1", "--offline", "--log-format", "console"}
			if tt.format != "" {
				args = append(args, "--format", tt.format)
			}
			res := bulklinkStdin(t, stdin, nil, args...)
			if res.code != exitUsage {
				t.Errorf("exit %d, want %d", res.code, exitUsage)
			}
			saysOnce(t, res.stderr, "bulklink validate: ", name, tt.want)
		})
	}
}
