package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/bulklink/bulklink/schema"
)

// Meta says what a report belongs to. It lies beside the report as <report>.meta.json,
// written when the report is created, and lets a resumed run check that it continues the
// same work.
type Meta struct {
	// Command wrote the report: run, validate or undo. "" in reports of older versions
	// reads as run.
	Command     schema.Command `json:"command,omitempty"`
	Input       string         `json:"input"`
	Fingerprint string         `json:"input_fingerprint"`
	Only        []string       `json:"only,omitempty"` // the statuses --only selected
	// Merge says that the run merges identities that signed in already (--merge-signed-in):
	// its report has the merge columns.
	Merge bool `json:"merge_signed_in,omitempty"`
	// Where the rows went: a report made against one endpoint (a rehearsal against
	// bulklink emulate) must not pass for done against another (production).
	Region     string `json:"region"`
	Endpoint   string `json:"endpoint,omitempty"` // "" for AWS's own; never with credentials
	UserPoolID string `json:"user_pool_id,omitempty"`
	// Partial marks the reports of older versions made from a stream, fingerprinted by its
	// first MiB only: they cannot be resumed safely.
	Partial   bool      `json:"partial_fingerprint,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	Version   string    `json:"bulklink_version"`
}

// MetaPath is where the meta file of the report at path lies.
func MetaPath(report string) string { return report + ".meta.json" }

func (m *Meta) command() schema.Command {
	if m.Command == "" {
		return schema.Run
	}
	return m.Command
}

// WriteFile writes m beside the report at path, atomically.
func (m *Meta) WriteFile(report string) error {
	if err := writeJSON(MetaPath(report), m, metaKind); err != nil {
		return fmt.Errorf("write report meta: %w", err)
	}
	return nil
}

// ReadMeta reads the meta file of the report at path; fs.ErrNotExist when there is none.
func ReadMeta(report string) (*Meta, error) {
	var m Meta
	if err := readJSON(MetaPath(report), &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// readJSON decodes the JSON file of ours at path into v, reading at most 1 MiB: a link,
// someone else's file or one that is not a regular file (a FIFO would block) is refused.
func readJSON(path string, v any) error {
	f, err := openOwned(path, os.O_RDONLY)
	if err != nil {
		return err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// ErrOtherInput is returned by Matches when a report belongs to another input.
var ErrOtherInput = errors.New("the report belongs to another input")

// ErrOtherTarget is returned by Matches when a report was written against another
// endpoint, region or default pool.
var ErrOtherTarget = errors.New("the report belongs to another target")

func (m *Meta) target() string {
	endpoint := m.Endpoint
	if endpoint == "" {
		endpoint = "AWS"
	}
	return fmt.Sprintf("region %s, endpoint %s, --user-pool-id %q", m.Region, endpoint, m.UserPoolID)
}

// Matches reports whether a report written under m continues under now: same input bytes,
// same selection of rows, same endpoint, region and default pool.
func (m *Meta) Matches(now *Meta) error {
	switch {
	case m.Partial:
		return fmt.Errorf("%w: it was written by an older bulklink for a stream (%s) it could not fingerprint whole", ErrOtherInput, m.Input)
	case m.Fingerprint != now.Fingerprint:
		return fmt.Errorf("%w: it was written for %s (%s), the input is %s (%s)",
			ErrOtherInput, m.Input, m.Fingerprint, now.Input, now.Fingerprint)
	case !slices.Equal(m.Only, now.Only):
		return fmt.Errorf("%w: it was written with --only %v, this run asks for %v", ErrOtherInput, m.Only, now.Only)
	case m.Merge != now.Merge:
		return fmt.Errorf("%w: it was written %s --merge-signed-in, this run %s it", ErrOtherInput, map[bool]string{true: "with", false: "without"}[m.Merge],
			map[bool]string{true: "asks for", false: "goes without"}[now.Merge])
	}
	return m.SameTarget(now)
}

// SameTarget reports whether a report written under m went where now goes: the same
// endpoint, region and default pool.
func (m *Meta) SameTarget(now *Meta) error {
	if m.Region != now.Region || m.Endpoint != now.Endpoint || m.UserPoolID != now.UserPoolID {
		return fmt.Errorf("%w: it was written against %s, this run goes to %s", ErrOtherTarget, m.target(), now.target())
	}
	return nil
}
