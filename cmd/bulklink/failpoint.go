package main

import (
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
)

// failpoint returns the merge's crash hook of the tests (docs/merge.md, Crash points):
// BULKLINK_FAILPOINT=POINT or POINT:N kills the process with SIGKILL the N-th time (default
// the first) a merge reaches POINT, as a crash there would. nil when the variable is not set.
func failpoint() func(point string) {
	spec := os.Getenv("BULKLINK_FAILPOINT")
	if spec == "" {
		return nil
	}
	point, nth, _ := strings.Cut(spec, ":")
	n, err := strconv.Atoi(nth)
	if err != nil || n < 1 {
		n = 1
	}
	var seen atomic.Int64
	return func(p string) {
		if p == point && seen.Add(1) == int64(n) {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // the signal is on its way
		}
	}
}
