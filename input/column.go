package input

import (
	"fmt"
	"strconv"
	"strings"
)

// column is what a CSV column or a flat JSON key holds.
type column uint8

const (
	extraColumn column = iota // not ours: carried through to the report
	userPoolID
	destinationProvider
	destinationUser
	sourceProvider
	sourceAttribute
	sourceValue
	priorLine   // a report's line
	priorStatus // a report's status
	reportOnly  // a report's other columns, dropped
)

// columnNames are the names of the columns, as in the input and the report.
var columnNames = [...]string{
	userPoolID:          "user_pool_id",
	destinationProvider: "destination_provider",
	destinationUser:     "destination_user",
	sourceProvider:      "source_provider",
	sourceAttribute:     "source_attribute",
	sourceValue:         "source_value",
	priorLine:           "line",
	priorStatus:         "status",
}

// columnsByName maps lower-case names to columns; names it lacks are extra columns.
var columnsByName = map[string]column{
	"user_pool_id":         userPoolID,
	"destination_provider": destinationProvider,
	"destination_user":     destinationUser,
	"source_provider":      sourceProvider,
	"source_attribute":     sourceAttribute,
	"source_value":         sourceValue,
	"line":                 priorLine,
	"status":               priorStatus,
	"error_code":           reportOnly,
	"error_message":        reportOnly,
	"attempts":             reportOnly,
	"duration_ms":          reportOnly,
	"finished_at":          reportOnly,
}

// columnOf returns the column a name stands for, ignoring case and surrounding spaces.
func columnOf(name string) column {
	name = strings.TrimSpace(name)
	if c, ok := columnsByName[name]; ok {
		return c
	}
	return columnsByName[strings.ToLower(name)]
}

func (c column) String() string { return columnNames[c] }

// isRequest reports whether the column is one of the request's fields.
func (c column) isRequest() bool { return c >= userPoolID && c <= sourceValue }

// in returns the request field the column holds.
func (c column) in(q *Request) *string {
	switch c {
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
	panic(fmt.Sprintf("input: column %d is not a request field", c))
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
	for c := userPoolID; c <= sourceValue; c++ {
		p := c.in(q)
		*p = strings.TrimSpace(*p)
	}
	if q.UserPoolID == "" {
		q.UserPoolID = strings.TrimSpace(opt.UserPoolID)
	}
	if q.DestinationProvider == "" {
		q.DestinationProvider = DefaultDestinationProvider
	}
	if q.SourceAttribute == "" {
		q.SourceAttribute = DefaultSourceAttribute
	}
	if row.Invalid == "" {
		row.Invalid = Check(q)
	}
}
