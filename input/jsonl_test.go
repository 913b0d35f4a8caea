package input

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/bulklink/bulklink/schema"
)

func TestJSONL(t *testing.T) {
	const flat = `"user_pool_id":"` + pool + `","destination_user":"alice","source_provider":"Okta","source_value":"a-1"`
	tests := []struct {
		name string
		in   string
		opt  Options
		want []Row
	}{
		{
			name: "flat with defaults",
			in:   "{" + flat + "}\n",
			want: []Row{{Line: 1, Request: linked("alice", "a-1")}},
		},
		{
			name: "flat, all keys, any case",
			in:   `{"USER_POOL_ID":"us-west-2_Other9","Destination_Provider":"Okta","destination_user":"00u1","Source_Provider":"Google","source_attribute":"Cognito_Subject","source_value":"g-1"}`,
			want: []Row{{Line: 1, Request: req("us-west-2_Other9", "Okta", "00u1", "Google", "Cognito_Subject", "g-1")}},
		},
		{
			name: "AWS shape",
			in: `{"UserPoolId":"` + pool + `","DestinationUser":{"ProviderName":"Cognito","ProviderAttributeName":"ignored","ProviderAttributeValue":"alice"},` +
				`"SourceUser":{"ProviderName":"Okta","ProviderAttributeName":"email","ProviderAttributeValue":"a@example.com"}}`,
			want: []Row{{Line: 1, Request: req(pool, "Cognito", "alice", "Okta", "email", "a@example.com")}},
		},
		{
			name: "AWS shape, empty values and nulls take the defaults",
			in: `{"UserPoolId":"","DestinationUser":{"ProviderName":"","ProviderAttributeName":null,"ProviderAttributeValue":"alice"},` +
				`"SourceUser":{"ProviderName":"Okta","ProviderAttributeName":null,"ProviderAttributeValue":"a-1"}}`,
			opt:  Options{UserPoolID: pool},
			want: []Row{{Line: 1, Request: linked("alice", "a-1")}},
		},
		{
			name: "pool from the options",
			in:   `{"destination_user":"alice","source_provider":"Okta","source_value":"a-1","user_pool_id":null}`,
			opt:  Options{UserPoolID: pool},
			want: []Row{{Line: 1, Request: linked("alice", "a-1")}},
		},
		{
			name: "values trimmed, escapes decoded",
			in:   `{"user_pool_id":" ` + pool + ` ","destination_user":" al\u0020ice\t","source_provider":"Okta","source_value":"a\"1"}`,
			want: []Row{{Line: 1, Request: linked("al ice", `a"1`)}},
		},
		{
			name: "extras in order of appearance",
			in:   `{"zeta":"z","destination_user":"alice","num":1.50,"obj":{ "a" : [1, 2] },"source_provider":"Okta","t":true,"n":null,"s":" x ","user_pool_id":"` + pool + `","source_value":"a-1"}`,
			want: []Row{{Line: 1, Request: linked("alice", "a-1"), Extra: []Field{
				{Name: "zeta", Value: "z"}, {Name: "num", Value: "1.50", JSON: true}, {Name: "obj", Value: `{"a":[1,2]}`, JSON: true},
				{Name: "t", Value: "true", JSON: true}, {Name: "n", Value: "null", JSON: true}, {Name: "s", Value: " x "},
			}}},
		},
		{
			name: "report keys",
			in: `{"line":12,"status":"failed","error_code":"UserNotFoundException","error_message":"User does not exist.","attempts":1,` + flat +
				`,"duration_ms":51,"finished_at":"2026-01-02T03:04:05Z","ticket":"T-1"}` + "\n" +
				`{"line":"13","status":null,` + flat + "}\n" +
				`{"line":null,"status":null,` + flat + "}\n" +
				"{" + flat + "}\n" +
				`{"status":"active","attempts":3,` + flat + "}\n",
			want: []Row{
				{Line: 1, Request: linked("alice", "a-1"), Prior: &Prior{Line: 12, Status: "failed",
					FinishedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Duration: 51 * time.Millisecond}, Extra: []Field{
					{Name: "input_line", Value: "12", JSON: true}, {Name: "input_status", Value: "failed"},
					{Name: "input_error_code", Value: "UserNotFoundException"}, {Name: "input_error_message", Value: "User does not exist."},
					{Name: "input_attempts", Value: "1", JSON: true}, {Name: "input_duration_ms", Value: "51", JSON: true},
					{Name: "input_finished_at", Value: "2026-01-02T03:04:05Z"}, {Name: "ticket", Value: "T-1"}}},
				{Line: 2, Request: linked("alice", "a-1"), Prior: &Prior{Line: 13}, Extra: []Field{{Name: "input_line", Value: "13"}, {Name: "input_status", Value: "null", JSON: true}}},
				{Line: 3, Request: linked("alice", "a-1"), Prior: &Prior{}, Extra: []Field{{Name: "input_line", Value: "null", JSON: true}, {Name: "input_status", Value: "null", JSON: true}}},
				{Line: 4, Request: linked("alice", "a-1")},
				// Without both line and status, these keys are not a report's: carried all the same.
				{Line: 5, Request: linked("alice", "a-1"), Extra: []Field{{Name: "input_status", Value: "active"}, {Name: "input_attempts", Value: "3", JSON: true}}},
			},
		},
		{
			name: "blank lines skipped and counted",
			in:   "\n  \t\r\n{" + flat + "}\r\n\n{" + flat + "}",
			want: []Row{{Line: 3, Request: linked("alice", "a-1")}, {Line: 5, Request: linked("alice", "a-1")}},
		},
		{
			name: "BOM",
			in:   "\uFEFF{" + flat + "}\n",
			want: []Row{{Line: 1, Request: linked("alice", "a-1")}},
		},
		{
			name: "check failure keeps the values",
			in:   `{"user_pool_id":"` + pool + `","destination_user":"alice","source_provider":"cognito","source_value":"a-1"}`,
			want: []Row{{Line: 1, Request: req(pool, "Cognito", "alice", "cognito", "Cognito_Subject", "a-1"), Code: schema.CognitoSource,
				Invalid: "Cognito users cannot be a source, only a destination: source_provider must name an identity provider of the pool"}},
		},
		{
			name: "reserved keys renamed past the input's own",
			in:   `{"extra":1,"input_extra":2,"Error_Code":"x",` + flat + "}\n",
			want: []Row{{Line: 1, Request: linked("alice", "a-1"), Extra: []Field{
				{Name: "input_input_extra", Value: "1", JSON: true}, {Name: "input_extra", Value: "2", JSON: true}, {Name: "input_Error_Code", Value: "x"}}}},
		},
		{
			name: "empty input",
			in:   "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkRows(t, readJSONL(t, tt.in, tt.opt), tt.want)
		})
	}
}

