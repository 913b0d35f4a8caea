package report

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bulklink/bulklink/schema"
)

// spec is the Spec of a run's CSV report at path for input fingerprint fp.
func spec(path, fp string) Spec {
	return Spec{Path: path, Command: schema.Run, Layout: Layout{Format: CSV}, MaxLine: 1000,
		Meta: &Meta{Input: "in.csv", Fingerprint: fp, Region: "us-east-1"}}
}

func write(t *testing.T, r *Report, lines ...int) {
	t.Helper()
	for _, l := range lines {
		rec := sampleRecord()
		rec.Line = l
		must(t, r.Write(rec))
	}
	must(t, r.Close())
}

func TestOpenLifecycle(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r.csv")

	r, err := Open(spec(path, "sha256:a"))
	if err != nil || r.Resumed || r.Journal.Records != 0 {
		t.Fatalf("new report: %+v, %v; want a new, empty one", r, err)
	}
	created := r.Meta.CreatedAt
	for _, p := range []string{path, MetaPath(path), StartedPath(path)} {
		if fi, err := os.Stat(p); err != nil {
			t.Error(err)
		} else if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s while the report is open: mode %v, want 0600", p, fi.Mode().Perm())
		}
	}
	write(t, r, 2, 3)
	entries, _ := os.ReadDir(dir)
	for _, e := range entries { // every file of the report, whatever Close leaves
		if fi, err := e.Info(); err != nil {
			t.Error(err)
		} else if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", e.Name(), fi.Mode().Perm())
		}
	}

	r, err = Open(spec(path, "sha256:a"))
	if err != nil || !r.Resumed || r.Journal.Records != 2 || !r.Journal.Done.Has(3) {
		t.Fatalf("resume: %+v, %v; want lines 2 and 3 done", r, err)
	}
	if !r.Meta.CreatedAt.Equal(created) {
		t.Errorf("resumed meta created %v, want the first run's %v", r.Meta.CreatedAt, created)
	}
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString("4,linked,,,1,us-ea") // a torn record
	f.Close()
	write(t, r)

	r, err = Open(spec(path, "sha256:a"))
	if err != nil || r.Journal.Torn == 0 || r.Journal.Records != 2 {
		t.Fatalf("resume of a torn report: %+v, %v; want the torn record cut and 2 records", r, err)
	}
	write(t, r, 4)

	_, err = Open(spec(path, "sha256:b"))
	if !errors.Is(err, ErrOtherInput) {
		t.Errorf("another input: %v, want ErrOtherInput", err)
	}
	other := spec(path, "sha256:a")
	other.Meta.Endpoint = "http://127.0.0.1:9229"
	if _, err := Open(other); !errors.Is(err, ErrOtherTarget) {
		t.Errorf("another endpoint: %v, want ErrOtherTarget", err)
	}
	undo := spec(path, "sha256:a")
	undo.Command = schema.Undo
	if _, err := Open(undo); err == nil || !strings.Contains(err.Error(), "is the report of a run, not of a undo") {
		t.Errorf("an undo over a run's report: %v, want it refused", err)
	}
	restart := spec(path, "sha256:b")
	restart.Restart = true
	r, err = Open(restart)
	if err != nil || r.Resumed || r.Journal.Records != 0 {
		t.Fatalf("restart: %+v, %v; want a new report", r, err)
	}
	write(t, r)

	// A report with no record yet is started over for another target without --restart.
	other = spec(path, "sha256:c")
	r, err = Open(other)
	if err != nil || r.Replaced == "" {
		t.Fatalf("a report without records, another input: %+v, %v; want it replaced", r, err)
	}
	write(t, r)
	if m, err := ReadMeta(path); err != nil || m.Fingerprint != "sha256:c" || m.Command != schema.Run {
		t.Errorf("meta after the replacement: %+v, %v", m, err)
	}
}

func TestOpenValidateStartsOver(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v.csv")
	s := spec(path, "sha256:a")
	s.Command = schema.Validate
	r, err := Open(s)
	if err != nil {
		t.Fatal(err)
	}
	write(t, r, 2)
	if r, err = Open(s); err != nil || r.Resumed || r.Journal.Records != 0 {
		t.Fatalf("validate again: %+v, %v; want the report started over", r, err)
	}
	write(t, r)
	run := spec(path, "sha256:a")
	if _, err := Open(run); err == nil {
		t.Error("a run over validate's report: no error, want it refused")
	}
}

// TestOpenRefusesFilesNotItsOwn checks that a report, lock, meta or summary path that is a
// link, a file of another kind or another user's, or a file that is not a report, is
// refused and left as it was.
func TestOpenRefusesFilesNotItsOwn(t *testing.T) {
	const precious = "do not truncate me\n"
	type setup func(t *testing.T, dir, report string) (victim string)
	link := func(name func(string) string) setup {
		return func(t *testing.T, dir, report string) string {
			victim := filepath.Join(dir, "victim")
			must(t, os.WriteFile(victim, []byte(precious), 0o600))
			must(t, os.Symlink(victim, name(report)))
			return victim
		}
	}
	self := func(p string) string { return p }
	tests := []struct {
		name  string
		setup setup
		open  func(report string) error
		want  string
	}{
		{"report is a link", link(self), openRun, "is a symbolic link"},
		{"report is a dangling link", func(t *testing.T, dir, report string) string {
			must(t, os.Symlink(filepath.Join(dir, "victim"), report))
			return ""
		}, openRun, "is a symbolic link"},
		{"report is not a report", func(t *testing.T, dir, report string) string {
			must(t, os.WriteFile(report, []byte(precious), 0o600))
			return report
		}, openRun, "exists and is not a bulklink report"},
		{"report is a FIFO", func(t *testing.T, dir, report string) string {
			must(t, mkfifo(report))
			return ""
		}, openRun, "is not a regular file"},
		{"lock is a link", link(LockPath), func(r string) error { _, err := Lock(r); return err }, "is a symbolic link"},
		{"meta is a link", link(MetaPath), openRun, "is a symbolic link"},
		{"summary is a link", link(SummaryPath), func(r string) error {
			return NewSummary("run", timeZero).WriteFile(SummaryPath(r))
		}, "is a symbolic link"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			report := filepath.Join(dir, "r.csv")
			victim := tt.setup(t, dir, report)
			err := tt.open(report)
			var ue *UnsafeFileError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an UnsafeFileError: %s", err, tt.want)
			}
			if victim != "" {
				if b, _ := os.ReadFile(victim); string(b) != precious {
					t.Errorf("%s now holds %q, want it untouched", victim, b)
				}
			}
		})
	}
	t.Run("report of another user", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("needs root to give a file to another user")
		}
		dir := t.TempDir()
		report := filepath.Join(dir, "r.csv")
		r, err := Open(spec(report, "sha256:a"))
		if err != nil {
			t.Fatal(err)
		}
		write(t, r, 2)
		must(t, os.Chown(report, 4242, 4242))
		_, err = Open(spec(report, "sha256:a"))
		if err == nil || !strings.Contains(err.Error(), "belongs to user 4242") {
			t.Errorf("got %v, want it refused as another user's", err)
		}
		s := spec(report, "sha256:a")
		s.Restart = true
		if _, err := Open(s); err == nil {
			t.Error("--restart over another user's report: no error, want it refused")
		}
	})
}

func openRun(report string) error {
	r, err := Open(spec(report, "sha256:a"))
	if err == nil {
		r.Close()
	}
	return err
}

var timeZero = time.Time{}

// mkfifo makes a FIFO.
func mkfifo(path string) error { return syscall.Mkfifo(path, 0o600) }
