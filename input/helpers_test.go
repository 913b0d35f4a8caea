package input

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/bulklink/bulklink/schema"
)

const pool = "us-east-1_Example1"

// req builds a request from its six values, in the report's column order but for the pool.
func req(pool, destProvider, destUser, srcProvider, srcAttribute, srcValue string) Request {
	return Request{
		UserPoolID:          pool,
		DestinationProvider: destProvider,
		DestinationUser:     destUser,
		SourceProvider:      srcProvider,
		SourceAttribute:     srcAttribute,
		SourceValue:         srcValue,
	}
}

// linked is a valid request with the defaults: Cognito user user, linked to an Okta identity.
func linked(user, value string) Request {
	return req(pool, "Cognito", user, "Okta", "Cognito_Subject", value)
}

// bad is an unreadable row.
func bad(line int, code schema.Code, reason string) Row {
	return Row{Line: line, Code: code, Invalid: reason}
}

// readAll reads rows until io.EOF, failing the test on any other error.
func readAll(t testing.TB, r Reader) []Row {
	t.Helper()
	var rows []Row
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			return rows
		}
		if err != nil {
			t.Fatalf("Next after %d rows: got error %v, want a row or io.EOF", len(rows), err)
		}
		rows = append(rows, row)
		if len(rows) > 1e6 {
			t.Fatal("Next never returns io.EOF")
		}
	}
}

func readCSV(t testing.TB, in string, opt Options) []Row {
	t.Helper()
	r, err := NewCSV(strings.NewReader(in), opt)
	if err != nil {
		t.Fatalf("NewCSV: got error %v, want none", err)
	}
	return readAll(t, r)
}

func readJSONL(t testing.TB, in string, opt Options) []Row {
	t.Helper()
	return readAll(t, NewJSONL(strings.NewReader(in), opt))
}

// show formats a row for a test failure.
func show(r Row) string {
	s := fmt.Sprintf("{Line:%d Request:%+v", r.Line, r.Request)
	if r.Extra != nil {
		s += fmt.Sprintf(" Extra:%+v", r.Extra)
	}
	if r.Prior != nil {
		s += fmt.Sprintf(" Prior:%+v", *r.Prior)
	}
	if r.Invalid != "" || r.Code != "" {
		s += fmt.Sprintf(" Code:%s Invalid:%q", r.Code, r.Invalid)
	}
	return s + "}"
}

// equalRows compares rows field by field; nil and empty Extra are the same.
func equalRows(got, want Row) bool {
	if got.Line != want.Line || got.Request != want.Request || got.Invalid != want.Invalid || got.Code != want.Code {
		return false
	}
	if len(got.Extra) != len(want.Extra) {
		return false
	}
	for i := range got.Extra {
		if got.Extra[i] != want.Extra[i] {
			return false
		}
	}
	if (got.Prior == nil) != (want.Prior == nil) {
		return false
	}
	return got.Prior == nil || got.Prior.Line == want.Prior.Line && got.Prior.Status == want.Prior.Status &&
		got.Prior.FinishedAt.Equal(want.Prior.FinishedAt) && got.Prior.Duration == want.Prior.Duration
}

// checkRows reports every difference between the rows read and the rows wanted.
func checkRows(t testing.TB, got, want []Row) {
	t.Helper()
	for i := 0; i < max(len(got), len(want)); i++ {
		switch {
		case i >= len(got):
			t.Errorf("row %d: got none, want %s", i, show(want[i]))
		case i >= len(want):
			t.Errorf("row %d: got %s, want none", i, show(got[i]))
		case !equalRows(got[i], want[i]):
			t.Errorf("row %d:\ngot  %s\nwant %s", i, show(got[i]), show(want[i]))
		}
	}
}

// notUTF8Reason is the reason of a row that is not UTF-8, its first bad byte 0xFF at where.
func notUTF8Reason(where string, f Format) string {
	if f == JSONL {
		return "not UTF-8 text (byte 0xFF in " + where + "): if the file is Latin-1 or Windows-1252, convert it: iconv -f WINDOWS-1252 -t UTF-8"
	}
	return "not UTF-8 text (byte 0xFF in " + where + `): if the file is Latin-1 or Windows-1252, save it as "CSV UTF-8", or convert it: iconv -f WINDOWS-1252 -t UTF-8`
}
