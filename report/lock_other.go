//go:build !unix

package report

import "fmt"

// LockedError says that another run holds a report's lock.
type LockedError struct {
	Report string
	PID    int
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("report %s is in use by another bulklink run", e.Report)
}

// LockPath is the lock file of the report at path.
func LockPath(report string) string { return report + ".lock" }

// Lock is a no-op where flock is not available: runs on one report must not overlap.
func Lock(report string) (unlock func() error, err error) { return func() error { return nil }, nil }
