package report

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/bulklink/bulklink/schema"
)

// Spec says which report a command opens, and for what.
type Spec struct {
	Path    string
	Command schema.Command
	Layout  Layout
	// Meta describes this run: its input and fingerprint, its selection, its target. Open
	// writes it beside a new report, and compares it with a resumed report's.
	Meta *Meta
	// Restart starts the report over whatever it holds (run --restart). validate always
	// starts over: its report is not resumed.
	Restart bool
	// MaxLine is the last line of the input: a resumed report's records must be of lines
	// 1 to MaxLine.
	MaxLine int
}

// Report is a report opened for a command, ready for its records.
type Report struct {
	*Writer
	Path    string
	Journal *Journal // the records it held; empty when it is new
	Meta    *Meta    // as it lies beside the report: a resumed report keeps its own
	Resumed bool     // it held records, which the run continues
	// Replaced says why a report was started over without --restart: it held no record,
	// and belonged to another input or target (a flag fixed after a failed start).
	Replaced string
	// Started lists the rows whose first write call was made, by this run or an earlier
	// one (nil for validate, which writes nothing).
	Started *Started
}

// Close syncs and closes the report and its started list.
func (r *Report) Close() error {
	err := r.Writer.Close()
	if r.Started != nil {
		err = errors.Join(err, r.Started.close())
	}
	return err
}

// Open opens the report a command writes, with its lock held. It creates the report when
// there is none, or when it holds no record yet; it resumes a report of the same command,
// input, selection and target, reading its records back (a torn last one cut off); and it
// refuses one of another command, another input or target (errors wrapping ErrOtherInput or
// ErrOtherTarget) unless spec.Restart, a damaged one, and any file that is not bulklink's to
// touch (*UnsafeFileError). A report is started over in an order that survives a crash at
// any step: its old meta goes first (a report without one is never resumed), then the old
// summary, then the report is emptied and synced, and the new meta comes last.
func Open(spec Spec) (*Report, error) {
	spec.Meta.Command = spec.Command
	fi, err := os.Lstat(spec.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return create(spec, false)
	}
	if err != nil {
		return nil, err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return nil, &UnsafeFileError{spec.Path, "is a symbolic link"}
	}
	if err := checkInfo(spec.Path, fi); err != nil {
		return nil, err
	}
	old, err := ReadMeta(spec.Path)
	if errors.Is(err, fs.ErrNotExist) {
		ours, err := looksLikeReport(spec.Path)
		switch {
		case err != nil:
			return nil, err
		case !ours:
			return nil, &UnsafeFileError{spec.Path, "exists and is not a bulklink report"}
		case fi.Size() == 0 || spec.Restart || spec.Command == schema.Validate:
			return create(spec, true)
		}
		return nil, fmt.Errorf("report %s exists but %s does not, so it cannot be resumed: use --restart to start it over, or another --report", spec.Path, MetaPath(spec.Path))
	}
	if err != nil {
		return nil, fmt.Errorf("report meta: %w", err)
	}
	if old.command() != spec.Command {
		return nil, fmt.Errorf("report %s is the report of a %s, not of a %s: choose another path", spec.Path, old.command(), spec.Command)
	}
	if spec.Restart || spec.Command == schema.Validate {
		return create(spec, true)
	}
	if mismatch := old.Matches(spec.Meta); mismatch != nil {
		held, err := hasRecords(spec.Path, spec.Layout.Format)
		if err != nil {
			return nil, err
		}
		if held {
			return nil, fmt.Errorf("cannot resume %s: %w; use --restart to start it over, or another --report", spec.Path, mismatch)
		}
		r, err := create(spec, true)
		if err == nil {
			r.Replaced = mismatch.Error()
		}
		return r, err
	}
	j, err := Recover(spec.Path, spec.Command, spec.Layout, spec.MaxLine)
	if err != nil {
		return nil, fmt.Errorf("cannot resume: %w", err)
	}
	f, err := openOwned(spec.Path, os.O_WRONLY|os.O_APPEND)
	if err != nil {
		return nil, fmt.Errorf("open report: %w", err)
	}
	w, err := NewWriter(f, spec.Layout, false)
	if err != nil {
		f.Close()
		return nil, err
	}
	started, err := openStarted(spec.Path, false)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &Report{Writer: w, Path: spec.Path, Journal: j, Meta: old, Resumed: true, Started: started}, nil
}

// create starts the report at spec.Path over, or makes it when exists is false.
func create(spec Spec, exists bool) (*Report, error) {
	path := spec.Path
	if spec.Meta.CreatedAt.IsZero() {
		spec.Meta.CreatedAt = time.Now().UTC()
	}
	if err := removeOwned(MetaPath(path), metaKind); err != nil {
		return nil, fmt.Errorf("remove the old report meta: %w", err)
	}
	if err := syncDir(path); err != nil {
		return nil, err
	}
	if err := removeOwned(SummaryPath(path), summaryKind); err != nil {
		return nil, fmt.Errorf("remove the old summary: %w", err)
	}
	var (
		started *Started
		f       *os.File
		err     error
	)
	defer func() {
		if err != nil && f != nil {
			f.Close()
		}
		if err != nil && started != nil {
			started.close()
		}
	}()
	if spec.Command != schema.Validate {
		if started, err = openStarted(path, true); err != nil {
			return nil, err
		}
	}
	if exists {
		f, err = openOwned(path, os.O_WRONLY)
		if err == nil {
			err = f.Truncate(0)
		}
	} else {
		f, err = createNew(path, os.O_WRONLY)
	}
	if err == nil {
		err = f.Chmod(0o600) // an existing file keeps its mode through the truncation
	}
	var w *Writer
	if err == nil {
		w, err = NewWriter(f, spec.Layout, true)
	}
	if err == nil {
		err = w.Sync()
	}
	if err == nil {
		err = syncDir(path)
	}
	if err == nil {
		err = spec.Meta.WriteFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("create report: %w", err)
	}
	return &Report{Writer: w, Path: path, Journal: NewJournal(spec.Command), Meta: spec.Meta, Started: started}, nil
}

// NewJournal returns the journal of a report that holds nothing yet.
func NewJournal(cmd schema.Command) *Journal {
	return &Journal{Summary: map[Status]int64{}, Codes: map[string]int64{}, final: cmd.Final()}
}
