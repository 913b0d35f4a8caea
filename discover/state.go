package discover

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/bulklink/bulklink/internal/extsort"
	"github.com/bulklink/bulklink/report"
)

// Target is where a discover reads: a state written against one endpoint (a rehearsal) must
// not pass for another's (production).
type Target struct {
	Region     string `json:"region"`
	Endpoint   string `json:"endpoint,omitempty"` // "" for AWS's own; never with credentials
	UserPoolID string `json:"user_pool_id"`
}

// state is <output>.discover.json: what the discover is (its target and query, which a
// resumed one must share) and how far it got. It is replaced atomically, and only once the
// spill it describes is synced: whatever the moment of a crash, the spill holds at least
// SpillBytes of whole records, and Token is the page that follows them.
type state struct {
	Command   string    `json:"command"` // "discover"
	Version   string    `json:"bulklink_version"`
	CreatedAt time.Time `json:"created_at"`
	Target    Target    `json:"target"`
	Query     Query     `json:"query"`
	// Token is the PaginationToken of the next page to read; "" before the first.
	Token        string `json:"pagination_token"`
	SpillBytes   int64  `json:"spill_bytes"`   // the spill's records, after its header
	SpillRecords int64  `json:"spill_records"` // how many
	Users        int64  `json:"users_listed"`  // users in the pages read
	Pages        int64  `json:"pages"`
	// Listed says that the last page is in: what is left is the match.
	Listed bool `json:"listed"`
	// Done says that the output and the refused file are written; the spill is removed.
	Done       bool      `json:"done"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
	Counts     Counts    `json:"counts"` // what the match wrote, once Done
	// Restarts counts the listings started over: a pagination token refused on resume (it
	// may have expired), or a spill shorter than its state (a disk that lost writes).
	Restarts int `json:"listing_restarts,omitempty"`
}

// same reports why a discover under st cannot continue as now, or "".
func (st *state) differs(now *state) string {
	switch {
	case st.Target != now.Target:
		return fmt.Sprintf("it reads %s, this command %s", describeTarget(st.Target), describeTarget(now.Target))
	case st.Query != now.Query:
		return fmt.Sprintf("it was started as %s, this command is %s", st.Query.describe(), now.Query.describe())
	}
	return ""
}

func describeTarget(t Target) string {
	endpoint := t.Endpoint
	if endpoint == "" {
		endpoint = "AWS"
	}
	return fmt.Sprintf("pool %s in %s at %s", t.UserPoolID, t.Region, endpoint)
}

// describe spells a query as its command line.
func (q Query) describe() string {
	s := "--duplicates"
	if q.Mode == ByAttribute {
		s = fmt.Sprintf("--provider %s --by %s", q.Provider, q.Attribute)
	} else if q.Provider != "" {
		s += " --provider " + q.Provider
	}
	if q.EmailDomain != "" {
		s += " --email-domain " + q.EmailDomain
	}
	if q.Filter != "" {
		s += fmt.Sprintf(" --filter %q", q.Filter)
	}
	if q.AllowUnverified {
		s += " --allow-unverified-email"
	}
	return s
}

func readState(output string) (*state, error) {
	var st state
	err := report.ReadJSON(StatePath(output), &st)
	if err != nil {
		return nil, err
	}
	if st.Command != "discover" {
		return nil, &report.UnsafeFileError{Path: StatePath(output), Reason: "exists and is not a bulklink discover state"}
	}
	return &st, nil
}

func (st *state) write(output string) error {
	return report.WriteJSON(StatePath(output), st, stateKind)
}

// spill is the spill file of a discover: its header, then records (package extsort).
type spill struct {
	*extsort.File[entry]
}

// createSpill makes the spill anew, a leftover removed first, its header synced.
func createSpill(output string) (*spill, error) {
	path := SpillPath(output)
	if err := report.RemoveOwned(path, spillKind); err != nil {
		return nil, err
	}
	f, err := report.CreateNew(path, os.O_RDWR)
	if err != nil {
		return nil, err
	}
	_, err = f.WriteString(spillMagic)
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = report.SyncDir(path)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	return &spill{extsort.Wrap(f, entries, int64(len(spillMagic)), 0, 0)}, nil
}

// errShortSpill reports a spill that holds less than its state says: a machine whose disk
// lost writes that were synced, or a spill replaced by hand.
var errShortSpill = errors.New("the spill holds less than its state says")

// openSpill opens the spill of a resumed discover, cut back to what st committed: records
// written after the last commit (a crash) are read again from the pool.
func openSpill(output string, st *state) (*spill, error) {
	path := SpillPath(output)
	f, err := report.OpenOwned(path, os.O_RDWR)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errShortSpill
	}
	if err != nil {
		return nil, err
	}
	head := make([]byte, len(spillMagic))
	if _, err := io.ReadFull(f, head); err != nil || string(head) != spillMagic {
		f.Close()
		if err != nil {
			return nil, errShortSpill
		}
		return nil, &report.UnsafeFileError{Path: path, Reason: "exists and is not a bulklink discover spill"}
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	end := int64(len(spillMagic)) + st.SpillBytes
	if fi.Size() < end {
		f.Close()
		return nil, errShortSpill
	}
	if err := f.Truncate(end); err != nil {
		f.Close()
		return nil, err
	}
	return &spill{extsort.Wrap(f, entries, int64(len(spillMagic)), st.SpillBytes, st.SpillRecords)}, nil
}
