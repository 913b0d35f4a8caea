package input

import (
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
)

const header = "user_pool_id,destination_user,source_provider,source_value\n"

func TestCSV(t *testing.T) {
	withPool := Options{UserPoolID: pool}
	tests := []struct {
		name string
		in   string
		opt  Options
		want []Row
	}{
		{
			name: "defaults",
			in:   header + pool + ",alice,Okta,a-1\n",
			want: []Row{{Line: 2, Request: linked("alice", "a-1")}},
		},
		{
			name: "all columns",
			in: "user_pool_id,destination_provider,destination_user,source_provider,source_attribute,source_value\n" +
				"us-west-2_Other9,Okta,00u1,Google,Cognito_Subject,g-1\n",
			want: []Row{{Line: 2, Request: req("us-west-2_Other9", "Okta", "00u1", "Google", "Cognito_Subject", "g-1")}},
		},
		{
			name: "empty cells take the defaults",
			in: "user_pool_id,destination_provider,destination_user,source_provider,source_attribute,source_value\n" +
				",,alice,Okta,,a-1\n",
			opt:  withPool,
			want: []Row{{Line: 2, Request: linked("alice", "a-1")}},
		},
		{
			name: "pool from the options",
			in:   "destination_user,source_provider,source_value\nalice,Okta,a-1\n",
			opt:  withPool,
			want: []Row{{Line: 2, Request: linked("alice", "a-1")}},
		},
		{
			name: "pool column wins over the options",
			in:   header + "us-west-2_Other9,alice,Okta,a-1\n,bob,Okta,b-1\n",
			opt:  withPool,
			want: []Row{
				{Line: 2, Request: req("us-west-2_Other9", "Cognito", "alice", "Okta", "Cognito_Subject", "a-1")},
				{Line: 3, Request: linked("bob", "b-1")},
			},
		},
		{
			name: "names in any case and order, with spaces",
			in:   " SOURCE_VALUE ,Source_Provider,User_Pool_Id,\tDestination_User\na-1,Okta," + pool + ",alice\n",
			want: []Row{{Line: 2, Request: linked("alice", "a-1")}},
		},
		{
			name: "extras carried through in header order, untrimmed",
			in:   "Ticket,destination_user,source_provider, Note ,source_value\nT-1, alice ,Okta, keep me ,a-1\n",
			opt:  withPool,
			want: []Row{{
				Line:    2,
				Request: linked("alice", "a-1"),
				Extra:   []Field{{Name: "Ticket", Value: "T-1"}, {Name: " Note ", Value: " keep me "}},
			}},
		},
		{
			name: "values trimmed, inner spaces kept",
			in:   header + " " + pool + " ,\t al ice\t, Okta ,\" a-1 \"\n",
			want: []Row{{Line: 2, Request: linked("al ice", "a-1")}},
		},
		{
			name: "quoted fields",
			in:   header + `"` + pool + `","a,""b""",Okta,""` + "\n",
			want: []Row{{Line: 2, Request: linked(`a,"b"`, ""), Invalid: "missing source_value"}},
		},
		{
			name: "quoted field across lines",
			in:   "destination_user,source_provider,source_value,note\nalice,Okta,a-1,\"one\r\ntwo\n\nthree\"\nbob,Okta,b-1,x\n",
			opt:  withPool,
			want: []Row{
				{Line: 2, Request: linked("alice", "a-1"), Extra: []Field{{Name: "note", Value: "one\ntwo\n\nthree"}}},
				{Line: 6, Request: linked("bob", "b-1"), Extra: []Field{{Name: "note", Value: "x"}}},
			},
		},
		{
			name: "BOM, CRLF, blank lines, no final newline",
			in:   "\uFEFF\r\n" + strings.ReplaceAll(header, "\n", "\r\n") + "\r\n" + pool + ",alice,Okta,a-1\r\n \t\r\n\r\n" + pool + ",bob,Okta,b-1",
			want: []Row{
				{Line: 4, Request: linked("alice", "a-1")},
				{Line: 7, Request: linked("bob", "b-1")},
			},
		},
		{
			name: "header only",
			in:   header,
		},
		{
			name: "check failure keeps the values",
			in:   header + pool + ",alice,Cognito,a-1\n" + pool + ",bob,Okta,b-1\n",
			want: []Row{
				{Line: 2, Request: req(pool, "Cognito", "alice", "Cognito", "Cognito_Subject", "a-1"),
					Invalid: "Cognito users cannot be a source, only a destination: source_provider must name an identity provider of the pool"},
				{Line: 3, Request: linked("bob", "b-1")},
			},
		},
		{
			name: "missing pool in a row",
			in:   header + ",alice,Okta,a-1\n",
			want: []Row{{Line: 2, Request: req("", "Cognito", "alice", "Okta", "Cognito_Subject", "a-1"),
				Invalid: "missing user_pool_id (set the column or --user-pool-id)"}},
		},
		{
			name: "control character",
			in:   header + pool + ",\"al\x00ice\",Okta,a-1\n",
			want: []Row{{Line: 2, Request: linked("al\x00ice", "a-1"), Invalid: "destination_user contains control character U+0000"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkRows(t, readCSV(t, tt.in, tt.opt), tt.want)
		})
	}
}

// TestCSVUnreadable checks that each kind of unreadable record is reported on its line and
// that the records after it are read.
func TestCSVUnreadable(t *testing.T) {
	long := strings.Repeat("x", MaxLineBytes+1)
	bob := func(line int) Row { return Row{Line: line, Request: linked("bob", "b-1")} }
	tests := []struct {
		name string
		in   string // after the header; line 2 on
		want []Row
	}{
		{"too few fields", pool + ",alice,Okta\n" + pool + ",bob,Okta,b-1\n",
			[]Row{bad(2, "wrong number of fields: got 3, want 4"), bob(3)}},
		{"too many fields", pool + ",alice,Okta,a-1,\n" + pool + ",bob,Okta,b-1\n",
			[]Row{bad(2, "wrong number of fields: got 5, want 4"), bob(3)}},
		{"bare quote", pool + `,al"ice,Okta,a-1` + "\n" + pool + ",bob,Okta,b-1\n",
			[]Row{bad(2, `field 2: bare " in unquoted field`), bob(3)}},
		{"extraneous quote", pool + `,"al"ice,Okta,a-1` + "\n" + pool + ",bob,Okta,b-1\n",
			[]Row{bad(2, `field 2: extraneous or missing " in quoted field`), bob(3)}},
		{"invalid UTF-8", pool + ",al\xffice,Okta,a-1\n" + pool + ",bob,Okta,b-1\n",
			[]Row{bad(2, "invalid UTF-8"), bob(3)}},
		{"invalid UTF-8 in a quoted field", pool + ",\"al\xffice\",Okta,a-1\n" + pool + ",bob,Okta,b-1\n",
			[]Row{bad(2, "invalid UTF-8"), bob(3)}},
		{"unterminated quote at the end", pool + ",bob,Okta,b-1\n" + pool + `,"alice,Okta,a-1`,
			[]Row{bob(2), bad(3, "field 2: unterminated quoted field")}},
		{"unterminated quote", pool + `,"alice,Okta,a-1` + "\n" + pool + ",bob,Okta,b-1\n",
			[]Row{bad(2, "field 2: unterminated quoted field"), bob(3)}},
		{"unterminated quote, then a quoted field", pool + `,"alice,Okta,a-1` + "\n" + `x,"y",z` + "\n" + pool + ",bob,Okta,b-1\n",
			[]Row{bad(2, "field 2: unterminated quoted field"), bad(3, "wrong number of fields: got 3, want 4"), bob(4)}},
		{"quote closed on the next line, wrong number of fields", pool + `,"alice,Okta,a-1` + "\n" + `x",y` + "\n" + pool + ",bob,Okta,b-1\n",
			[]Row{bad(2, "field 2: unterminated quoted field"), bad(3, `field 1: bare " in unquoted field`), bob(4)}},
		{"line too long", long + "\n" + pool + ",bob,Okta,b-1\n",
			[]Row{bad(2, tooLongReason), bob(3)}},
		{"line too long at the end", pool + ",bob,Okta,b-1\n" + long,
			[]Row{bob(2), bad(3, tooLongReason)}},
		{"line too long in a quoted field", pool + `,"alice,Okta,a-1` + "\n" + long + "\n" + pool + ",bob,Okta,b-1\n",
			[]Row{bad(2, "field 2: unterminated quoted field"), bad(3, tooLongReason), bob(4)}},
		{"blank lines around", "\n\n" + pool + ",alice,Okta\n\n" + pool + ",bob,Okta,b-1\n",
			[]Row{bad(4, "wrong number of fields: got 3, want 4"), bob(6)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkRows(t, readCSV(t, header+tt.in, Options{}), tt.want)
		})
	}
}

// TestCSVBounds checks the bounds on records that span lines: a quoted field left open does not
// swallow the rest of the file.
func TestCSVBounds(t *testing.T) {
	var b strings.Builder
	b.WriteString(header)
	b.WriteString(pool + `,"alice,Okta,a-1` + "\n") // line 2: never closed
	for i := range 40 {
		fmt.Fprintf(&b, "%s,u%d,Okta,v%d\n", pool, i, i)
	}
	want := []Row{bad(2, "field 2: unterminated quoted field")}
	for i := range 40 {
		want = append(want, Row{Line: 3 + i, Request: linked(fmt.Sprint("u", i), fmt.Sprint("v", i))})
	}
	checkRows(t, readCSV(t, b.String(), Options{}), want)

	t.Run("most lines", func(t *testing.T) {
		in := "destination_user,source_provider,source_value,note\nalice,Okta,a-1,\"" + strings.Repeat("\n", MaxRecordLines-1) + "\"\n"
		rows := readCSV(t, in, Options{UserPoolID: pool})
		checkRows(t, rows, []Row{{Line: 2, Request: linked("alice", "a-1"), Extra: []Field{{Name: "note", Value: strings.Repeat("\n", MaxRecordLines-1)}}}})
	})
	t.Run("one line too many", func(t *testing.T) {
		in := "destination_user,source_provider,source_value,note\nalice,Okta,a-1,\"" + strings.Repeat("\n", MaxRecordLines) + "\"\n"
		rows := readCSV(t, in, Options{UserPoolID: pool})
		want := []Row{bad(2, "field 4: unterminated quoted field"), bad(2+MaxRecordLines, "field 1: unterminated quoted field")}
		checkRows(t, rows, want)
	})
	t.Run("most bytes", func(t *testing.T) {
		half := strings.Repeat("x", MaxLineBytes/2)
		in := "destination_user,source_provider,source_value,note\nalice,Okta,a-1,\"" + half + "\n" + half + "\"\nbob,Okta,b-1,x\n"
		rows := readCSV(t, in, Options{UserPoolID: pool})
		want := []Row{bad(2, "field 4: unterminated quoted field"), bad(3, `field 1: bare " in unquoted field`),
			{Line: 4, Request: linked("bob", "b-1"), Extra: []Field{{Name: "note", Value: "x"}}}}
		checkRows(t, rows, want)
	})
}

func TestCSVHeader(t *testing.T) {
	tests := []struct {
		name string
		in   string
		opt  Options
		want string // in the error; "" for none
	}{
		{"empty", "", Options{}, "empty input: want a header row"},
		{"blank lines only", "\n \r\n\n", Options{}, "empty input: want a header row"},
		{"BOM only", "\uFEFF", Options{}, "empty input: want a header row"},
		{"no pool", "destination_user,source_provider,source_value\n", Options{}, "header on line 1: missing columns user_pool_id (or set --user-pool-id)"},
		{"no pool, option", "destination_user,source_provider,source_value\n", Options{UserPoolID: pool}, ""},
		{"missing columns", "user_pool_id,destination_user\n", Options{}, "header on line 1: missing columns source_provider, source_value"},
		{"no header", pool + ",alice,Okta,a-1\n", Options{}, "missing columns user_pool_id, destination_user, source_provider, source_value (is the first line a header?)"},
		{"duplicate name", header[:len(header)-1] + ",Source_Value\n", Options{}, `header on line 1: columns 4 and 5 have the same name "source_value"`},
		{"nameless column", header[:len(header)-1] + ",\n", Options{}, "header on line 1: column 5 has no name"},
		{"bad quoting", `"user_pool_id,destination_user` + "\n", Options{}, "header on line 1: field 1: unterminated quoted field"},
		{"header after blank lines", "\n\n" + header, Options{}, ""},
		{"bad pool option", header, Options{UserPoolID: "nope"}, `invalid user pool id "nope"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewCSV(strings.NewReader(tt.in), tt.opt)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("got error %q, want none", err)
			case tt.want != "" && err == nil:
				t.Errorf("got no error, want %q", tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Errorf("got error %q, want %q", err, tt.want)
			}
		})
	}
}

func TestCSVColumns(t *testing.T) {
	r, err := NewCSV(strings.NewReader("b,line,destination_user,status,source_provider,A,source_value,error_code,finished_at\n"), Options{UserPoolID: pool})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.Columns(), []string{"b", "A"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Columns: got %q, want %q", got, want)
	}
	r, err = NewCSV(strings.NewReader(header), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Columns(); len(got) != 0 {
		t.Errorf("Columns: got %q, want none", got)
	}
}

func TestCSVReport(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Row
	}{
		{
			name: "line and status",
			in:   "status,LINE," + header + "linked,7," + pool + ",alice,Okta,a-1\n",
			want: []Row{{Line: 2, Request: linked("alice", "a-1"), Prior: &Prior{Line: 7, Status: "linked"}}},
		},
		{
			name: "a status column without line is the user's own",
			in:   "status," + header + "active," + pool + ",alice,Okta,a-1\n",
			want: []Row{{Line: 2, Request: linked("alice", "a-1"), Extra: []Field{{Name: "status", Value: "active"}}}},
		},
		{
			name: "a line column without status is the user's own",
			in:   "line,attempts," + header + "x,3," + pool + ",alice,Okta,a-1\n",
			want: []Row{{Line: 2, Request: linked("alice", "a-1"), Extra: []Field{{Name: "line", Value: "x"}, {Name: "attempts", Value: "3"}}}},
		},
		{
			name: "empty line",
			in:   "line,status," + header + ",," + pool + ",alice,Okta,a-1\n",
			want: []Row{{Line: 2, Request: linked("alice", "a-1"), Prior: &Prior{}}},
		},
		{
			name: "bad line",
			in:   "line,status," + header + "x,failed," + pool + ",alice,Okta,a-1\n0,failed," + pool + ",bob,Okta,b-1\n",
			want: []Row{
				{Line: 2, Request: linked("alice", "a-1"), Prior: &Prior{Status: "failed"}, Invalid: `line: want a positive integer, got "x"`},
				{Line: 3, Request: linked("bob", "b-1"), Prior: &Prior{Status: "failed"}, Invalid: `line: want a positive integer, got "0"`},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkRows(t, readCSV(t, tt.in, Options{}), tt.want)
		})
	}
}

func TestCSVTestdata(t *testing.T) {
	tests := []struct {
		file    string
		opt     Options
		columns []string
		want    []Row
	}{
		{
			file:    "clean.csv",
			opt:     Options{UserPoolID: "eu-west-1_Default1"},
			columns: []string{"ticket"},
			want: []Row{
				{Line: 2, Request: req(pool, "Cognito", "alice", "Google", "Cognito_Subject", "110169484474386276334"), Extra: []Field{{Name: "ticket", Value: "T-1"}}},
				{Line: 3, Request: req(pool, "Cognito", "bob", "Okta", "email", "bob@example.com"), Extra: []Field{{Name: "ticket", Value: "T-2"}}},
				{Line: 4, Request: req(pool, "Cognito", "carol", "Facebook", "Cognito_Subject", "10158012345678901"), Extra: []Field{{Name: "ticket", Value: "T-3"}}},
				{Line: 5, Request: req("eu-west-1_Default1", "Cognito", "dave", "Okta", "Cognito_Subject", "00u1abcd2EFGH3ijk4l5"), Extra: []Field{{Name: "ticket", Value: "T-4"}}},
			},
		},
		{
			file:    "messy.csv",
			opt:     Options{UserPoolID: pool},
			columns: []string{"note"},
			want: []Row{
				{Line: 2, Request: req(pool, "Cognito", "alice", "Google", "Cognito_Subject", "sub-1"), Extra: []Field{{Name: "note", Value: "ok"}}},
				bad(4, "wrong number of fields: got 3, want 4"),
				bad(5, `field 2: extraneous or missing " in quoted field`),
				bad(6, `field 2: bare " in unquoted field`),
				bad(7, "invalid UTF-8"),
				bad(8, "field 2: unterminated quoted field"),
				{Line: 9, Request: req(pool, "Cognito", "grace", "Google", "Cognito_Subject", "sub-7"), Extra: []Field{{Name: "note", Value: "two\nlines, \"quoted\""}}},
				{Line: 11, Request: req(pool, "Cognito", "heidi", "Cognito", "Cognito_Subject", "sub-8"), Extra: []Field{{Name: "note", Value: "x"}},
					Invalid: "Cognito users cannot be a source, only a destination: source_provider must name an identity provider of the pool"},
				{Line: 12, Request: req(pool, "Cognito", "ivan", "Google", "Cognito_Subject", ""), Extra: []Field{{Name: "note", Value: "x"}}, Invalid: "missing source_value"},
				{Line: 14, Request: req(pool, "Cognito", "judy", "SAML-Provider-Name-Longer-Than-32-Chars", "Cognito_Subject", "sub-9"), Extra: []Field{{Name: "note", Value: "x"}},
					Invalid: "source_provider is 39 characters long, over the 32 Cognito accepts"},
				{Line: 15, Request: req(pool, "Cognito", "ken", "Okta", "Cognito_Subject", "sub-10"), Extra: []Field{{Name: "note", Value: "last, no newline"}}},
			},
		},
		{
			file:    "report.csv",
			columns: []string{"ticket"},
			want: []Row{
				{Line: 2, Request: req(pool, "Cognito", "alice", "Google", "Cognito_Subject", "110169484474386276334"),
					Extra: []Field{{Name: "ticket", Value: "T-1"}}, Prior: &Prior{Line: 2, Status: "linked"}},
				{Line: 3, Request: req(pool, "Cognito", "zed", "Okta", "email", "zed@example.com"),
					Extra: []Field{{Name: "ticket", Value: "T-9"}}, Prior: &Prior{Line: 4, Status: "failed"}},
				{Line: 4, Request: req("", "Cognito", "", "", "Cognito_Subject", ""),
					Extra: []Field{{Name: "ticket", Value: ""}}, Prior: &Prior{Line: 3, Status: "invalid"}, Invalid: "missing user_pool_id (set the column or --user-pool-id)"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f, err := os.Open("../testdata/input/" + tt.file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			r, err := NewCSV(f, tt.opt)
			if err != nil {
				t.Fatalf("NewCSV: got error %v, want none", err)
			}
			if got := r.Columns(); !reflect.DeepEqual(got, tt.columns) {
				t.Errorf("Columns: got %q, want %q", got, tt.columns)
			}
			checkRows(t, readAll(t, r), tt.want)
		})
	}
}
