//go:build unix

package safefile

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestOpenRefuses: what is not a regular file is refused at once, never waited on; a link
// and another user's file only where the policy says so.
func TestOpenRefuses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	regular := filepath.Join(dir, "regular")
	must(t, os.WriteFile(regular, []byte("text\n"), 0o600))
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("mkfifo:", err)
	}
	link := filepath.Join(dir, "link")
	must(t, os.Symlink(regular, link))
	tests := []struct {
		name   string
		path   string
		flag   int
		p      Policy
		reason string // "" when it opens
	}{
		{"a regular file", regular, os.O_RDONLY, Policy{}, ""},
		{"a regular file, owned", regular, os.O_RDWR, Policy{NoFollow: true, Owned: true}, ""},
		{"a FIFO", fifo, os.O_RDONLY, Policy{}, "is not a regular file (a FIFO)"},
		{"a FIFO to write", fifo, os.O_WRONLY, Policy{}, "is not a regular file"},
		{"a FIFO to read and write", fifo, os.O_RDWR, Policy{NoFollow: true, Owned: true}, "is not a regular file (a FIFO)"},
		{"a directory", dir, os.O_RDONLY, Policy{Streams: true}, "is not a regular file (a directory)"},
		{"a directory to write", dir, os.O_WRONLY, Policy{}, "is not a regular file (a directory)"},
		{"a character device", "/dev/null", os.O_RDONLY, Policy{}, "is not a regular file (a character device)"},
		{"a link, followed", link, os.O_RDONLY, Policy{}, ""},
		{"a link, not followed", link, os.O_RDONLY, Policy{NoFollow: true}, "is a symbolic link"},
		{"a link to a FIFO", mklink(t, fifo), os.O_RDONLY, Policy{}, "is not a regular file (a FIFO)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, err := Open(t.Context(), tt.path, tt.flag, tt.p)
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("Open: %v, want the file", err)
				}
				f.Close()
				return
			}
			var re *RefusedError
			if !errors.As(err, &re) || re.Path != tt.path || !strings.HasPrefix(re.Reason, tt.reason) {
				t.Errorf("Open: got %v, want a RefusedError: %s %s", err, tt.path, tt.reason)
			}
			if err == nil {
				f.Close()
			}
		})
	}
	t.Run("missing", func(t *testing.T) {
		t.Parallel()
		if _, err := Open(t.Context(), filepath.Join(dir, "none"), os.O_RDONLY, Policy{}); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Open of a missing file: got %v, want fs.ErrNotExist", err)
		}
	})
	t.Run("another user's", func(t *testing.T) {
		t.Parallel()
		if os.Geteuid() != 0 {
			t.Skip("needs root")
		}
		theirs := filepath.Join(t.TempDir(), "theirs")
		must(t, os.WriteFile(theirs, nil, 0o600))
		must(t, os.Chown(theirs, 4242, 4242))
		if _, err := Open(t.Context(), theirs, os.O_RDONLY, Policy{Owned: true}); err == nil || !strings.Contains(err.Error(), "belongs to user 4242") {
			t.Errorf("Open of another user's file, owned: got %v, want it refused", err)
		}
		f, err := Open(t.Context(), theirs, os.O_RDONLY, Policy{})
		if err != nil {
			t.Errorf("Open of another user's file: %v, want it read", err)
		} else {
			f.Close()
		}
	})
}

func mklink(t *testing.T, to string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "link")
	must(t, os.Symlink(to, p))
	return p
}

// TestOpenStreams: a FIFO where streams are taken is read whole, whether its writer came
// before the open or after; nobody writing, the open ends with its context.
func TestOpenStreams(t *testing.T) {
	t.Parallel()
	newFIFO := func(t *testing.T) string {
		t.Helper()
		p := filepath.Join(t.TempDir(), "fifo")
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			t.Skip("mkfifo:", err)
		}
		return p
	}
	// write opens the FIFO to write, blocking until a reader opens it, and writes text.
	write := func(path, text string) <-chan error {
		done := make(chan error, 1)
		go func() {
			w, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err == nil {
				_, err = io.WriteString(w, text)
				err = errors.Join(err, w.Close())
			}
			done <- err
		}()
		return done
	}
	read := func(t *testing.T, path string) string {
		t.Helper()
		f, err := Open(t.Context(), path, os.O_RDONLY, Policy{Streams: true})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		defer f.Close()
		b, err := io.ReadAll(f)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		return string(b)
	}
	const text = "destination_user,source_provider,source_value\nalice,Okta,a-1\n"
	t.Run("the writer first", func(t *testing.T) {
		t.Parallel()
		p := newFIFO(t)
		done := write(p, text) // blocked in its open until Open's first, non-blocking one
		if got := read(t, p); got != text {
			t.Errorf("read %q, want %q", got, text)
		}
		if err := <-done; err != nil {
			t.Errorf("the writer: %v (a writer let in by the first open must find a reader)", err)
		}
	})
	t.Run("the reader first", func(t *testing.T) {
		t.Parallel()
		p := newFIFO(t)
		got := make(chan string, 1)
		go func() {
			f, err := Open(context.Background(), p, os.O_RDONLY, Policy{Streams: true})
			if err != nil {
				got <- "error: " + err.Error()
				return
			}
			defer f.Close()
			b, _ := io.ReadAll(f)
			got <- string(b)
		}()
		if err := <-write(p, text); err != nil {
			t.Fatal(err)
		}
		if g := <-got; g != text {
			t.Errorf("read %q, want %q", g, text)
		}
	})
	t.Run("nobody writes", func(t *testing.T) {
		t.Parallel()
		p := newFIFO(t)
		ctx, cancel := context.WithCancelCause(t.Context())
		stop := errors.New("stopped")
		done := make(chan error, 1)
		go func() {
			_, err := Open(ctx, p, os.O_RDONLY, Policy{Streams: true})
			done <- err
		}()
		cancel(stop)
		select {
		case err := <-done:
			if !errors.Is(err, stop) {
				t.Errorf("Open: got %v, want the context's cause", err)
			}
		case <-time.After(10 * time.Second): // a bound for a hang
			t.Fatal("Open still waiting for a writer 10s after its context ended")
		}
	})
	t.Run("ended already", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := Open(ctx, newFIFO(t), os.O_RDONLY, Policy{Streams: true}); !errors.Is(err, context.Canceled) {
			t.Errorf("Open with its context ended: got %v, want context.Canceled", err)
		}
	})
	t.Run("a character device", func(t *testing.T) {
		t.Parallel()
		if got := read(t, "/dev/null"); got != "" {
			t.Errorf("read %q of /dev/null", got)
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
