//go:build unix

package report

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/bulklink/bulklink/schema"
)

// TestHostileFiles plants, at each path bulklink writes beside a report (the report, its
// lock, meta and summary), every kind of thing that is not bulklink's: links to a victim,
// dangling links, links to a device, directories, FIFOs, a device node, another user's
// file, and a user's own file that is not bulklink's. Each is refused with an
// *UnsafeFileError before anything is written, and the victim is left as it was (issue 8,
// guarantee 5).
func TestHostileFiles(t *testing.T) {
	t.Parallel()
	const precious = "precious: not bulklink's\n"
	files := []struct {
		name string
		path func(report string) string
	}{
		{"report", func(r string) string { return r }},
		{"lock", LockPath},
		{"meta", MetaPath},
		{"summary", SummaryPath},
	}
	type plant func(t *testing.T, dir, path string) (victim string)
	plants := []struct {
		name string
		plant
		root bool // needs root
	}{
		{"link to a victim", func(t *testing.T, dir, path string) string {
			v := filepath.Join(dir, "victim")
			must(t, os.WriteFile(v, []byte(precious), 0o600))
			must(t, os.Symlink(v, path))
			return v
		}, false},
		{"dangling link", func(t *testing.T, dir, path string) string {
			must(t, os.Symlink(filepath.Join(dir, "created-through-the-link"), path))
			return ""
		}, false},
		{"link to /dev/null", func(t *testing.T, dir, path string) string {
			must(t, os.Symlink("/dev/null", path))
			return ""
		}, false},
		{"directory", func(t *testing.T, dir, path string) string {
			must(t, os.Mkdir(path, 0o700))
			return ""
		}, false},
		{"FIFO", func(t *testing.T, dir, path string) string {
			must(t, mkfifo(path))
			return ""
		}, false},
		{"device node", func(t *testing.T, dir, path string) string {
			if err := syscall.Mknod(path, syscall.S_IFCHR|0o600, 1<<8|3); err != nil { // /dev/null's numbers
				t.Skip("mknod:", err)
			}
			return ""
		}, true},
		{"another user's file", func(t *testing.T, dir, path string) string {
			must(t, os.WriteFile(path, []byte(precious), 0o600))
			must(t, os.Chown(path, 4242, 4242))
			return path
		}, true},
		{"a file of the user's own", func(t *testing.T, dir, path string) string {
			must(t, os.WriteFile(path, []byte(precious), 0o600))
			return path
		}, false},
	}
	ops := []struct {
		name string
		run  func(report string) error
	}{
		{"lock", func(r string) error {
			unlock, err := Lock(r)
			if err == nil {
				unlock()
			}
			return err
		}},
		{"open run", openRun},
		{"open validate", func(r string) error {
			s := spec(r, "sha256:a")
			s.Command = schema.Validate
			rep, err := Open(s)
			if err == nil {
				rep.Close()
			}
			return err
		}},
		{"open run --restart", func(r string) error {
			s := spec(r, "sha256:a")
			s.Restart = true
			rep, err := Open(s)
			if err == nil {
				rep.Close()
			}
			return err
		}},
		{"write summary", func(r string) error { return NewSummary("run", timeZero).WriteFile(SummaryPath(r)) }},
		// bulklink report reads them all: a FIFO must not block it, a link must not be followed.
		{"read summary", func(r string) error { _, err := ReadSummary(r); return err }},
		{"read meta", func(r string) error { _, err := ReadMeta(r); return err }},
		{"read report", func(r string) error {
			_, err := ReadEntries(context.Background(), r, func(*Entry) error { return nil })
			return err
		}},
		{"read lock", func(r string) error { _, err := LockHolder(r); return err }},
	}
	for _, f := range files {
		for _, p := range plants {
			t.Run(f.name+"/"+p.name, func(t *testing.T) {
				t.Parallel()
				if p.root && os.Geteuid() != 0 {
					t.Skip("needs root")
				}
				for _, op := range ops {
					// Only the operations that touch the file: the lock is Lock's alone,
					// the summary is written and removed by the others.
					if f.name == "lock" && op.name != "lock" && op.name != "read lock" || f.name != "lock" && op.name == "lock" ||
						f.name == "report" && op.name == "write summary" || f.name == "meta" && op.name == "write summary" {
						continue
					}
					// The reads touch their own file alone, and a plain file of the user's is theirs to read.
					if read := strings.HasPrefix(op.name, "read "); read && (op.name != "read "+f.name || p.name == "a file of the user's own") {
						continue
					}
					dir := t.TempDir()
					report := filepath.Join(dir, "r.csv")
					path := f.path(report)
					victim := p.plant(t, dir, path)
					before := lstat(t, path)
					err := op.run(report)
					var ue *UnsafeFileError
					if !errors.As(err, &ue) {
						t.Errorf("%s with a %s as the %s: got %v, want an UnsafeFileError", op.name, p.name, f.name, err)
					}
					if victim != "" {
						if b, _ := os.ReadFile(victim); string(b) != precious {
							t.Errorf("%s: the victim now holds %q, want it untouched", op.name, b)
						}
					}
					if after := lstat(t, path); after != before {
						t.Errorf("%s: %s was %s, is now %s", op.name, path, before, after)
					}
					if _, err := os.Lstat(filepath.Join(dir, "created-through-the-link")); err == nil {
						t.Errorf("%s: a file was created through the dangling link", op.name)
					}
					if f.name != "report" {
						if _, err := os.Lstat(report); err == nil {
							t.Errorf("%s: the report was created although its %s was refused", op.name, f.name)
						}
					}
				}
			})
		}
	}
}

