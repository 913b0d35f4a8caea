package report

import (
	"fmt"
	"os"
)

// The functions below lend the safety of a report's files (files.go) to the files of other
// commands: bulklink discover's output, refused file, state and spill are written the way a
// report and its meta are, with the same refusals (*UnsafeFileError).

// A Kind tells one kind of a command's own files from anything else by its content, as the
// report's own kinds do: Ours sees at most the file's first MiB and a byte.
type Kind struct {
	Name string
	Ours func(content []byte) bool
}

func (k Kind) fileKind() fileKind { return fileKind{k.Name, k.Ours} }

// JSONKind recognises a JSON object that has every one of keys.
func JSONKind(name string, keys ...string) Kind { return Kind{name, jsonWithKeys(keys...)} }

// CreateNew creates a file that must not exist yet, readable by its owner only, never
// through a symbolic link.
func CreateNew(path string, flag int) (*os.File, error) { return createNew(path, flag) }

// OpenOwned opens an existing file with flag, refusing a link, a file that is not a regular
// one and another user's. A missing file gives fs.ErrNotExist.
func OpenOwned(path string, flag int) (*os.File, error) { return openOwned(path, flag) }

// CheckOurs checks that path is missing, or a regular file of this user holding a file of
// kind k: one bulklink may replace or remove.
func CheckOurs(path string, k Kind) error {
	if err := checkReplaceable(path); err != nil {
		return err
	}
	return checkOurs(path, k.fileKind())
}

// RemoveOwned removes a file of kind k; a missing one is fine, anything else is refused.
func RemoveOwned(path string, k Kind) error { return removeOwned(path, k.fileKind()) }

// ReplaceWith renames tmp, a file of ours in the same directory, over path, which must be
// missing or of kind k, and makes the rename durable.
func ReplaceWith(tmp, path string, k Kind) error {
	if err := CheckOurs(path, k); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(path)
}

// SyncDir makes a file's creation, renaming or removal durable.
func SyncDir(path string) error { return syncDir(path) }

// WriteJSON writes v as indented JSON to path atomically (a synced temporary file renamed
// over it, the directory synced), readable by its owner only; a path that is a link,
// another user's file or a file that is not of kind k is refused, not replaced.
func WriteJSON(path string, v any, k Kind) error {
	if err := writeJSON(path, v, k.fileKind()); err != nil {
		return fmt.Errorf("write %s: %w", k.Name, err)
	}
	return nil
}

// ReadJSON decodes the JSON file of ours at path into v, reading at most 1 MiB; a link,
// someone else's file or one that is not a regular file is refused. A missing file gives
// fs.ErrNotExist.
func ReadJSON(path string, v any) error { return readJSON(path, v) }
