//go:build unix

package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// detachStdin keeps standard input for bulklink alone: its descriptor is duplicated for the
// input (--input -) and undo's confirmation, and descriptor 0 is pointed at /dev/null, so
// that processes the SDK starts (a credential_process, which inherits descriptor 0) cannot
// read rows meant for bulklink.
func detachStdin() *os.File {
	fd, err := unix.Dup(0)
	if err != nil {
		return os.Stdin // no standard input to keep
	}
	unix.CloseOnExec(fd)
	null, err := os.Open(os.DevNull)
	if err != nil {
		unix.Close(fd)
		return os.Stdin
	}
	defer null.Close()
	if err := unix.Dup2(int(null.Fd()), 0); err != nil {
		unix.Close(fd)
		return os.Stdin
	}
	return os.NewFile(uintptr(fd), "/dev/stdin")
}
