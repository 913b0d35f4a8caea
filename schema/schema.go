// Package schema declares, once, the names that bulklink's files and messages share: the
// report's columns, the statuses a row can end with, and the error codes of the rows bulklink
// rejects or gives up on. Every other package derives what it needs from these tables: the
// readers their column names, the report writers their header and keys, resume the statuses
// a report may hold, the README its list of codes (a test holds it to this table).
//
// The report format is described in docs/report.md.
package schema

import "strings"

// A Column is one of the report's own columns.
type Column struct {
	Name string
	// Request marks the six columns that are also the input's: the fields of the request.
	Request bool
	// Doc says what the column holds, for docs/report.md.
	Doc string
}

// The report's own columns, by name.
const (
	ColLine                = "line"
	ColStatus              = "status"
	ColErrorCode           = "error_code"
	ColErrorMessage        = "error_message"
	ColAttempts            = "attempts"
	ColUserPoolID          = "user_pool_id"
	ColDestinationProvider = "destination_provider"
	ColDestinationUser     = "destination_user"
	ColSourceProvider      = "source_provider"
	ColSourceAttribute     = "source_attribute"
	ColSourceValue         = "source_value"
	ColDurationMS          = "duration_ms"
	ColFinishedAt          = "finished_at"
)

// Columns are the report's own columns, in the order a CSV report writes them and a JSONL
// record lists its keys. Carried-through input columns follow them.
var Columns = [...]Column{
	{Name: ColLine, Doc: "the row's line in the input: where its record starts, the CSV header being line 1"},
	{Name: ColStatus, Doc: "the row's outcome, one of the statuses"},
	{Name: ColErrorCode, Doc: "a stable, machine-readable code: why the row is invalid or failed"},
	{Name: ColErrorMessage, Doc: "what happened, for a person"},
	{Name: ColAttempts, Doc: "write calls made for the row"},
	{Name: ColUserPoolID, Request: true, Doc: "the row's user pool"},
	{Name: ColDestinationProvider, Request: true, Doc: "Cognito for a native user, else the provider of a federated destination"},
	{Name: ColDestinationUser, Request: true, Doc: "the existing user's username (or its provider's user id)"},
	{Name: ColSourceProvider, Request: true, Doc: "the identity provider of the identity to link"},
	{Name: ColSourceAttribute, Request: true, Doc: "Cognito_Subject, or a SAML/OIDC attribute of the provider's mapping"},
	{Name: ColSourceValue, Request: true, Doc: "the identity's value for that attribute"},
	{Name: ColDurationMS, Doc: "how long the row took, in milliseconds"},
	{Name: ColFinishedAt, Doc: "when the row ended, UTC, RFC 3339 with milliseconds"},
}

// The columns a report of run --merge-signed-in adds after Columns, before the carried-through
// ones: what a merged row deleted and what it linked to, empty on other rows.
const (
	ColMergedUsername = "merged_username"
	ColMergedSub      = "merged_sub"
	ColDestinationSub = "destination_sub"
)

// MergeColumns are the columns of ColMergedUsername and the others, in order.
var MergeColumns = [...]Column{
	{Name: ColMergedUsername, Doc: "run --merge-signed-in, a merged row: the username of the profile deleted (<Provider>_<id>)"},
	{Name: ColMergedSub, Doc: "its sub, which is gone with it"},
	{Name: ColDestinationSub, Doc: "the sub of the user the identity is linked to now"},
}

// ColumnNames returns the names of Columns, in order.
func ColumnNames() []string {
	names := make([]string, len(Columns))
	for i, c := range Columns {
		names[i] = c.Name
	}
	return names
}

// ExtraColumn holds, in a CSV report of a JSONL input, the input's own keys as one JSON
// object: JSONL records need not share keys, so they cannot become CSV columns.
const ExtraColumn = "extra"

// Reserved reports whether an input column or key may not keep its name in a report: the
// report's own columns, and the column that holds a JSONL input's keys in a CSV report.
// Names compare case-insensitively, ignoring surrounding spaces, as the readers match them.
func Reserved(name string) bool {
	name = strings.ToLower(strings.TrimSpace(name))
	if name == ExtraColumn {
		return true
	}
	for _, c := range Columns {
		if c.Name == name {
			return true
		}
	}
	for _, c := range MergeColumns {
		if c.Name == name {
			return true
		}
	}
	return false
}

// ReservedPrefix is put before a reserved name to carry an input's column through a report.
const ReservedPrefix = "input_"

// Rename returns the names under which input columns are carried through a report, in
// order: a name that is not reserved keeps its own, a reserved one gets ReservedPrefix, again
// and again until it is like no other name of the input and no name given before it. Names
// compare as the readers match them: case-insensitively, ignoring surrounding spaces (else
// " input_status" and the input_status given for status would be two columns of a report
// that no reader could tell apart). The names must be distinct.
func Rename(names []string) []string {
	key := func(n string) string { return strings.ToLower(strings.TrimSpace(n)) }
	taken := make(map[string]bool, len(names))
	for _, n := range names {
		if !Reserved(n) {
			taken[key(n)] = true
		}
	}
	out := make([]string, len(names))
	for i, n := range names {
		if !Reserved(n) {
			out[i] = n
			continue
		}
		for n = ReservedPrefix + strings.TrimSpace(n); taken[key(n)]; n = ReservedPrefix + n {
		}
		taken[key(n)] = true
		out[i] = n
	}
	return out
}
