package input

import (
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bulklink/bulklink/schema"
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
			want: []Row{{Line: 2, Request: linked(`a,"b"`, ""), Code: schema.MissingField, Invalid: "missing source_value"}},
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
				{Line: 2, Request: req(pool, "Cognito", "alice", "Cognito", "Cognito_Subject", "a-1"), Code: schema.CognitoSource,
					Invalid: "Cognito users cannot be a source, only a destination: source_provider must name an identity provider of the pool"},
				{Line: 3, Request: linked("bob", "b-1")},
			},
		},
		{
			name: "missing pool in a row",
			in:   header + ",alice,Okta,a-1\n",
			want: []Row{{Line: 2, Request: req("", "Cognito", "alice", "Okta", "Cognito_Subject", "a-1"), Code: schema.MissingField,
				Invalid: "missing user_pool_id (set the column or --user-pool-id)"}},
		},
		{
			name: "control character",
			in:   header + pool + ",\"al\x00ice\",Okta,a-1\n",
			want: []Row{{Line: 2, Request: linked("al\x00ice", "a-1"), Code: schema.UnreadableRow,
				Invalid: "destination_user contains control character U+0000 at character 3"}},
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
	long := strings.Repeat("x", MaxRecordBytes+1)
	bob := func(line int) Row { return Row{Line: line, Request: linked("bob", "b-1")} }
	const next = pool + ",bob,Okta,b-1\n"
	tests := []struct {
		name string
		in   string // after the header; line 2 on
		want []Row
	}{
		{"too few fields", pool + ",alice,Okta\n" + next,
			[]Row{bad(2, schema.UnreadableRow, "wrong number of fields: got 3, want 4"), bob(3)}},
		{"too many fields", pool + ",alice,Okta,a-1,\n" + next,
			[]Row{bad(2, schema.UnreadableRow, "wrong number of fields: got 5, want 4"), bob(3)}},
		{"bare quote opens nothing", pool + `,O"Brien,Okta,a-1` + "\n" + next,
			[]Row{bad(2, schema.UnreadableRow, `field 2: bare " in an unquoted field`), bob(3)}},
		{"two bare quotes open nothing", pool + `,O"Bri"en,Okta,a-1` + "\n" + next,
			[]Row{bad(2, schema.UnreadableRow, `field 2: bare " in an unquoted field`), bob(3)}},
		{"extraneous quote", pool + `,"al"ice,Okta,a-1` + "\n" + next,
			[]Row{bad(2, schema.UnreadableRow, `field 2: extraneous or missing " in a quoted field (line 2)`), bob(3)}},
		{"invalid UTF-8", pool + ",al\xffice,Okta,a-1\n" + next,
			[]Row{bad(2, schema.UnreadableRow, notUTF8Reason("field 2", CSV)), bob(3)}},
		{"invalid UTF-8 in a quoted field", pool + ",\"al\xffice\",Okta,a-1\n" + next,
			[]Row{bad(2, schema.UnreadableRow, notUTF8Reason("field 2", CSV)), bob(3)}},
		{"unterminated quote at the end", next + pool + `,"alice,Okta,a-1`,
			[]Row{bob(2), bad(3, schema.UnterminatedQuote, "the quoted field that opens on line 3 never closes: lines 3 to 3, the end of the input, are one unterminated record, and none of them is read as a row")}},
		{"an unterminated quote takes the rest of the input", pool + `,"alice,Okta,a-1` + "\n" + next + next,
			[]Row{bad(2, schema.UnterminatedQuote, "the quoted field that opens on line 2 never closes: lines 2 to 5, the end of the input, are one unterminated record, and none of them is read as a row")}},
		{"a broken quoted field whose quotes balance ends with its line", pool + `,"al"ice,Okta,a-1` + "\n" + next,
			[]Row{bad(2, schema.UnreadableRow, `field 2: extraneous or missing " in a quoted field (line 2)`), bob(3)}},
		{"a broken quoted field ends where its quotes close", pool + `,"al"ice"` + "\n" + pool + `,mallory,Okta,evil` + "\n" + `x",Okta,a-1` + "\n" + next,
			[]Row{bad(2, schema.UnreadableRow, `field 2: extraneous or missing " in a quoted field (line 2); by its quotes the record runs from line 2 to line 4, and no line of it is read as a row`), bob(5)}},
		{"a broken quoted field left open takes the rest", pool + `,"al"ice"` + "\n" + next,
			[]Row{bad(2, schema.UnterminatedQuote, "the quoted field that opens on line 2 never closes: lines 2 to 4, the end of the input, are one unterminated record, and none of them is read as a row")}},
		{"record too long", long + "\n" + next,
			[]Row{bad(2, schema.RecordTooLong, tooLongReason), bob(3)}},
		{"record too long at the end", next + long,
			[]Row{bob(2), bad(3, schema.RecordTooLong, tooLongReason)}},
		{"blank lines around", "\n\n" + pool + ",alice,Okta\n\n" + next,
			[]Row{bad(4, schema.UnreadableRow, "wrong number of fields: got 3, want 4"), bob(6)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkRows(t, readCSV(t, header+tt.in, Options{}), tt.want)
		})
	}
}