// TestJSONLInvalid checks the rows refused for their JSON, each followed by a good one.
func TestJSONLInvalid(t *testing.T) {
	const good = `{"destination_user":"bob","source_provider":"Okta","source_value":"b-1"}`
	const v = `"destination_user":"alice","source_provider":"Okta","source_value":"a-1"`
	tests := []struct {
		name    string
		in      string
		code    schema.Code
		want    string
		request bool // the values were read
	}{
		{"truncated", `{"destination_user":"alice"`, schema.UnreadableRow, "bad JSON: unexpected end of line", false},
		{"syntax", `{"destination_user":alice}`, schema.UnreadableRow, "bad JSON: invalid character 'a' looking for beginning of value", false},
		{"not an object", `["alice"]`, schema.UnreadableRow, "bad JSON: want an object, got array", false},
		{"a string", `"alice"`, schema.UnreadableRow, "bad JSON: want an object, got string", false},
		{"a number", `42`, schema.UnreadableRow, "bad JSON: want an object, got number", false},
		{"trailing data", "{" + v + "} {}", schema.UnreadableRow, "bad JSON: unexpected data after the object", false},
		{"trailing garbage", "{" + v + "},", schema.UnreadableRow, "bad JSON: unexpected data after the object", false},
		{"invalid UTF-8", `{"destination_user":"al` + "\xff" + `ice"}`, schema.UnreadableRow, notUTF8Reason("column 24", JSONL), false},
		{"too long", `{"x":"` + strings.Repeat("x", MaxRecordBytes) + `"}`, schema.RecordTooLong, tooLongReason, false},
		{"number for a string", `{"destination_user":42,"source_provider":"Okta","source_value":"a-1"}`, schema.UnreadableRow, "destination_user: want a string, got number", true},
		{"object for a string", `{"destination_user":{},"source_provider":"Okta","source_value":"a-1"}`, schema.UnreadableRow, "destination_user: want a string, got object", true},
		{"string for a user", `{"DestinationUser":"alice","source_provider":"Okta","source_value":"a-1"}`, schema.UnreadableRow, "DestinationUser: want an object, got string", true},
		{"number in a user", `{"DestinationUser":{"ProviderAttributeValue":1},"source_provider":"Okta","source_value":"a-1"}`, schema.UnreadableRow, "DestinationUser.ProviderAttributeValue: want a string, got number", true},
		{"ignored attribute still typed", `{"DestinationUser":{"ProviderAttributeName":[],"ProviderAttributeValue":"alice"},"source_provider":"Okta","source_value":"a-1"}`, schema.UnreadableRow, "DestinationUser.ProviderAttributeName: want a string, got array", true},
		{"unknown key in a user", `{"destination_user":"alice","SourceUser":{"ProviderName":"Okta","Nick":"x"},"source_value":"a-1"}`, schema.UnreadableRow, `SourceUser: unknown key "Nick"`, true},
		{"given twice", "{" + v + `,"Source_Value":"a-2"}`, schema.UnreadableRow, "source_value given twice", true},
		{"given twice, both shapes", "{" + v + `,"SourceUser":{"ProviderName":"Okta"}}`, schema.UnreadableRow, "source_provider given twice", true},
		{"extra given twice", "{" + v + `,"x":1,"X":2}`, schema.UnreadableRow, `key "X" given twice`, true},
		{"line not a number", "{" + v + `,"line":true,"status":"failed"}`, schema.InvalidValue, "line: want a number, got boolean", true},
		{"line not an integer", "{" + v + `,"line":1.5,"status":"failed"}`, schema.InvalidValue, `line: want a positive integer, got "1.5"`, true},
		{"status not a string", "{" + v + `,"line":2,"status":1}`, schema.UnreadableRow, "status: want a string, got number", true},
		{"a report's times of any kind", "{" + v + `,"line":2,"status":"failed","finished_at":5,"duration_ms":"x","destination_user":1}`, schema.UnreadableRow, "destination_user: want a string, got number", true},
		{"control character", `{"destination_user":"al\u0007ice","source_provider":"Okta","source_value":"a-1"}`, schema.UnreadableRow, "destination_user contains control character U+0007 at character 3", true},
		{"unpaired high surrogate", `{"destination_user":"al\ud800ice","source_provider":"Okta","source_value":"a-1"}`, schema.UnreadableRow,
			`unpaired surrogate \ud800 in a JSON string: it stands for no character, and decoding would turn it into U+FFFD`, false},
		{"unpaired low surrogate", `{"destination_user":"alice","source_provider":"Okta","source_value":"\uDC00"}`, schema.UnreadableRow,
			`unpaired surrogate \uDC00 in a JSON string: it stands for no character, and decoding would turn it into U+FFFD`, false},
		{"high surrogate at the end of a string", `{"destination_user":"alice","source_provider":"Okta","source_value":"a\ud83d"}`, schema.UnreadableRow,
			`unpaired surrogate \ud83d in a JSON string: it stands for no character, and decoding would turn it into U+FFFD`, false},
		{"zero-width joiner escaped", `{"destination_user":"al\u200dice","source_provider":"Okta","source_value":"a-1"}`, schema.UnreadableRow,
			"destination_user contains zero-width character U+200D at character 3", true},
		{"bidi override raw", "{\"destination_user\":\"alice\",\"source_provider\":\"Okta\",\"source_value\":\"\u202e1-a\"}", schema.UnreadableRow,
			"source_value contains bidirectional mark U+202E at character 1", true},
		{"a surrogate pair is a character", `{"destination_user":"alice\ud83d\ude00","source_provider":"Okta","source_value":"a-1"}`, "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows := readJSONL(t, tt.in+"\n"+good+"\n", Options{UserPoolID: pool})
			if len(rows) != 2 {
				t.Fatalf("got %d rows, want 2", len(rows))
			}
			if got := rows[0]; got.Line != 1 || got.Invalid != tt.want || got.Code != tt.code {
				t.Errorf("got line %d, %s %q; want line 1, %s %q", got.Line, got.Code, got.Invalid, tt.code, tt.want)
			}
			if got, want := rows[0].Request.SourceProvider != "", tt.request; got != want {
				t.Errorf("got request %+v, want values read: %v", rows[0].Request, want)
			}
			checkRows(t, rows[1:], []Row{{Line: 2, Request: linked("bob", "b-1")}})
		})
	}
}

