package main

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// TestNULBomb: a CSV header and then a gigabyte of NUL bytes, gzipped and piped into
// `bulklink run --input -` as it is made (no disk, no memory for it), is refused at once for
// its NUL bytes (exit 2), without a word of UTF-16, after a few MiB of it at most (issue 18,
// item 5). Before, it was diagnosed as UTF-16 text, with iconv's advice.
func TestNULBomb(t *testing.T) {
	t.Parallel()
	h := newHostile(t)
	r, w, err := os.Pipe()
	must(t, err)
	var fed atomic.Int64
	done := make(chan error, 1)
	go func() {
		zw, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
		_, err := io.WriteString(zw, hostileHeader)
		zeros := make([]byte, 64<<10)
		for left := int64(1 << 30); err == nil && left > 0; left -= int64(len(zeros)) {
			var n int
			n, err = zw.Write(zeros)
			fed.Add(int64(n))
		}
		if err == nil {
			err = zw.Close()
		}
		w.Close() // bulklink gone, the write failed (EPIPE): the rest is never made
		done <- err
	}()
	c := exec.Command(binary, h.args("run", "--input", "-", "--format", "csv", "--report", filepath.Join(h.dir, "r.csv"), "--log-format", "console")...)
	c.Env = append(cleanEnv(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION=us-east-1")
	c.Stdin = r
	var stderr bytes.Buffer
	c.Stderr = &stderr
	err = c.Run()
	r.Close()
	<-done
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitUsage {
		t.Errorf("exit %v, want %d", err, exitUsage)
	}
	if !strings.Contains(stderr.String(), "NUL bytes") || strings.Contains(stderr.String(), "UTF-16") {
		t.Errorf("stderr, want the NUL bytes named and no word of UTF-16:\n%s", stderr.String())
	}
	// Zeros compress about 800-fold (gzip.BestSpeed): the pipe's 64 KiB and the readers'
	// buffers (a few hundred KiB, the spool's among them) hold some 100 MiB of them, however
	// early bulklink stops reading. A quarter of the gigabyte means it stopped at the head,
	// not at the end.
	if n := fed.Load(); n > 256<<20 {
		t.Errorf("%d MiB of the zeros compressed into the pipe before bulklink stopped reading, want its head only", n>>20)
	}
	h.noCalls("AdminLinkProviderForUser")
}
