package report

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
	"time"
)

// A merge (run --merge-signed-in) deletes a user: the federated profile an identity got when
// it signed in before it was linked. Before the delete, the profile is written whole to the
// report's backup file, <report>.merged.jsonl, and the file is fsynced: nothing is deleted
// that is not on disk first. Once the profile is known to be gone, a line saying so follows
// (Deleted). The file is appended to, never truncated or removed, --restart or not; each line
// is a Backup, or a deletion, in JSON. Beside it, <report>.subs.csv maps the sub of every
// profile deleted under the report to the sub of the user its identity goes to, for the
// application's data keyed by sub: it is made again from the backup file at the end of every
// run (WriteSubs), so that no merge is ever left out of it, whatever became of its row.

// BackupPath is where the backups of a report's merges lie.
func BackupPath(report string) string { return report + ".merged.jsonl" }

// SubsPath is where the sub map of a report's merges lies.
func SubsPath(report string) string { return report + ".subs.csv" }

// Backup is a profile as a merge read it, just before it deleted it.
type Backup struct {
	Line           int       `json:"line"` // the row's line in the input
	UserPoolID     string    `json:"user_pool_id"`
	Username       string    `json:"username"`
	Sub            string    `json:"sub"`
	Attributes     []Attr    `json:"attributes"` // every attribute, as AdminGetUser answered them
	UserStatus     string    `json:"user_status"`
	Enabled        bool      `json:"enabled"`
	Created        time.Time `json:"user_create_date"`
	Modified       time.Time `json:"user_last_modified_date"`
	MFAOptions     []MFA     `json:"mfa_options,omitempty"`
	PreferredMFA   string    `json:"preferred_mfa_setting,omitempty"`
	MFASettings    []string  `json:"user_mfa_setting_list,omitempty"`
	Groups         []Group   `json:"groups"`
	Destination    string    `json:"destination_user"` // the user the identity goes to
	DestinationSub string    `json:"destination_sub"`
	BackedUpAt     time.Time `json:"backed_up_at"`
	ReportCreated  time.Time `json:"report_created_at"` // the report's start: which run of it merged
}

// Attr is a user attribute.
type Attr struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// MFA is one of a user's MFAOptions.
type MFA struct {
	DeliveryMedium string `json:"delivery_medium"`
	AttributeName  string `json:"attribute_name"`
}

// Group is a group a user belonged to.
type Group struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Precedence  *int32 `json:"precedence,omitempty"`
	RoleArn     string `json:"role_arn,omitempty"`
}

// backupKind tells a backup file by its content: JSON lines, or nothing.
var backupKind = fileKind{"merge backup", func(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) == 0 || b[0] == '{'
}}

// Backups is a report's backup file, open for a run. It is safe for concurrent use.
type Backups struct {
	mu   sync.Mutex
	f    *os.File
	path string
	rows map[int]backedUp // by line, the latest backup of the row
}

// backedUp is what Backups keeps of a backup: whom it deleted.
type backedUp struct{ username, sub string }

// deletion is the line that says a profile backed up is gone.
type deletion struct {
	Line    int       `json:"line"`
	Deleted string    `json:"deleted"` // the username
	Sub     string    `json:"sub"`
	At      time.Time `json:"at"`
}

// backupLine is what a line of the backup file may be: a Backup, or a deletion.
type backupLine struct {
	Backup
	Deleted string `json:"deleted"`
}

