package input

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFingerprint(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := write("a.csv", "h\n1\n2\n")
	b := write("b.csv", "h\n1\n3\n")
	c := write("c.csv", "h\n1\n2") // no final newline
	fa, la, err := Fingerprint(a)
	if err != nil {
		t.Fatal(err)
	}
	fb, _, _ := Fingerprint(b)
	fc, lc, _ := Fingerprint(c)
	if fa == fb || fa == fc || !strings.HasPrefix(fa, "sha256:") {
		t.Errorf("fingerprints %s, %s, %s: want three different sha256 values", fa, fb, fc)
	}
	if la != 3 || lc != 3 {
		t.Errorf("lines %d and %d, want 3 and 3", la, lc)
	}
	if again, _, _ := Fingerprint(write("a2.csv", "h\n1\n2\n")); again != fa {
		t.Errorf("the same bytes elsewhere: %s, want %s", again, fa)
	}
	if _, _, err := Fingerprint(filepath.Join(dir, "missing.csv")); err == nil {
		t.Error("a missing file: no error")
	}
}

func TestFingerprintStreamDoesNotConsume(t *testing.T) {
	br := bufio.NewReaderSize(strings.NewReader("h\n1\n"), FingerprintPrefix)
	fp, partial, err := FingerprintStream(br)
	if err != nil || fp == "" || partial {
		t.Fatalf("FingerprintStream: %q, partial %v, %v; want a whole fingerprint", fp, partial, err)
	}
	rest, _ := br.ReadString(0)
	if rest != "h\n1\n" {
		t.Errorf("after the fingerprint the stream holds %q, want all of it", rest)
	}
}

func TestFingerprintStreamLongerThanItsPrefix(t *testing.T) {
	for _, n := range []int{FingerprintPrefix - 1, FingerprintPrefix, FingerprintPrefix + 1} {
		br := bufio.NewReaderSize(strings.NewReader(strings.Repeat("x", n)), FingerprintPrefix)
		_, partial, err := FingerprintStream(br)
		if want := n >= FingerprintPrefix; err != nil || partial != want {
			t.Errorf("%d bytes: partial %v, %v; want %v", n, partial, err, want)
		}
	}
}
