package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"
)

// Meta says which input a report belongs to. It lies beside the report as
// <report>.meta.json, written when the report is created, and lets a resumed run check that
// it continues the same work.
type Meta struct {
	Input       string   `json:"input"`
	Fingerprint string   `json:"input_fingerprint"`
	Only        []string `json:"only,omitempty"` // the statuses --only selected
	// Where the rows went: a report made against one endpoint (a rehearsal against
	// bulklink emulate) must not pass for done against another (production).
	Region     string `json:"region"`
	Endpoint   string `json:"endpoint,omitempty"` // "" for AWS's own
	UserPoolID string `json:"user_pool_id,omitempty"`
	// Partial says the fingerprint covers only the start of the input (a stream longer
	// than input.FingerprintPrefix): such a report cannot be resumed safely.
	Partial   bool      `json:"partial_fingerprint,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	Version   string    `json:"bulklink_version"`
}

// MetaPath is where the meta file of the report at path lies.
func MetaPath(report string) string { return report + ".meta.json" }

// WriteFile writes m beside the report at path.
func (m *Meta) WriteFile(report string) error {
	if err := writeJSON(MetaPath(report), m); err != nil {
		return fmt.Errorf("write report meta: %w", err)
	}
	return nil
}

// RemoveMeta removes the meta file of the report at path, if any: a report without one is
// never resumed.
func RemoveMeta(report string) error {
	err := os.Remove(MetaPath(report))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err == nil {
		err = syncDir(report)
	}
	return err
}

// ReadMeta reads the meta file of the report at path.
func ReadMeta(report string) (*Meta, error) {
	b, err := os.ReadFile(MetaPath(report))
	if err != nil {
		return nil, err
	}
	var m Meta
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", MetaPath(report), err)
	}
	return &m, nil
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
		return fmt.Errorf("%w: it was written for a stream (%s) longer than the %d bytes its fingerprint covers, so its input cannot be recognized", ErrOtherInput, m.Input, 1<<20)
	case m.Fingerprint != now.Fingerprint:
		return fmt.Errorf("%w: it was written for %s (%s), the input is %s (%s)",
			ErrOtherInput, m.Input, m.Fingerprint, now.Input, now.Fingerprint)
	case !slices.Equal(m.Only, now.Only):
		return fmt.Errorf("%w: it was written with --only %v, this run asks for %v", ErrOtherInput, m.Only, now.Only)
	case m.Region != now.Region || m.Endpoint != now.Endpoint || m.UserPoolID != now.UserPoolID:
		return fmt.Errorf("%w: it was written against %s, this run goes to %s", ErrOtherTarget, m.target(), now.target())
	}
	return nil
}