// OpenBackups opens the backup file of the report at path, making it when there is none, and
// reads which rows it holds backups of. A last line cut short (a crash mid-write) is cut off:
// its delete was never sent.
func OpenBackups(report string) (*Backups, error) {
	path := BackupPath(report)
	// The sub map is written at the end of a run that deleted profiles: a file in its place
	// that bulklink would not replace stops the run now, before any delete.
	if err := checkReplaceable(SubsPath(report)); err != nil {
		return nil, err
	}
	if err := checkOurs(SubsPath(report), subsKind); err != nil {
		return nil, err
	}
	f, err := openOrCreate(path, os.O_RDWR|os.O_APPEND)
	if err != nil {
		return nil, err // it names the path
	}
	if err := checkKind(path, f, backupKind); err != nil {
		f.Close()
		return nil, err
	}
	b := &Backups{f: f, path: path, rows: map[int]backedUp{}}
	r := bufio.NewReader(io.NewSectionReader(f, 0, 1<<62))
	var good int64
	for {
		line, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		var bk backupLine
		if err := json.Unmarshal(line, &bk); err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: the backup at byte %d does not read: %w; it is left as it is", path, good, err)
		}
		if bk.Deleted == "" {
			b.rows[bk.Line] = backedUp{bk.Username, bk.Sub}
		}
		good += int64(len(line))
	}
	if end, err := f.Seek(0, io.SeekEnd); err == nil && end > good {
		if err := f.Truncate(good); err != nil {
			f.Close()
			return nil, fmt.Errorf("cut a torn backup off %s: %w", path, err)
		}
	}
	return b, nil
}

// Write appends a backup and puts it on stable storage before it returns.
func (b *Backups) Write(bk *Backup) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.append(bk); err != nil {
		return err
	}
	b.rows[bk.Line] = backedUp{bk.Username, bk.Sub}
	return nil
}

// Deleted notes, on stable storage, that the profile a row backed up (username, sub) is gone.
// The sub map is made of these.
func (b *Backups) Deleted(line int, username, sub string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.append(deletion{Line: line, Deleted: username, Sub: sub, At: time.Now().UTC()})
}

// append writes one line, whole or not at all, and syncs it. The caller holds b.mu.
func (b *Backups) append(v any) error {
	line, err := json.Marshal(v)
	if err != nil {
		return err
	}
	end, err := b.f.Seek(0, io.SeekEnd)
	if err != nil {
		return fmt.Errorf("write %s: %w", b.path, err)
	}
	if _, err := b.f.Write(append(line, '\n')); err != nil {
		b.f.Truncate(end) // a line cut short would hide every line after it
		return fmt.Errorf("write %s: %w", b.path, err)
	}
	if err := b.f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", b.path, err)
	}
	return nil
}

// Of returns the username and sub of the latest backup of a row, and whether there is one.
func (b *Backups) Of(line int) (username, sub string, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	r, ok := b.rows[line]
	return r.username, r.sub, ok
}

// Path is the backup file's path.
func (b *Backups) Path() string { return b.path }

// Close closes the file.
func (b *Backups) Close() error { return b.f.Close() }

// subsKind tells a sub map by its header.
var subsKind = fileKind{"sub map", func(b []byte) bool {
	return len(b) == 0 || bytes.HasPrefix(b, []byte(subsHeader))
}}

const subsHeader = "user_pool_id,old_sub,new_sub,old_username,destination_user"

// WriteSubs makes the sub map of the report at path again from its backup file, at once (a
// temporary file renamed over the old one): a row for every profile deleted under the report,
// in the order they were deleted, its old sub mapped to the sub of the user its identity goes
// to. A report that deleted none gets none.
func WriteSubs(report string) error {
	f, err := openOwned(BackupPath(report), os.O_RDONLY)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write([]string{"user_pool_id", "old_sub", "new_sub", "old_username", "destination_user"})
	backups := map[string]Backup{} // by sub
	mapped := map[string]bool{}
	r := bufio.NewReader(f)
	for {
		line, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		var bl backupLine
		if json.Unmarshal(line, &bl) != nil {
			continue // OpenBackups refuses a damaged file: this is a run's own
		}
		if bl.Deleted == "" {
			backups[bl.Sub] = bl.Backup
			continue
		}
		bk, ok := backups[bl.Sub]
		if !ok || mapped[bl.Sub] {
			continue
		}
		mapped[bl.Sub] = true
		w.Write([]string{bk.UserPoolID, bk.Sub, bk.DestinationSub, bk.Username, bk.Destination})
	}
	if len(mapped) == 0 {
		return nil
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	return writeFileAtomic(SubsPath(report), b.Bytes(), subsKind)
}
