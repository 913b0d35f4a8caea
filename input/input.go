// Package input reads link requests from CSV or JSONL, streaming, and checks each one before
// any call is made. A row that cannot be read or fails a check is returned as a Row with a
// code and a reason; the reader goes on with the next row.
//
// # Formats
//
// CSV has a header row; column names are matched case-insensitively, ignoring surrounding
// spaces, in any order. JSONL has one object per line, either with the CSV column names as keys
// or in the shape of the AWS request (UserPoolId, DestinationUser, SourceUser).
//
// # Carried columns and reports as input
//
// Columns (CSV) or keys (JSONL) that are not the request's are carried through to the report.
// The report's own column names are reserved (schema.Reserved): an input column with such a
// name is carried under another name (schema.Rename: input_status for status), so that it is
// never written twice nor taken for the report's. A bulklink report is itself a valid input:
// when a header (or an object) has both line and status, those also become the row's Prior,
// which `run --only` and `undo` select on; every report column is carried through as well.
//
// # Values
//
// Request values are trimmed of the plain spaces and tabs around them (spaces inside are
// kept), so that "a, b" exports from spreadsheets work: Cognito usernames cannot contain white
// space, and a provider name or identity that starts or ends with it is a copying mistake.
// Other white space (a no-break space, a line separator) is refused like any character that
// could make a value pass for another. An empty value takes the default:
// DefaultDestinationProvider, DefaultSourceAttribute, or Options.UserPoolID.
// A value that only looks like another (an invisible formatting character, a bidirectional
// mark, a byte order mark inside it, an unpaired surrogate, a replacement character) is
// refused, never changed: see Check. Carried columns are kept as they are, untrimmed.
//
// # Bad input
//
// Every record yields exactly one Row, with the line it starts on, and a bad record never
// makes rows out of text that is not a row. In CSV, a record ends at the first line break
// outside quotes, however many lines or bytes its quoted fields span: text inside a quoted
// field never becomes a row. A record whose quoting is broken is reported as a whole (its
// extent follows its quote characters, as every CSV reader would find it); a quoted field
// that never closes makes the rest of the input one record, reported UnterminatedQuote on the
// line where it starts, and nothing after it is linked. A record longer than MaxRecordBytes
// (JSONL: a line) is reported RecordTooLong and its bytes are skipped, not held: memory stays
// bounded by MaxRecordBytes whatever the size of the input or of one line. Blank lines are
// skipped but counted in line numbers.
//
// The CSV reader is hand-written. gocarina/gocsv, the CSV library the project started with,
// pushes decoded structs through a channel, stops at the first malformed record, numbers
// lines as if every record were one line, sets header normalisation globally and drops unknown
// columns; encoding/csv holds a record of any size whole in memory and, after a quoting error,
// goes on at the next line, where text of a broken field can pass for rows. Both would break
// the guarantees above.
package input

import (
	"strconv"
	"strings"
	"time"

	"github.com/bulklink/bulklink/schema"
)

// Defaults applied to empty request values.
const (
	DefaultDestinationProvider = "Cognito"
	DefaultSourceAttribute     = "Cognito_Subject"
)

// MaxRecordBytes bounds a record: a CSV record, whatever lines it spans, or a JSONL line.
// Longer ones are reported RecordTooLong, their bytes skipped. It also bounds what one row
// holds in memory, and so, with the rows in flight, the memory of a run.
const MaxRecordBytes = 1 << 20

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
	// Name is the name the report carries it under: the input's, or for a reserved name,
	// the name schema.Rename gives it.
	Name  string
	Value string
	// JSON marks a JSONL value that was not a string (a number, object, array, boolean):
	// Value is its compact JSON text, which a JSONL report writes back as it was.
	JSON bool
}

// Prior is what a row carried when the input is itself a bulklink report.
type Prior struct {
	Line   int           // the "line" column: the row's line in the report's input
	Status schema.Status // the "status" column
	// FinishedAt and Duration are when the row ended and how long it took, from the
	// finished_at and duration_ms columns when they read as such; zero otherwise. undo tells
	// the identity a row linked from others by them.
	FinishedAt time.Time
	Duration   time.Duration
}

// parseTimes reads a report's finished_at and duration_ms into p, leaving what does not
// parse at zero.
func (p *Prior) parseTimes(finishedAt, durationMS string) {
	if t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(finishedAt)); err == nil {
		p.FinishedAt = t
	}
	if ms, err := strconv.ParseInt(strings.TrimSpace(durationMS), 10, 64); err == nil && ms >= 0 {
		p.Duration = time.Duration(ms) * time.Millisecond
	}
}

// Row is one input record.
type Row struct {
	Line    int // 1-based line where the record starts (the CSV header is line 1)
	Request Request
	Extra   []Field // carried columns, in input order
	Prior   *Prior  // set when the input is a report
	// Code and Invalid say why the row was rejected before any call: a code of
	// schema.Codes and a message for a person. Both are empty for a valid row. The reader
	// rejects what cannot be read or sent; the plan what its pool or the rest of the input
	// forbids (package plan, whose Item carries what else it decides of the row).
	Code    schema.Code
	Invalid string
}

// Valid reports whether the row may be sent.
func (r *Row) Valid() bool { return r.Invalid == "" }

// Reject makes the row invalid, unless it is already: a row keeps the first rule it broke.
func (r *Row) Reject(code schema.Code, reason string) {
	if r.Invalid == "" {
		r.Code, r.Invalid = code, reason
	}
}

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
	// RegularOnly makes Open refuse an input that is not a regular file (a FIFO, a device,
	// standard input): one that lies beside files of its own, as the report undo reads does.
	// Without it, a stream is read once into a spool (see Source).
	RegularOnly bool
}

// Reader reads rows one at a time. It is not safe for concurrent use, but Position is.
type Reader interface {
	// Next returns the next row, or io.EOF after the last one. Any other error is a fatal
	// read error, not a problem with a row, and Next keeps returning it.
	Next() (Row, error)
	// Columns returns the names of the carried columns known up front, in header order
	// (CSV), or nil when they are only known row by row (JSONL).
	Columns() []string
	// Position returns how many bytes of the input have been read and its size, -1 when
	// it is unknown. It may be called from another goroutine while rows are read.
	Position() (read, size int64)
	// Close releases what the reader opened. It does not close readers passed in by the
	// caller.
	Close() error
}

// DestinationUsername is the destination's username in the pool: the username itself for a
// native user, <Provider>_<id> for a federated profile.
func DestinationUsername(r *Request) string {
	if r.DestinationProvider == "" || strings.EqualFold(r.DestinationProvider, DefaultDestinationProvider) {
		return r.DestinationUser
	}
	return r.DestinationProvider + "_" + r.DestinationUser
}
