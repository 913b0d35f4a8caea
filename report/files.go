package report

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// The files bulklink writes beside a report (the report itself, its lock, meta and summary)
// are its own. It never writes through a symbolic link (files are opened with O_NOFOLLOW), it
// creates new files exclusively (O_EXCL), readable by their owner only, and it refuses to
// reuse a file that is not a regular file or that another user owns: a planted link or file
// in a shared directory cannot make bulklink truncate or overwrite something else. Such a
// refusal is an *UnsafeFileError.

// UnsafeFileError refuses a path bulklink would otherwise write.
type UnsafeFileError struct {
	Path   string
	Reason string
}

func (e *UnsafeFileError) Error() string {
	return fmt.Sprintf("%s %s: bulklink writes only files of its own; remove it or choose another path", e.Path, e.Reason)
}

// openOwned opens an existing file of ours with flag (O_NOFOLLOW added), and checks that it
// is a regular file owned by this process's user. A missing file gives fs.ErrNotExist.
func openOwned(path string, flag int) (*os.File, error) {
	f, err := os.OpenFile(path, flag|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, refusal(path, err)
	}
	if err := checkOwned(path, f); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// createNew creates a file that must not exist yet, readable by its owner only.
func createNew(path string, flag int) (*os.File, error) {
	f, err := os.OpenFile(path, flag|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, refusal(path, err)
	}
	return f, nil
}

// openOrCreate opens a file of ours, or creates it when there is none.
func openOrCreate(path string, flag int) (*os.File, error) {
	for {
		f, err := openOwned(path, flag)
		if !errors.Is(err, fs.ErrNotExist) {
			return f, err
		}
		f, err = createNew(path, flag)
		if !errors.Is(err, fs.ErrExist) { // else another process made it meanwhile: open it
			return f, err
		}
	}
}

// refusal explains an open that failed on a link or a file that is not a regular one.
func refusal(path string, err error) error {
	switch {
	case errors.Is(err, syscall.ELOOP):
		return &UnsafeFileError{path, "is a symbolic link"}
	case errors.Is(err, syscall.ENXIO), errors.Is(err, syscall.EISDIR):
		return &UnsafeFileError{path, "is not a regular file"}
	}
	return err
}

// checkOwned checks that an open file is a regular file of this process's user.
func checkOwned(path string, f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	return checkInfo(path, fi)
}

func checkInfo(path string, fi fs.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return &UnsafeFileError{path, fmt.Sprintf("is not a regular file (%s)", fi.Mode().Type())}
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return &UnsafeFileError{path, fmt.Sprintf("belongs to user %d, not to this one (%d)", st.Uid, os.Geteuid())}
	}
	return nil
}

// checkReplaceable checks that path, which an atomic write is about to replace, is missing or
// a regular file of ours: a link or someone else's file is refused, not replaced.
func checkReplaceable(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return &UnsafeFileError{path, "is a symbolic link"}
	}
	return checkInfo(path, fi)
}

// removeOwned removes a file of ours; a missing one is fine, anything else is refused.
func removeOwned(path string) error {
	if err := checkReplaceable(path); err != nil {
		return err
	}
	err := os.Remove(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// syncDir makes a file's creation, renaming or removal durable: the entry lives in its
// directory.
func syncDir(path string) error {
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