// TestCSVLongFields checks that text inside a quoted field never becomes a row, however many
// lines or bytes the field spans: a free-text column holding what looks like rows.
func TestCSVLongFields(t *testing.T) {
	const head = "destination_user,source_provider,source_value,note\n"
	injected := func(n int) string { // n lines that would each be a link if read as rows
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "victim%d,Okta,attacker%d,x\n", i, i)
		}
		return b.String()
	}
	mib := strings.Repeat("y", MaxRecordBytes)
	bob := func(line int) Row {
		return Row{Line: line, Request: linked("bob", "b-1"), Extra: []Field{{Name: "note", Value: "x"}}}
	}
	tests := []struct {
		name string
		note string // the quoted field's text, quotes doubled
		want func(lines int) []Row
	}{
		{"20 lines", injected(20), nil},
		{"1000 lines", injected(1000), nil},
		{"a field of just under 1 MiB", injected(3) + mib[:MaxRecordBytes-200], nil},
		{"a 2 MiB field", injected(3) + mib + mib, func(lines int) []Row {
			return []Row{bad(2, schema.RecordTooLong, tooLongReason), bob(2 + lines)}
		}},
		{"a 2 MiB field on one line", mib + mib, func(lines int) []Row {
			return []Row{bad(2, schema.RecordTooLong, tooLongReason), bob(2 + lines)}
		}},
		{"quotes and commas", `he said ""alice,Okta,evil""` + "\n" + injected(30), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := head + "alice,Okta,a-1,\"" + tt.note + "\"\nbob,Okta,b-1,x\n"
			lines := strings.Count(tt.note, "\n") + 1
			want := []Row{
				{Line: 2, Request: linked("alice", "a-1"), Extra: []Field{{Name: "note", Value: strings.ReplaceAll(tt.note, `""`, `"`)}}},
				bob(2 + lines),
			}
			if tt.want != nil {
				want = tt.want(lines)
			}
			checkRows(t, readCSV(t, in, Options{UserPoolID: pool}), want)
		})
	}
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
		{"no pool", "destination_user,source_provider,source_value\n", Options{}, "header on line 1: missing column user_pool_id (or set --user-pool-id)"},
		{"no pool, option", "destination_user,source_provider,source_value\n", Options{UserPoolID: pool}, ""},
		{"missing columns", "user_pool_id,destination_user\n", Options{}, "header on line 1: missing columns source_provider, source_value"},
		{"no header", pool + ",alice,Okta,a-1\n", Options{}, "missing columns user_pool_id, destination_user, source_provider, source_value (is the first line a header? want one such as destination_user,source_provider,source_value, with commas between the names)"},
		{"duplicate name", header[:len(header)-1] + ",Source_Value\n", Options{}, `header on line 1: columns 4 and 5 have the same name "source_value"`},
		{"nameless column", header[:len(header)-1] + ",\n", Options{}, "header on line 1: column 5 has no name"},
		{"bad quoting", `"user_pool_id,destination_user` + "\n", Options{}, "header on line 1: the quoted field that opens on line 1 never closes"},
		{"endless header", strings.Repeat("x", MaxRecordBytes+10), Options{}, "header on line 1: longer than 1048576 bytes: is this a CSV file?"},
		{"endless quoted header", `"` + strings.Repeat("x", MaxRecordBytes+10), Options{}, "header on line 1: longer than 1048576 bytes: is this a CSV file?"},
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
	r, err := NewCSV(strings.NewReader("b,line,destination_user,status,source_provider,A,source_value,Error_Code,finished_at,extra,input_extra\n"), Options{UserPoolID: pool})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"b", "input_line", "input_status", "A", "input_Error_Code", "input_finished_at", "input_input_extra", "input_extra"}
	if got := r.Columns(); !reflect.DeepEqual(got, want) {
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

// TestCSVReport checks that a report's columns, and any input column named like one, are
// carried under another name, and that a report's line and status also make its Prior.
func TestCSVReport(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Row
	}{
		{
			name: "line and status",
			in:   "status,LINE," + header + "linked,7," + pool + ",alice,Okta,a-1\n",
			want: []Row{{Line: 2, Request: linked("alice", "a-1"), Prior: &Prior{Line: 7, Status: "linked"},
				Extra: []Field{{Name: "input_status", Value: "linked"}, {Name: "input_LINE", Value: "7"}}}},
		},
		{
			name: "a status column without line is the user's own",
			in:   "status," + header + "active," + pool + ",alice,Okta,a-1\n",
			want: []Row{{Line: 2, Request: linked("alice", "a-1"), Extra: []Field{{Name: "input_status", Value: "active"}}}},
		},
		{
			name: "a line column without status is the user's own",
			in:   "line,attempts," + header + "x,3," + pool + ",alice,Okta,a-1\n",
			want: []Row{{Line: 2, Request: linked("alice", "a-1"), Extra: []Field{{Name: "input_line", Value: "x"}, {Name: "input_attempts", Value: "3"}}}},
		},
		{
			name: "a report of an input that had a status column",
			in:   "line,status,input_status," + header + "2,failed,active," + pool + ",alice,Okta,a-1\n",
			want: []Row{{Line: 2, Request: linked("alice", "a-1"), Prior: &Prior{Line: 2, Status: "failed"},
				Extra: []Field{{Name: "input_line", Value: "2"}, {Name: "input_input_status", Value: "failed"}, {Name: "input_status", Value: "active"}}}},
		},
		{
			name: "empty line",
			in:   "line,status," + header + ",," + pool + ",alice,Okta,a-1\n",
			want: []Row{{Line: 2, Request: linked("alice", "a-1"), Prior: &Prior{},
				Extra: []Field{{Name: "input_line"}, {Name: "input_status"}}}},
		},
		{
			name: "bad line",
			in:   "line,status," + header + "x,failed," + pool + ",alice,Okta,a-1\n0,failed," + pool + ",bob,Okta,b-1\n",
			want: []Row{
				{Line: 2, Request: linked("alice", "a-1"), Prior: &Prior{Status: "failed"}, Extra: []Field{{Name: "input_line", Value: "x"}, {Name: "input_status", Value: "failed"}},
					Code: schema.InvalidValue, Invalid: `line: want a positive integer, got "x"`},
				{Line: 3, Request: linked("bob", "b-1"), Prior: &Prior{Status: "failed"}, Extra: []Field{{Name: "input_line", Value: "0"}, {Name: "input_status", Value: "failed"}},
					Code: schema.InvalidValue, Invalid: `line: want a positive integer, got "0"`},
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
				bad(4, schema.UnreadableRow, "wrong number of fields: got 3, want 4"),
				bad(5, schema.UnreadableRow, `field 2: extraneous or missing " in a quoted field (line 5)`),
				bad(6, schema.UnreadableRow, `field 2: bare " in an unquoted field`),
				bad(7, schema.UnreadableRow, notUTF8Reason("field 2", CSV)),
				// frank's quote never closes by the grammar; grace's quote breaks it, and by its
				// quotes the record ends with grace's line: neither is read as a row.
				bad(8, schema.UnreadableRow, `field 2: extraneous or missing " in a quoted field (line 9); by its quotes the record runs from line 8 to line 9, and no line of it is read as a row`),
				bad(10, schema.UnreadableRow, `field 2: bare " in an unquoted field`),
				{Line: 11, Request: req(pool, "Cognito", "heidi", "Cognito", "Cognito_Subject", "sub-8"), Extra: []Field{{Name: "note", Value: "x"}}, Code: schema.CognitoSource,
					Invalid: "Cognito users cannot be a source, only a destination: source_provider must name an identity provider of the pool"},
				{Line: 12, Request: req(pool, "Cognito", "ivan", "Google", "Cognito_Subject", ""), Extra: []Field{{Name: "note", Value: "x"}}, Code: schema.MissingField, Invalid: "missing source_value"},
				{Line: 14, Request: req(pool, "Cognito", "judy", "SAML-Provider-Name-Longer-Than-32-Chars", "Cognito_Subject", "sub-9"), Extra: []Field{{Name: "note", Value: "x"}}, Code: schema.InvalidValue,
					Invalid: "source_provider is 39 characters long, over the 32 Cognito accepts"},
				{Line: 15, Request: req(pool, "Cognito", "ken", "Okta", "Cognito_Subject", "sub-10"), Extra: []Field{{Name: "note", Value: "last, no newline"}}},
			},
		},
		{
			file:    "report.csv",
			columns: []string{"input_line", "input_status", "input_error_code", "input_error_message", "input_attempts", "input_duration_ms", "input_finished_at", "ticket"},
			want: []Row{
				{Line: 2, Request: req(pool, "Cognito", "alice", "Google", "Cognito_Subject", "110169484474386276334"),
					Extra: reportExtra("2", "linked", "", "", "1", "84", "2026-01-02T03:04:05Z", "T-1"), Prior: &Prior{Line: 2, Status: "linked", FinishedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Duration: 84 * time.Millisecond}},
				{Line: 3, Request: req(pool, "Cognito", "zed", "Okta", "email", "zed@example.com"),
					Extra: reportExtra("4", "failed", "UserNotFoundException", "User does not exist.", "1", "51", "2026-01-02T03:04:06Z", "T-9"), Prior: &Prior{Line: 4, Status: "failed", FinishedAt: time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC), Duration: 51 * time.Millisecond}},
				{Line: 4, Request: req("", "Cognito", "", "", "Cognito_Subject", ""),
					Extra: reportExtra("3", "invalid", "", "wrong number of fields: got 4, want 6", "0", "0", "2026-01-02T03:04:05Z", ""), Prior: &Prior{Line: 3, Status: "invalid", FinishedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
					Code: schema.MissingField, Invalid: "missing user_pool_id (set the column or --user-pool-id)"},
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

// reportExtra is what a row of testdata/input/report.csv carries: its report columns, renamed,
// and its ticket.
func reportExtra(values ...string) []Field {
	names := []string{"input_line", "input_status", "input_error_code", "input_error_message", "input_attempts", "input_duration_ms", "input_finished_at", "ticket"}
	f := make([]Field, len(names))
	for i, n := range names {
		f[i] = Field{Name: n, Value: values[i]}
	}
	return f
}
