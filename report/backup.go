package report

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/bulklink/bulklink/schema"
)

// A merge (run --merge-signed-in) deletes a user: the federated profile an identity got when
// it signed in before it was linked. Before the delete, the profile is written whole to the
// report's backup file, <report>.merged.jsonl, and the file is fsynced: nothing is deleted
// that is not on disk first. The file is appended to, never truncated or removed, --restart
// or not; each line is one Backup in JSON. Beside it, <report>.subs.csv maps each merged
// profile's old sub to the destination's, for the application's data keyed by sub: it is
// made again from the report's merged records at the end of every run (WriteSubs), so that
// it always agrees with the report.

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

// OpenBackups opens the backup file of the report at path, making it when there is none, and
// reads which rows it holds backups of. A last line cut short (a crash mid-write) is cut off:
// its delete was never sent.
func OpenBackups(report string) (*Backups, error) {
	path := BackupPath(report)
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
		var bk Backup
		if err := json.Unmarshal(line, &bk); err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: the backup at byte %d does not read: %w; it is left as it is", path, good, err)
		}
		b.rows[bk.Line] = backedUp{bk.Username, bk.Sub}
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
	line, err := json.Marshal(bk)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, err := b.f.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("write %s: %w", b.path, err)
	}
	if err := b.f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", b.path, err)
	}
	b.rows[bk.Line] = backedUp{bk.Username, bk.Sub}
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

// WriteSubs makes the sub map of the report at path again from its merged records, at once
// (a temporary file renamed over the old one). A report without merged records gets none.
func WriteSubs(path string) error {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write([]string{"user_pool_id", "old_sub", "new_sub", "old_username", "destination_user"})
	n := 0
	_, err := ReadEntries(context.Background(), path, func(e *Entry) error { // a regular file of ours: it cannot block
		if e.Status() != schema.Merged {
			return nil
		}
		n++
		return w.Write([]string{e.Get(schema.ColUserPoolID), e.Get(schema.ColMergedSub), e.Get(schema.ColDestinationSub),
			e.Get(schema.ColMergedUsername), e.Get(schema.ColDestinationUser)})
	})
	if err != nil {
		return fmt.Errorf("read %s for its sub map: %w", path, err)
	}
	if n == 0 {
		return nil
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	return writeFileAtomic(SubsPath(path), b.Bytes(), subsKind)
}
