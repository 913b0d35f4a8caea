package input

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"
)

// FingerprintPrefix is how much of a stream (stdin) its fingerprint covers.
const FingerprintPrefix = 1 << 20

// Fingerprint identifies the input at path by the SHA-256 of its bytes as stored (compressed,
// for .gz): a report remembers it, so that a resumed run can tell its own input from
// another. On the way it counts the file's lines, an estimate of its rows for progress; -1
// for a compressed file.
func Fingerprint(path string) (fp string, lines int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	lc := &lineCounter{}
	if _, err := io.Copy(io.MultiWriter(h, lc), f); err != nil {
		return "", 0, fmt.Errorf("fingerprint %s: %w", path, err)
	}
	lines = lc.lines
	if lc.last != '\n' && lc.last != 0 {
		lines++
	}
	if strings.HasSuffix(strings.ToLower(path), ".gz") {
		lines = -1
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), lines, nil
}

type lineCounter struct {
	lines int64
	last  byte
}

func (c *lineCounter) Write(p []byte) (int, error) {
	c.lines += int64(bytes.Count(p, []byte{'\n'}))
	if len(p) > 0 {
		c.last = p[len(p)-1]
	}
	return len(p), nil
}

// FingerprintStream identifies a stream that can be read only once by the SHA-256 of its
// first FingerprintPrefix bytes, peeked from r (sized for them) without consuming them.
// partial says the stream may be longer: the fingerprint may not cover all of it.
func FingerprintStream(r *bufio.Reader) (fp string, partial bool, err error) {
	head, err := r.Peek(FingerprintPrefix)
	if err != nil && err != io.EOF {
		return "", false, fmt.Errorf("fingerprint stdin: %w", err)
	}
	// A full prefix may be all of the stream, or not: peeking further would consume it.
	partial = len(head) == FingerprintPrefix
	sum := sha256.Sum256(head)
	return "sha256-first-MiB:" + hex.EncodeToString(sum[:]), partial, nil
}
