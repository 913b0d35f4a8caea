package input

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
)

// FingerprintPrefix is how much of a stream (stdin) its fingerprint covers.
const FingerprintPrefix = 1 << 20

// Fingerprint identifies the input at path by the SHA-256 of its bytes as stored (compressed,
// for .gz): a report remembers it, so that a resumed run can tell its own input from
// another.
func Fingerprint(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("fingerprint %s: %w", path, err)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// FingerprintStream identifies a stream that can be read only once by the SHA-256 of its
// first FingerprintPrefix bytes, peeked from r without consuming them.
func FingerprintStream(r *bufio.Reader) (string, error) {
	head, err := r.Peek(FingerprintPrefix)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return "", fmt.Errorf("fingerprint stdin: %w", err)
	}
	sum := sha256.Sum256(head)
	return "sha256-first-MiB:" + hex.EncodeToString(sum[:]), nil
}