func TestJSONLTestdata(t *testing.T) {
	tests := []struct {
		file string
		want []Row
	}{
		{
			file: "flat.jsonl",
			want: []Row{
				{Line: 1, Request: req(pool, "Cognito", "alice", "Google", "Cognito_Subject", "110169484474386276334"), Extra: []Field{{Name: "ticket", Value: "T-1"}}},
				{Line: 3, Request: req("eu-west-1_Default1", "Cognito", "bob", "Okta", "email", "bob@example.com"), Extra: []Field{{Name: "ticket", Value: "7", JSON: true}, {Name: "tags", Value: `["a","b"]`, JSON: true}}},
				{Line: 4, Request: req("eu-west-1_Default1", "Cognito", "carol", "Okta", "Cognito_Subject", "c-1")},
			},
		},
		{
			file: "aws.jsonl",
			want: []Row{
				{Line: 1, Request: req(pool, "Cognito", "alice", "Google", "Cognito_Subject", "110169484474386276334")},
				{Line: 2, Request: req(pool, "Cognito", "bob", "Okta", "email", "bob@example.com"), Extra: []Field{{Name: "ticket", Value: "T-2"}}},
			},
		},
		{
			file: "messy.jsonl",
			want: []Row{
				{Line: 1, Request: req("eu-west-1_Default1", "Cognito", "alice", "Okta", "Cognito_Subject", "alice@example.com")},
				bad(3, schema.UnreadableRow, "bad JSON: unexpected end of line"),
				{Line: 4, Request: req("eu-west-1_Default1", "Cognito", "carol", "Okta", "Cognito_Subject", "carol@example.com")},
				bad(5, schema.UnreadableRow, "bad JSON: want an object, got array"),
				{Line: 6, Request: req("eu-west-1_Default1", "Cognito", "", "Okta", "Cognito_Subject", "x"), Code: schema.UnreadableRow, Invalid: "destination_user: want a string, got number"},
				bad(7, schema.UnreadableRow, notUTF8Reason("column 23", JSONL)),
				bad(8, schema.UnreadableRow, "bad JSON: unexpected data after the object"),
				{Line: 9, Request: req("eu-west-1_Default1", "Cognito", "frank", "Okta", "Cognito_Subject", "x"), Code: schema.UnreadableRow, Invalid: "destination_user given twice"},
				{Line: 10, Request: req("eu-west-1_Default1", "Cognito", "grace", "Okta", "Cognito_Subject", "x"), Code: schema.UnreadableRow, Invalid: `SourceUser: unknown key "Nickname"`},
				{Line: 11, Request: req("eu-west-1_Default1", "Cognito", "heidi", "Google", "email", "h")}, // plan's rule
				{Line: 12, Request: req("eu-west-1_Default1", "Cognito", "ivan", "Okta", "Cognito_Subject", "ivan@example.com")},
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
			r := NewJSONL(f, Options{UserPoolID: "eu-west-1_Default1"})
			if got := r.Columns(); got != nil {
				t.Errorf("Columns: got %q, want nil", got)
			}
			checkRows(t, readAll(t, r), tt.want)
		})
	}
}

// TestJSONLPosition: Position may be called before the first Next, and from another
// goroutine while rows are read, as Reader says (issue 23, item 4); it counts every byte.
func TestJSONLPosition(t *testing.T) {
	line := `{"destination_user":"alice","source_provider":"Okta","source_value":"a-1"}` + "\n"
	in := strings.Repeat(line, 5000)
	r := NewJSONL(strings.NewReader(in), Options{UserPoolID: pool})
	if n, size := r.Position(); n != 0 || size != -1 {
		t.Errorf("Position before Next: %d of %d, want 0 of -1", n, size)
	}
	done := make(chan struct{})
	polled := make(chan int64)
	go func() {
		var last int64
		for {
			select {
			case <-done:
				polled <- last
				return
			default:
			}
			n, _ := r.Position()
			if n < last {
				t.Errorf("Position went back from %d to %d", last, n)
			}
			last = n
		}
	}()
	rows := 0
	for {
		_, err := r.Next()
		if err != nil {
			break
		}
		rows++
	}
	close(done)
	<-polled
	if n, _ := r.Position(); rows != 5000 || n != int64(len(in)) {
		t.Errorf("%d rows, Position %d at the end; want 5000 and %d", rows, n, len(in))
	}
}
