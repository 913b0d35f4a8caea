package report

import (
	"slices"
	"sync/atomic"

	"github.com/bulklink/bulklink/input"
)

// Source yields input rows; io.EOF ends it. input.Reader implements it.
type Source interface {
	Next() (input.Row, error)
}

// Selection passes on the rows of an input that a run still has to do: those without a
// record in the report yet and, when Only is set (the input being itself a report), those
// whose prior status is one of Only.
type Selection struct {
	Src  Source
	Done *input.LineSet // lines the report holds a record of
	Only []Status
	// Skipped counts the rows Only left out; it may be read while rows are read.
	Skipped atomic.Int64
}

// Selects reports whether a row is one Only asks for.
func (s *Selection) Selects(row *input.Row) bool {
	return len(s.Only) == 0 || row.Prior != nil && slices.Contains(s.Only, row.Prior.Status)
}

func (s *Selection) Next() (input.Row, error) {
	for {
		row, err := s.Src.Next()
		if err != nil {
			return row, err
		}
		if s.Done != nil && s.Done.Has(row.Line) {
			continue
		}
		if !s.Selects(&row) {
			s.Skipped.Add(1)
			continue
		}
		return row, nil
	}
}
