package report

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// LockedError says that another run holds a report's lock.
type LockedError struct {
	Report string
	PID    int // the holder's process id, 0 when unknown
}

func (e *LockedError) Error() string {
	holder := "another bulklink run"
	if e.PID > 0 {
		holder += " (pid " + strconv.Itoa(e.PID) + ")"
	}
	return fmt.Sprintf("report %s is in use by %s", e.Report, holder)
}

// LockPath is the lock file of the report at path.
func LockPath(report string) string { return report + ".lock" }

// Lock takes the report's lock, an flock on <report>.lock holding the owner's pid, or
// returns a *LockedError at once. The lock dies with the process, so a crash leaves
// nothing to clean up; the file itself stays. A lock path that is a link or someone else's
// file is refused (*UnsafeFileError).
func Lock(report string) (unlock func() error, err error) {
	f, err := openOrCreate(LockPath(report), os.O_RDWR)
	if err != nil {
		return nil, fmt.Errorf("lock report: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			b := make([]byte, 32)
			n, _ := f.ReadAt(b, 0)
			pid, _ := strconv.Atoi(strings.TrimSpace(string(b[:n])))
			return nil, &LockedError{Report: report, PID: pid}
		}
		return nil, fmt.Errorf("lock report: %w", err)
	}
	if err := checkKind(LockPath(report), f, lockKind); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock report: %w", err)
	}
	err = f.Truncate(0)
	if err == nil {
		_, err = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock report: write the pid: %w", err)
	}
	return func() error {
		// Unlocking is closing: the kernel drops the flock with the last descriptor.
		return f.Close()
	}, nil
}

// LockHolder returns the pid the report's lock file holds when that process is alive, 0 when
// there is no lock file, no pid in it, or no such process. It only reads the file: taking the
// lock, even for a moment, could turn a run away. A lock file that is not a file of ours (a
// FIFO, a link, another user's) is refused (*UnsafeFileError).
func LockHolder(report string) (int, error) {
	f, err := openOwned(LockPath(report), os.O_RDONLY)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 32))
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, nil
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return 0, nil
	}
	return pid, nil
}