// lstat describes what lies at path, for a before-and-after comparison.
func lstat(t *testing.T, path string) string {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		return err.Error()
	}
	st := fi.Sys().(*syscall.Stat_t)
	return fi.Mode().String() + " " + fi.ModTime().String() + " " + itoa(int(st.Uid)) + " " + itoa(int(fi.Size()))
}

func itoa(n int) string {
	if n < 0 {
		return "-" + itoa(-n)
	}
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + itoa(n%10)
}

// TestHostileFilesOfItsOwn: bulklink's own lock, meta and summary, as they lie after any
// stop, are still taken as its own: the checks above refuse nothing of bulklink's.
func TestHostileFilesOfItsOwn(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	report := filepath.Join(dir, "r.csv")
	for _, lock := range []string{"", "123\n", "4194304\n"} { // empty: killed before the pid
		must(t, os.WriteFile(LockPath(report), []byte(lock), 0o600))
		unlock, err := Lock(report)
		if err != nil {
			t.Fatalf("a lock holding %q: %v", lock, err)
		}
		unlock()
	}
	r, err := Open(spec(report, "sha256:a"))
	if err != nil {
		t.Fatal(err)
	}
	write(t, r, 2)
	must(t, NewSummary("run", timeZero).WriteFile(SummaryPath(report)))
	must(t, NewSummary("run", timeZero).WriteFile(SummaryPath(report)))
	s := spec(report, "sha256:b")
	s.Restart = true
	if r, err = Open(s); err != nil {
		t.Fatalf("restart over its own meta and summary: %v", err)
	}
	write(t, r)
	if m, err := ReadMeta(report); err != nil || m.Fingerprint != "sha256:b" {
		t.Errorf("meta after the restart: %+v, %v", m, err)
	}
}

// TestHostileReportContents: files at the report's path that are not reports (a user's
// CSV, a JSON file, a report of another layout in disguise) are never truncated.
func TestHostileReportContents(t *testing.T) {
	t.Parallel()
	for _, content := range []string{
		"destination_user,source_provider,source_value\nalice,Google,1\n",
		"line,stat", // a torn header
		"{\"lines\":1}\n",
		"\x00\x00\x00\x00",
		strings.Repeat("x", 100),
	} {
		dir := t.TempDir()
		report := filepath.Join(dir, "r.csv")
		must(t, os.WriteFile(report, []byte(content), 0o600))
		err := openRun(report)
		b, _ := os.ReadFile(report)
		if content == "line,stat" {
			// A report killed while its header was written, without its meta: bulklink's,
			// but not resumable without --restart; refused all the same, and kept.
			if err == nil || string(b) != content {
				t.Errorf("a torn header without meta: %v, now %q; want it refused and kept", err, b)
			}
			continue
		}
		var ue *UnsafeFileError
		if !errors.As(err, &ue) || string(b) != content {
			t.Errorf("report holding %q: %v, now %q; want an UnsafeFileError and the file untouched", content, err, b)
		}
	}
}
