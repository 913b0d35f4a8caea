//go:build unix

// Package safefile is the one way bulklink opens an existing file, to read it or to write to
// it: the input, the report and every file beside it (meta, summary, lock, started list), the
// metrics file, an emulator's seed. (New files are created exclusively, O_EXCL, by
// report/files.go.)
// A path is the operator's, but what lies there may have been planted by anyone who can
// write to its folder, and an open must not let it:
//
//   - block the command: the open is made with O_NONBLOCK, so a FIFO nobody writes to or a
//     device cannot hold it, and what was opened is checked by its descriptor (no race with a
//     file swapped in between): a regular file, unless the caller reads streams (Streams);
//   - read a stream where a file is meant: a FIFO, a pipe of a shell's process substitution or
//     a character device is taken only where the command says so (--input), and then the open
//     waits for the FIFO's writer only until the context ends;
//   - make bulklink follow a planted link (NoFollow: O_NOFOLLOW) or take another user's file
//     for its own (Owned).
//
// A refusal is a *RefusedError. The checks rely on O_NOFOLLOW, O_NONBLOCK and a file's owner
// in stat, which Linux and macOS have; on other systems this package, and so bulklink, does
// not build (see unsupported.go and README.md, Platforms).
//
// It is our own: os.Root and the libraries like it keep opens inside a directory, which is
// not the danger here, and none checks what an open found before it is read.
package safefile

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// Policy says what Open accepts beyond a regular file.
type Policy struct {
	// Streams accepts a FIFO or a character device, read as a stream: --input, which takes
	// <(zcat links.csv.gz) and FIFOs. Everything else must be a regular file.
	Streams bool
	// NoFollow refuses a symbolic link in the last element of the path.
	NoFollow bool
	// Owned refuses a file that belongs to another user than the process's.
	Owned bool
}

// RefusedError says why Open (or Check) refused a path.
type RefusedError struct {
	Path   string
	Reason string // "is a symbolic link", "is not a regular file (a FIFO)", ...
}

func (e *RefusedError) Error() string { return e.Path + " " + e.Reason }

// Open opens path with flag (os.O_RDONLY, os.O_RDWR|os.O_APPEND, ...; never O_CREATE) under
// policy p. It never waits on the file, but for a stream p accepts: the open of a FIFO waits
// for its writer, until ctx ends. A missing file gives an error that is fs.ErrNotExist.
func Open(ctx context.Context, path string, flag int, p Policy) (*os.File, error) {
	if ctx.Err() != nil {
		return nil, fmt.Errorf("open %s: %w", path, context.Cause(ctx))
	}
	if p.NoFollow {
		flag |= syscall.O_NOFOLLOW
	}
	var f *os.File
	var err error
	if p.Streams {
		// Blocking: a FIFO opened without waiting for its writer would read as empty.
		f, err = openWaiting(ctx, path, flag)
	} else {
		f, err = os.OpenFile(path, flag|syscall.O_NONBLOCK, 0)
	}
	if err != nil {
		return nil, refusal(path, err, p)
	}
	fi, err := f.Stat()
	if err == nil {
		err = Check(path, fi, p)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// openWaiting opens path blocking: the open of a FIFO waits for its writer. It runs aside,
// and ctx ending gives up on it.
func openWaiting(ctx context.Context, path string, flag int) (*os.File, error) {
	type opened struct {
		f   *os.File
		err error
	}
	done := make(chan opened, 1)
	go func() {
		f, err := os.OpenFile(path, flag, 0)
		done <- opened{f, err}
	}()
	select {
	case o := <-done:
		return o.f, o.err
	case <-ctx.Done():
		go func() { // close it if the open ever completes
			if o := <-done; o.f != nil {
				o.f.Close()
			}
		}()
		return nil, fmt.Errorf("open %s: %w", path, context.Cause(ctx))
	}
}

// Check checks a file's description (from Stat, or Lstat before a path is replaced) against
// p: a regular file, or a stream p accepts; no link under NoFollow; this user's under Owned.
func Check(path string, fi fs.FileInfo, p Policy) error {
	m := fi.Mode()
	switch {
	case m&fs.ModeSymlink != 0 && p.NoFollow:
		return &RefusedError{path, "is a symbolic link"}
	case !m.IsRegular() && !(p.Streams && isStream(m)):
		return &RefusedError{path, "is not a regular file (" + kind(m) + ")"}
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && p.Owned && int(st.Uid) != os.Geteuid() {
		return &RefusedError{path, fmt.Sprintf("belongs to user %d, not to this one (%d)", st.Uid, os.Geteuid())}
	}
	return nil
}

// isStream reports whether m is what Streams accepts.
func isStream(m fs.FileMode) bool {
	return m&fs.ModeNamedPipe != 0 || m&fs.ModeCharDevice != 0
}

// kind names what a file that is not a regular one is.
func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "of type " + m.Type().String()
}

// refusal explains an open that failed on what lies at path.
func refusal(path string, err error, p Policy) error {
	switch {
	case errors.Is(err, syscall.ELOOP) && p.NoFollow:
		return &RefusedError{path, "is a symbolic link"}
	case errors.Is(err, syscall.EISDIR):
		return &RefusedError{path, "is not a regular file (a directory)"}
	case errors.Is(err, syscall.ENXIO):
		// A socket, a FIFO opened to write without a reader, a device without its driver.
		return &RefusedError{path, "is not a regular file"}
	}
	return err
}
