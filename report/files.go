package report

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/bulklink/bulklink/internal/safefile"
)

// The files bulklink writes beside a report (the report itself, its lock, meta, summary and
// started list) are its own, and it reads them back only as such. It never writes through a
// symbolic link (files are opened with O_NOFOLLOW), it creates new files exclusively
// (O_EXCL), readable by their owner only, and it refuses to read or reuse a file that is not a
// regular file (a FIFO would block it) or that another user owns: a planted link or file in a
// shared directory cannot make bulklink hang, truncate or overwrite something else, or take
// another's meta for its own. Such a refusal is an *UnsafeFileError. Every one of these
// files is opened through safefile.Open.

// UnsafeFileError refuses a path bulklink would otherwise read or write.
type UnsafeFileError struct {
	Path   string
	Reason string
}

func (e *UnsafeFileError) Error() string {
	advice := "remove it or choose another path"
	if strings.HasPrefix(e.Reason, "belongs to user") {
		advice = "run bulklink as that user, or choose another path"
	}
	return fmt.Sprintf("%s %s: bulklink reads and writes only files of its own; %s", e.Path, e.Reason, advice)
}

// own is how the files of a report are opened: regular files of this user, never
// through a link.
var own = safefile.Policy{NoFollow: true, Owned: true}

// openOwned opens an existing file of ours with flag. A missing file gives fs.ErrNotExist.
// It never waits: a regular file cannot block an open.
func openOwned(path string, flag int) (*os.File, error) {
	f, err := safefile.Open(context.Background(), path, flag, own)
	if err != nil {
		return nil, refusal(err)
	}
	return f, nil
}

// createNew creates a file that must not exist yet, readable by its owner only.
func createNew(path string, flag int) (*os.File, error) {
	f, err := os.OpenFile(path, flag|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, refusal(err)
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

// refusal makes safefile's refusals UnsafeFileErrors; a create that fails on a link (O_EXCL
// and O_NOFOLLOW) is one too.
func refusal(err error) error {
	var re *safefile.RefusedError
	var pe *fs.PathError
	switch {
	case errors.As(err, &re):
		return &UnsafeFileError{re.Path, re.Reason}
	case errors.As(err, &pe) && errors.Is(err, syscall.ELOOP):
		return &UnsafeFileError{pe.Path, "is a symbolic link"}
	}
	return err
}

// checkInfo checks what Lstat says of a file of ours.
func checkInfo(path string, fi fs.FileInfo) error { return refusal(safefile.Check(path, fi, own)) }

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
	return checkInfo(path, fi)
}

// A fileKind tells one kind of bulklink's own files from anything else by its content, so
// that a file planted under its name (or a user's own file that happens to bear it) is
// refused rather than truncated, replaced or removed.
type fileKind struct {
	name string
	ours func(content []byte) bool // content: the file's first maxKindBytes+1 bytes
}

// maxKindBytes bounds what is read of a file to tell its kind: bulklink's own are smaller.
const maxKindBytes = 1 << 20

// jsonWithKeys recognises a JSON object that has every one of keys, as every meta or
// summary bulklink writes does.
func jsonWithKeys(keys ...string) func([]byte) bool {
	return func(b []byte) bool {
		var m map[string]json.RawMessage
		if len(b) > maxKindBytes || json.Unmarshal(b, &m) != nil {
			return false
		}
		for _, k := range keys {
			if _, ok := m[k]; !ok {
				return false
			}
		}
		return true
	}
}

var (
	metaKind    = fileKind{"report meta", jsonWithKeys("input_fingerprint", "created_at")}
	summaryKind = fileKind{"summary", jsonWithKeys("command", "by_status")}
	// A lock holds its owner's pid and a newline, or nothing (a crash between the
	// truncation and the write of the pid).
	lockKind = fileKind{"report lock", func(b []byte) bool {
		b = bytes.TrimSuffix(b, []byte("\n"))
		if len(b) > 20 {
			return false
		}
		for _, c := range b {
			if c < '0' || c > '9' {
				return false
			}
		}
		return true
	}}
)

// checkKind checks that the open file f at path holds a file of kind k.
func checkKind(path string, f *os.File, k fileKind) error {
	b, err := io.ReadAll(io.LimitReader(io.NewSectionReader(f, 0, maxKindBytes+1), maxKindBytes+1))
	if err != nil {
		return err
	}
	if !k.ours(b) {
		return &UnsafeFileError{path, "exists and is not a bulklink " + k.name}
	}
	return nil
}

// checkOurs checks that path, which bulklink is about to replace or remove, is missing or
// a regular file of ours of kind k.
func checkOurs(path string, k fileKind) error {
	f, err := openOwned(path, os.O_RDONLY)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	return checkKind(path, f, k)
}

// removeOwned removes a file of ours of kind k; a missing one is fine, anything else is
// refused.
func removeOwned(path string, k fileKind) error {
	if err := checkReplaceable(path); err != nil {
		return err
	}
	if err := checkOurs(path, k); err != nil {
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
