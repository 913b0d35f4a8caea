// Package input reads link requests from CSV or JSONL, streaming, and checks each one before
// any call is made. A row that cannot be read or fails a check is returned as a Row with a
// reason in Invalid; the reader goes on with the next row.
//
// # Formats
//
// CSV has a header row; column names are matched case-insensitively, ignoring surrounding
// spaces, in any order. JSONL has one object per line, either with the CSV column names as keys
// or in the shape of the AWS request (UserPoolId, DestinationUser, SourceUser). A bulklink
// report is itself a valid input: its line and status columns become the row's Prior, its other
// report-only columns are dropped, and its carried-through columns stay extras. An input is
// taken for a report only when it has both line and status; elsewhere, columns that happen
// to share a report column's name are the user's own, carried through.
//
// # Values
//
// Request values are trimmed of surrounding white space (spaces inside are kept), so that
// "a, b" exports from spreadsheets work: Cognito usernames cannot contain white space, and a
// provider name or identity that starts or ends with it is a copying mistake. An empty value takes the
// default: DefaultDestinationProvider, DefaultSourceAttribute, or Options.UserPoolID. Extra
// columns are carried through unchanged, untrimmed.
//
// # Bad input
//
// Every record yields exactly one Row, and a bad record never takes the following ones down with
// it. A record that cannot be read (bad quoting, wrong number of fields, bad JSON, invalid UTF-8,
// a line over MaxLineBytes) has only Line and Invalid set. In CSV, a quoted field may run across
// line breaks, but only while the record stays well-formed and within MaxRecordLines lines and
// MaxLineBytes bytes; otherwise its first line is reported as an unterminated quoted field and
// reading resumes on the next line. Empty lines are skipped but counted in line numbers. Memory
// stays bounded by the longest accepted record whatever the size of the input.
//
// The CSV reader is hand-written rather than built on gocarina/gocsv, the CSV library the
// project started with: gocsv pushes decoded structs through a channel, stops at the first malformed
// record, numbers lines as if every record were one line, sets header normalisation globally,
// and drops unknown columns, all of which this package must avoid.
package input

// Defaults applied to empty request values.
const (
	DefaultDestinationProvider = "Cognito"
	DefaultSourceAttribute     = "Cognito_Subject"
)

// Bounds on what the readers accept; larger records are reported as invalid rows.
const (
	MaxLineBytes   = 1 << 20 // longest line, and longest CSV record spread over several lines
	MaxRecordLines = 16      // most lines one CSV record may span
)

// Request is one AdminLinkProviderForUser request, flattened into the columns of the input
// format. Defaults (destination provider, source attribute, pool) are already applied.
type Request struct {
	UserPoolID          string
	DestinationProvider string
	DestinationUser     string
	SourceProvider      string
	SourceAttribute     string
	SourceValue         string
}

// Field is an input column bulklink does not use; it is carried through to the report.
type Field struct {
	Name  string
	Value string
	// JSON marks a JSONL value that was not a string (a number, object, array, boolean):
	// Value is its compact JSON text, which a JSONL report writes back as it was.
	JSON bool
}

// Prior is what a row carried when the input is itself a bulklink report.
type Prior struct {
	Line   int    // the "line" column: the row's line in the original input
	Status string // the "status" column
}

// Row is one input record.
type Row struct {
	Line    int // 1-based line where the record starts (the CSV header is line 1)
	Request Request
	Extra   []Field // unknown columns, in input order
	Prior   *Prior  // set when the input carries report columns
	Invalid string  // why the row was rejected before any call; "" when valid
}

// Valid reports whether the row may be sent.
func (r *Row) Valid() bool { return r.Invalid == "" }

// Format is an input format.
type Format string

// The input formats.
const (
	CSV   Format = "csv"
	JSONL Format = "jsonl"
)

// Options tells a reader how to read its input.
type Options struct {
	// Format is the input's format. Open infers it from the path when empty; reading standard
	// input needs it.
	Format Format
	// UserPoolID is the pool of rows that name none (the --user-pool-id flag).
	UserPoolID string
}

// Reader reads rows one at a time. It is not safe for concurrent use.
type Reader interface {
	// Next returns the next row, or io.EOF after the last one. Any other error is a fatal
	// read error, not a problem with a row, and Next keeps returning it.
	Next() (Row, error)
	// Columns returns the names of the extra columns known up front, in header order (CSV), or
	// nil when they are only known row by row (JSONL).
	Columns() []string
	// Close releases what the reader opened. It does not close readers passed in by the caller.
	Close() error
}

// nopCloser gives the format readers, which own nothing, their Close method.
type nopCloser struct{}

func (nopCloser) Close() error { return nil }
