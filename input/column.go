package input

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/bulklink/bulklink/schema"
)

// field is a request field: where a column or flat JSON key puts its value.
type field uint8

const (
	noField field = iota // not a request field: carried through
	userPoolID
	destinationProvider
	destinationUser
	sourceProvider
	sourceAttribute
	sourceValue
	numFields
)

// fieldNames are the request fields' column names, from the schema's table.
var fieldNames = [numFields]string{
	userPoolID:          schema.ColUserPoolID,
	destinationProvider: schema.ColDestinationProvider,
	destinationUser:     schema.ColDestinationUser,
	sourceProvider:      schema.ColSourceProvider,
	sourceAttribute:     schema.ColSourceAttribute,
	sourceValue:         schema.ColSourceValue,
}

func (f field) String() string { return fieldNames[f] }

// fieldOf returns the request field a column name stands for, ignoring case and surrounding
// spaces, or noField.
func fieldOf(name string) field {
	name = strings.ToLower(strings.TrimSpace(name))
	for f := userPoolID; f < numFields; f++ {
		if fieldNames[f] == name {
			return f
		}
	}
	return noField
}

// in returns the request field f of q.
func (f field) in(q *Request) *string {
	switch f {
	case userPoolID:
		return &q.UserPoolID
	case destinationProvider:
		return &q.DestinationProvider
	case destinationUser:
		return &q.DestinationUser
	case sourceProvider:
		return &q.SourceProvider
	case sourceAttribute:
		return &q.SourceAttribute
	case sourceValue:
		return &q.SourceValue
	}
	panic(fmt.Sprintf("input: %d is not a request field", f))
}

// isPrior reports whether a column name is one a report's Prior is read from.
func isPrior(name string) (line, status bool) {
	name = strings.ToLower(strings.TrimSpace(name))
	return name == schema.ColLine, name == schema.ColStatus
}

// parsePriorLine parses a report's line column: a positive integer, or empty for none.
func parsePriorLine(s string) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("line: want a positive integer, got %q", s)
	}
	return n, nil
}

// complete trims the request's values, applies the defaults, and checks the request of a row
// that was read. A row already invalid keeps its first reason.
func complete(row *Row, opt Options) {
	q := &row.Request
	for f := userPoolID; f < numFields; f++ {
		p := f.in(q)
		*p = trim(*p)
	}
	if q.UserPoolID == "" {
		q.UserPoolID = trim(opt.UserPoolID)
	}
	if q.DestinationProvider == "" {
		q.DestinationProvider = DefaultDestinationProvider
	}
	if q.SourceAttribute == "" {
		q.SourceAttribute = DefaultSourceAttribute
	}
	if row.Invalid == "" {
		row.Code, row.Invalid = Check(q)
	}
}

// trim removes the plain spaces and tabs around a value, as spreadsheets leave them. Other
// white space (a no-break space, a line separator) stays, for Check to refuse: a value is
// never changed beyond that.
func trim(s string) string { return strings.Trim(s, " \t") }

// namesHold says what a column name or a carried key may hold.
const namesHold = "names hold text, tabs and line breaks, and no other control character"

// nameControl returns the first control character of a column name or carried key that
// has no place there: any but the tab and the line break (LF, CR) a spreadsheet's cell may
// hold (NewCSV refuses a carriage return in a name on its own, with its likely cause). A name is text a person reads, and
// the header of a report: an escape sequence or a BEL there would act on a terminal, and
// JSON must escape them all. Only identity values are held to more (Check): a name that looks
// like another's is carried, or missing, but never taken for a request column.
func nameControl(name string) (rune, bool) {
	for _, r := range name {
		if unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' {
			return r, true
		}
	}
	return 0, false
}
