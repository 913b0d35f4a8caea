package input

// Hostile inputs, read through the package's own readers: each case is an attack on one of
// the guarantees of the package doc (issue 8), with the rows it must and must not yield.
// The end-to-end versions, against the emulator, are in cmd/bulklink/hostile_test.go.

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unicode"

	"github.com/bulklink/bulklink/schema"
)

// hostileHeader is a CSV header with a free-text column, note, where attacks hide.
const hostileHeader = "destination_user,source_provider,source_value,note\n"

// outcome is a row as a hostile test judges it: "line:code:user", code empty for a valid
// row, user the destination user read (empty for an unreadable record).
func outcome(r Row) string {
	return fmt.Sprintf("%d:%s:%s", r.Line, r.Code, r.Request.DestinationUser)
}

func outcomes(rows []Row) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = outcome(r)
	}
	return out
}

func checkOutcomes(t *testing.T, got []Row, want []string) {
	t.Helper()
	g := outcomes(got)
	if strings.Join(g, "|") != strings.Join(want, "|") {
		t.Errorf("rows\n got %q\nwant %q", g, want)
		for _, r := range got {
			t.Logf("  %s", show(r))
		}
	}
}

// TestHostileCSV attacks the CSV reader with broken quoting, line endings, BOMs, NULs and
// long records: text inside quotes never becomes a row, an unclosed quote swallows the rest
// of the input into one invalid record, and a bare quote spoils only its own row.
func TestHostileCSV(t *testing.T) {
	t.Parallel()
	opt := Options{UserPoolID: pool}
	rowsLikeText := strings.Repeat("mallory,Okta,m-1,x\n", 20)
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"20-line quoted note full of rows",
			hostileHeader + "alice,Okta,a-1,\"" + rowsLikeText + "\"\nbob,Okta,b-1,ok\n",
			[]string{"2::alice", "23::bob"}},
		{"quoted note of CRLF rows",
			hostileHeader + "alice,Okta,a-1,\"" + strings.ReplaceAll(rowsLikeText, "\n", "\r\n") + "\"\r\nbob,Okta,b-1,ok\r\n",
			[]string{"2::alice", "23::bob"}},
		{"quoted note of CR-only rows",
			hostileHeader + "alice,Okta,a-1,\"" + strings.ReplaceAll(rowsLikeText, "\n", "\r") + "\"\nbob,Okta,b-1,ok\n",
			[]string{"2::alice", "3::bob"}},
		{"unterminated quote swallows the rest",
			hostileHeader + "alice,Okta,a-1,\"never closed\n" + rowsLikeText + "bob,Okta,b-1,ok\n",
			[]string{"2:UnterminatedQuote:"}},
		{"unterminated quote in a request field",
			hostileHeader + "alice,Okta,\"a-1,x\nbob,Okta,b-1,ok\n",
			[]string{"2:UnterminatedQuote:"}},
		{"unterminated quote on the last line, no newline",
			hostileHeader + "alice,Okta,a-1,ok\nbob,Okta,b-1,\"open",
			[]string{"2::alice", "3:UnterminatedQuote:"}},
		{"unterminated quote after a quoted field's doubled quotes",
			hostileHeader + "alice,Okta,a-1,\"he said \"\"hi\"\"\nbob,Okta,b-1,ok\n",
			[]string{"2:UnterminatedQuote:"}},
		{"bare quote in an unquoted field spoils only its row",
			hostileHeader + "alice,Okta,a-1,O\"Brien\nbob,Okta,b-1,ok\n",
			[]string{"2:UnreadableRow:", "3::bob"}},
		{"bare quotes in every field",
			hostileHeader + "al\"ice,Ok\"ta,a\"1,n\"\nbob,Okta,b-1,ok\n",
			[]string{"2:UnreadableRow:", "3::bob"}},
		{"a quoted field broken after an escaped quote: parity decides",
			hostileHeader + "alice,Okta,a-1,\"\"\"\"x\"\nmallory,Okta,m-1,5\" screen\nbob,Okta,b-1,ok\n",
			[]string{"2:UnreadableRow:", "4::bob"}},
		{"a bare quote in a later unquoted field opens nothing",
			hostileHeader + "alice,Okta,a-1,5\" screen\nbob,Okta,b-1,ok\ncarol,Okta,c-1,6\" screen\n",
			[]string{"2:UnreadableRow:", "3::bob", "4:UnreadableRow:"}},
		{"bare quote then a quoted field that never closes",
			hostileHeader + "O\"Brien,Okta,a-1,\"x\nbob,Okta,b-1,ok\n",
			[]string{"2:UnterminatedQuote:"}},
		{"extraneous quote, quotes balanced on its line",
			hostileHeader + "alice,Okta,a-1,\"x\"y\nbob,Okta,b-1,ok\n",
			[]string{"2:UnreadableRow:", "3::bob"}},
		{"extraneous quote, parity carries the record over rows",
			hostileHeader + "alice,Okta,a-1,\"x\"y\"z\nmallory,Okta,m-1,q\n\"carol,Okta,c-1,r\ndave,Okta,d-1,ok\n",
			[]string{"2:UnreadableRow:", "5::dave"}},
		{"extraneous quote, parity never closes: unterminated",
			hostileHeader + "alice,Okta,a-1,\"x\"y\"z\nmallory,Okta,m-1,q\n",
			[]string{"2:UnterminatedQuote:"}},
		{"quote after a closing quote and a space",
			hostileHeader + "alice,Okta,a-1,\"x\" \"\nmallory,Okta,m-1,q\n\"\nbob,Okta,b-1,ok\n",
			[]string{"2:UnreadableRow:", "5::bob"}},
		{"quoted request field with an embedded newline is one row",
			hostileHeader + "\"alice\nmallory\",Okta,a-1,x\nbob,Okta,b-1,ok\n",
			[]string{"2:UnreadableRow:alice\nmallory", "4::bob"}},
		{"mixed CRLF, LF and blank lines",
			hostileHeader + "alice,Okta,a-1,x\r\n\r\n  \t \nbob,Okta,b-1,y\n\r\ncarol,Okta,c-1,z",
			[]string{"2::alice", "5::bob", "7::carol"}},
		{"bare CR inside an unquoted value",
			hostileHeader + "alice\rmallory,Okta,a-1,x\nbob,Okta,b-1,ok\n",
			[]string{"2:UnreadableRow:alice\rmallory", "3::bob"}},
		{"BOM at the start is skipped, BOM on a later line is refused",
			"\uFEFF" + hostileHeader + "alice,Okta,a-1,x\n\uFEFFbob,Okta,b-1,ok\n",
			[]string{"2::alice", "3:UnreadableRow:\uFEFFbob"}},
		{"NUL in a request value",
			hostileHeader + "ali\x00ce,Okta,a-1,x\nbob,Okta,b-1,ok\n",
			[]string{"2:UnreadableRow:ali\x00ce", "3::bob"}},
		{"NUL in the free-text column is carried",
			hostileHeader + "alice,Okta,a-1,x\x00y\n",
			[]string{"2::alice"}},
		{"invalid UTF-8",
			hostileHeader + "alice,Okta,a-\xff1,x\nbob,Okta,b-1,ok\n",
			[]string{"2:UnreadableRow:", "3::bob"}},
		{"UTF-8 encoded surrogate",
			hostileHeader + "alice,Okta,a-\xed\xa0\x801,x\nbob,Okta,b-1,ok\n",
			[]string{"2:UnreadableRow:", "3::bob"}},
		{"too few and too many fields",
			hostileHeader + "alice,Okta,a-1\nmallory,Okta,m-1,x,y\nbob,Okta,b-1,ok\n",
			[]string{"2:UnreadableRow:", "3:UnreadableRow:", "4::bob"}},
		{"formula-looking values are kept",
			hostileHeader + "alice,Okta,=1+1,@SUM(A1)\nbob,Okta,+cmd|' /C calc'!A0,-2\n",
			[]string{"2::alice", "3::bob"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			checkOutcomes(t, readCSV(t, tt.in, opt), tt.want)
		})
	}
}

// TestHostileCSVValues checks what the hostile rows carry, beyond their outcome.
func TestHostileCSVValues(t *testing.T) {
	t.Parallel()
	opt := Options{UserPoolID: pool}
	note := "\"" + strings.Repeat("mallory,Okta,m-1,x\r\n", 3) + "\""
	rows := readCSV(t, hostileHeader+"alice,Okta,=1+1,"+note+"\nbob,Okta,b-1,\"@x\x00\"\n", opt)
	if len(rows) != 2 {
		t.Fatalf("%d rows, want 2", len(rows))
	}
	if got, want := rows[0].Extra[0].Value, strings.Repeat("mallory,Okta,m-1,x\n", 3); got != want {
		t.Errorf("note %q, want %q", got, want)
	}
	if got := rows[0].Request.SourceValue; got != "=1+1" {
		t.Errorf("source_value %q, want it unchanged: =1+1", got)
	}
	if got := rows[1].Extra[0].Value; got != "@x\x00" {
		t.Errorf("note %q, want it unchanged", got)
	}
}

// TestHostileCSVLongRecords: records over MaxRecordBytes are RecordTooLong, skipped whole,
// with memory bounded; the rows after them are read.
func TestHostileCSVLongRecords(t *testing.T) {
	t.Parallel()
	opt := Options{UserPoolID: pool}
	big := strings.Repeat("x", 2<<20)
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"2 MiB quoted note", hostileHeader + "alice,Okta,a-1,\"" + big + "\"\nbob,Okta,b-1,ok\n", []string{"2:RecordTooLong:", "3::bob"}},
		{"2 MiB quoted note of rows", hostileHeader + "alice,Okta,a-1,\"" + strings.Repeat("mallory,Okta,m-1,x\n", 2<<20/19) + "\"\nbob,Okta,b-1,ok\n",
			[]string{"2:RecordTooLong:", fmt.Sprint(3+2<<20/19) + "::bob"}},
		{"2 MiB unquoted value", hostileHeader + "alice,Okta," + big + ",x\nbob,Okta,b-1,ok\n", []string{"2:RecordTooLong:", "3::bob"}},
		{"2 MiB unterminated", hostileHeader + "alice,Okta,a-1,\"" + big + "\nbob,Okta,b-1,ok\n", []string{"2:UnterminatedQuote:"}},
		{"exactly 1 MiB of values", hostileHeader + "alice,Okta,a-1," + strings.Repeat("y", MaxRecordBytes-len("aliceOktaa-1")) + "\nbob,Okta,b-1,ok\n", []string{"2::alice", "3::bob"}},
		{"1 MiB and a byte", hostileHeader + "alice,Okta,a-1," + strings.Repeat("y", MaxRecordBytes-len("aliceOktaa-1")+1) + "\nbob,Okta,b-1,ok\n", []string{"2:RecordTooLong:", "3::bob"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			checkOutcomes(t, readCSV(t, tt.in, opt), tt.want)
		})
	}
}

// TestHostileCSVLongRecordMemory: a 24 MiB quoted field, streamed, is skipped without being
// held. Not parallel, so that no other test's allocations count.
func TestHostileCSVLongRecordMemory(t *testing.T) {
	opt := Options{UserPoolID: pool}
	in := io.MultiReader(strings.NewReader(hostileHeader+"alice,Okta,a-1,\""),
		io.LimitReader(repeatByte('z'), 24<<20), strings.NewReader("\"\nbob,Okta,b-1,ok\n"))
	r, err := NewCSV(in, opt)
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	rows := readAll(t, r)
	runtime.ReadMemStats(&after)
	checkOutcomes(t, rows, []string{"2:RecordTooLong:", "3::bob"})
	// TotalAlloc counts every allocation: a reader that held the record would allocate at
	// least its 24 MiB.
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 12<<20 {
		t.Errorf("reading a 24 MiB record allocated %d MiB, want it bounded by a few MiB", grew>>20)
	}
}

// repeatByte is an endless reader of one byte.
type repeatByte byte

func (b repeatByte) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}

// TestHostileCSVHeader: headers that are not what they seem fail at once, never after
// reading an endless input, and never silently drop columns.
func TestHostileCSVHeader(t *testing.T) {
	t.Parallel()
	opt := Options{UserPoolID: pool}
	wide := func(n int, first bool) string {
		cols := make([]string, n)
		for i := range cols {
			cols[i] = fmt.Sprintf("c%d", i)
		}
		req := []string{"destination_user", "source_provider", "source_value"}
		if first {
			cols = append(req, cols...)
		} else {
			cols = append(cols, req...)
		}
		return strings.Join(cols, ",") + "\n"
	}
	tests := []struct {
		name string
		in   io.Reader
		err  string // "" when the header is fine
	}{
		{"empty", strings.NewReader(""), "empty input"},
		{"only a BOM", strings.NewReader("\uFEFF"), "empty input"},
		{"duplicate request column in another case", strings.NewReader("destination_user,source_provider,source_value,Destination_User\n"), "same name"},
		{"duplicate carried column with spaces", strings.NewReader("destination_user,source_provider,source_value,note, NOTE \n"), "same name"},
		{"a column without a name", strings.NewReader("destination_user,,source_provider,source_value\n"), "no name"},
		{"a BOM inside a required column's name", strings.NewReader("destination_user,\uFEFFsource_provider,source_value\n"), "missing column source_provider"},
		{"UTF-16", strings.NewReader("\xff\xfed\x00e\x00s\x00\n\x00"), "UTF-16"},
		{"an unterminated quote", strings.NewReader("destination_user,source_provider,source_value,\"note\nalice,Okta,a-1,x\n"), "never closes"},
		{"/dev/zero", repeatByte(0), "NUL bytes"},
		{"endless quoted header", io.MultiReader(strings.NewReader("\"destination_user"), repeatByte('a')), "longer than"},
		{"endless broken header", io.MultiReader(strings.NewReader("\"destination_user\"x"), repeatByte('a')), "longer than"},
		{"endless broken header, quotes open", io.MultiReader(strings.NewReader("\"destination_user\"x\""), repeatByte('\n')), "longer than"},
		{"lines ended by CR alone", strings.NewReader("destination_user,source_provider,source_value,note\ralice,Okta,a-1,x\r"), "carriage return"},
		{"a quoted name with a line break is carried", strings.NewReader("destination_user,source_provider,source_value,\"no\nte\"\n"), ""},
		{"4096 columns", strings.NewReader(wide(4093, true)), ""},
		{"4097 columns, required ones first", strings.NewReader(wide(4094, true)), "columns"},
		{"5000 columns, required ones last", strings.NewReader(wide(4997, false)), "columns"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			done := make(chan error, 1)
			go func() {
				_, err := NewCSV(tt.in, opt)
				done <- err
			}()
			select {
			case err := <-done:
				switch {
				case tt.err == "" && err != nil:
					t.Errorf("NewCSV: got error %v, want none", err)
				case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
					t.Errorf("NewCSV: got error %v, want one saying %q", err, tt.err)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("NewCSV still reading the header after 20s: an endless input must fail at 1 MiB")
			}
		})
	}
}

// TestHostileReservedColumns: an input column named like a report column, in any case and
// with spaces, is carried under a name no other column of the input has, and never under a
// reserved one; a report of such an input reads back.
func TestHostileReservedColumns(t *testing.T) {
	t.Parallel()
	headers := [][]string{
		{"STATUS", "Line", "Error_Code"},
		{" status ", "input_status"},
		{"status", " input_status"},
		{"status", "input_status", "input_input_status", "INPUT_INPUT_INPUT_STATUS"},
		{"extra", "Extra ", "input_extra"}, // Extra  and extra: the same name, refused below
		{"line", "status", "error_message", "attempts", "duration_ms", "finished_at", "user_pool_id_x", "EXTRA"},
		{"Destination_Provider_Note", "Source_Attribute_", "  finished_at"},
	}
	for _, h := range headers {
		t.Run(strings.Join(h, ","), func(t *testing.T) {
			t.Parallel()
			seen := map[string]bool{}
			dup := false
			for _, n := range h {
				k := strings.ToLower(strings.TrimSpace(n))
				dup = dup || seen[k]
				seen[k] = true
			}
			in := "destination_user,source_provider,source_value," + strings.Join(h, ",") + "\n" +
				"alice,Okta,a-1" + strings.Repeat(",v", len(h)) + "\n"
			r, err := NewCSV(strings.NewReader(in), Options{UserPoolID: pool})
			if dup {
				if err == nil {
					t.Fatalf("NewCSV of a header with two names alike: got no error")
				}
				return
			}
			if err != nil {
				t.Fatalf("NewCSV: %v", err)
			}
			checkCarriedNames(t, r.Columns(), len(h))
			// The same names as JSONL keys.
			var b strings.Builder
			b.WriteString(`{"destination_user":"alice","source_provider":"Okta","source_value":"a-1"`)
			for _, n := range h {
				fmt.Fprintf(&b, ",%q:\"v\"", n)
			}
			b.WriteString("}\n")
			rows := readJSONL(t, b.String(), Options{UserPoolID: pool})
			if len(rows) != 1 || !rows[0].Valid() && rows[0].Code != schema.InvalidValue {
				t.Fatalf("JSONL: %v", outcomes(rows))
			}
			var names []string
			for _, f := range rows[0].Extra {
				names = append(names, f.Name)
			}
			checkCarriedNames(t, names, len(h))
		})
	}
}

// checkCarriedNames checks that carried names are n, none reserved, no two alike as the
// readers compare names (case and surrounding spaces aside).
func checkCarriedNames(t *testing.T, names []string, n int) {
	t.Helper()
	if len(names) != n {
		t.Errorf("carried %q, want %d names", names, n)
	}
	seen := map[string]string{}
	for _, name := range names {
		if schema.Reserved(name) {
			t.Errorf("carried column %q is reserved", name)
		}
		k := strings.ToLower(strings.TrimSpace(name))
		if other, ok := seen[k]; ok {
			t.Errorf("carried columns %q and %q are alike: a report of this input would not read back", other, name)
		}
		seen[k] = name
		for _, c := range schema.ColumnNames() {
			if k == c {
				t.Errorf("carried column %q is the report's %q", name, c)
			}
		}
	}
}

// TestHostileJSONL attacks the JSONL reader: duplicate keys in every spelling, nesting,
// huge numbers, surrogates, lines that are not one object.
func TestHostileJSONL(t *testing.T) {
	t.Parallel()
	opt := Options{UserPoolID: pool}
	const base = `"destination_user":"alice","source_provider":"Okta","source_value":"a-1"`
	deep := strings.Repeat("[", 20000) + strings.Repeat("]", 20000)
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"duplicate request key", `{` + base + `,"destination_user":"mallory"}`, []string{"1:UnreadableRow:alice"}},
		{"duplicate request key in another case", `{` + base + `,"DESTINATION_USER":"mallory"}`, []string{"1:UnreadableRow:alice"}},
		{"flat and AWS spelling of one field", `{` + base + `,"DestinationUser":{"ProviderAttributeValue":"mallory"}}`, []string{"1:UnreadableRow:alice"}},
		{"AWS shape twice", `{"DestinationUser":{"ProviderAttributeValue":"alice"},"SourceUser":{"ProviderName":"Okta","ProviderAttributeValue":"a-1"},"SourceUser":{"ProviderName":"Okta","ProviderAttributeValue":"m-1"}}`,
			[]string{"1:UnreadableRow:alice"}},
		{"duplicate key inside a user object", `{"DestinationUser":{"ProviderAttributeValue":"alice","providerattributevalue":"mallory"},"SourceUser":{"ProviderName":"Okta","ProviderAttributeValue":"a-1"}}`,
			[]string{"1:UnreadableRow:alice"}},
		{"unknown key inside a user object", `{"DestinationUser":{"ProviderAttributeValue":"alice","Evil":"x"},"SourceUser":{"ProviderName":"Okta","ProviderAttributeValue":"a-1"}}`,
			[]string{"1:UnreadableRow:alice"}},
		{"duplicate carried key", `{` + base + `,"note":"a","note":"b"}`, []string{"1:UnreadableRow:alice"}},
		{"duplicate carried key in another case and spacing", `{` + base + `,"note":"a"," NOTE":"b"}`, []string{"1:UnreadableRow:alice"}},
		{"duplicate reserved key", `{` + base + `,"status":"a","Status":"b"}`, []string{"1:UnreadableRow:alice"}},
		{"deeply nested carried value", `{` + base + `,"note":` + deep + `}`, []string{"1:UnreadableRow:"}},
		{"deeply nested user object", `{"DestinationUser":` + strings.Repeat(`{"a":`, 20000) + `1` + strings.Repeat(`}`, 20000) + `}`, []string{"1:UnreadableRow:"}},
		{"huge number carried", `{` + base + `,"n":1e999999999,"m":123456789012345678901234567890}`, []string{"1::alice"}},
		{"number for a request field", `{"destination_user":1e400,"source_provider":"Okta","source_value":"a-1"}`, []string{"1:UnreadableRow:"}},
		{"object for a request field", `{"destination_user":{"x":1},"source_provider":"Okta","source_value":"a-1"}`, []string{"1:UnreadableRow:"}},
		{"unpaired high surrogate", `{"destination_user":"alice","source_provider":"Okta","source_value":"a-\ud800"}`, []string{"1:UnreadableRow:"}},
		{"unpaired low surrogate", `{"destination_user":"alice","source_provider":"Okta","source_value":"a-\udc00"}`, []string{"1:UnreadableRow:"}},
		{"high surrogate then a letter", `{"destination_user":"alice","source_provider":"Okta","source_value":"\uD800\u0041"}`, []string{"1:UnreadableRow:"}},
		{"reversed pair", `{"destination_user":"alice","source_provider":"Okta","source_value":"\udc00\ud800"}`, []string{"1:UnreadableRow:"}},
		{"surrogate in a carried key", `{` + base + `,"n\ud800":"x"}`, []string{"1:UnreadableRow:"}},
		{"a true pair is a character", `{"destination_user":"alice","source_provider":"Okta","source_value":"a-\ud83d\ude00"}`, []string{"1::alice"}},
		{"an escaped backslash is not an escape", `{"destination_user":"alice","source_provider":"Okta","source_value":"a-\\ud800"}`, []string{"1::alice"}},
		{"escaped zero width space", `{"destination_user":"ali\u200bce","source_provider":"Okta","source_value":"a-1"}`, []string{"1:UnreadableRow:ali\u200bce"}},
		{"escaped NUL", `{"destination_user":"alice","source_provider":"Okta","source_value":"a-\u0000"}`, []string{"1:UnreadableRow:alice"}},
		{"raw NUL", "{\"destination_user\":\"alice\",\"source_provider\":\"Okta\",\"source_value\":\"a-\x00\"}", []string{"1:UnreadableRow:"}},
		{"two objects on a line", `{` + base + `}{` + base + `}`, []string{"1:UnreadableRow:"}},
		{"an object over two lines", "{" + base + ",\n\"note\":\"x\"}", []string{"1:UnreadableRow:", "2:UnreadableRow:"}},
		{"an array, a string, a number, null", "[1]\n\"x\"\n1\nnull\n{" + base + "}", []string{"1:UnreadableRow:", "2:UnreadableRow:", "3:UnreadableRow:", "4:UnreadableRow:", "5::alice"}},
		{"BOM on a later line", "{" + base + "}\n\uFEFF{" + base + "}", []string{"1::alice", "2:UnreadableRow:"}},
		{"CR-only line ends are one line", "{" + base + "}\r{" + base + "}\r", []string{"1:UnreadableRow:"}},
		{"a line over 1 MiB", "{" + base + `,"note":"` + strings.Repeat("x", 2<<20) + "\"}\n{" + base + "}\n", []string{"1:RecordTooLong:", "2::alice"}},
		{"formula-looking values", `{"destination_user":"alice","source_provider":"Okta","source_value":"=HYPERLINK(\"http://x\")","note":"+1","n2":"-1","n3":"@x"}`, []string{"1::alice"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			checkOutcomes(t, readJSONL(t, tt.in, opt), tt.want)
		})
	}
}

// TestHostileIdentityValues: a value that looks like another is refused, UnreadableRow,
// never changed, in every request field and through both formats.
func TestHostileIdentityValues(t *testing.T) {
	t.Parallel()
	sneaky := []struct{ name, r string }{
		{"zero width space", "\u200B"}, {"zero width non-joiner", "\u200C"}, {"zero width joiner", "\u200D"},
		{"word joiner", "\u2060"}, {"BOM", "\uFEFF"}, {"right-to-left override", "\u202E"},
		{"left-to-right mark", "\u200E"}, {"right-to-left mark", "\u200F"}, {"first strong isolate", "\u2068"},
		{"arabic letter mark", "\u061C"}, {"soft hyphen", "\u00AD"}, {"mongolian vowel separator", "\u180E"},
		{"tag latin a", "\U000E0041"}, {"replacement character", "\uFFFD"}, {"line separator", "\u2028"},
		{"paragraph separator", "\u2029"}, {"NEL", "\u0085"}, {"escape", "\x1b"}, {"delete", "\x7f"},
		{"NUL", "\x00"}, {"vertical tab", "\v"},
	}
	fields := []string{"destination_user", "source_provider", "source_value", "source_attribute", "destination_provider", "user_pool_id"}
	good := map[string]string{"destination_user": "alice", "source_provider": "Okta", "source_value": "a-1",
		"source_attribute": "email", "destination_provider": "Cognito", "user_pool_id": pool}
	for _, s := range sneaky {
		for _, f := range fields {
			t.Run(s.name+"/"+f, func(t *testing.T) {
				t.Parallel()
				vals := map[string]string{}
				for k, v := range good {
					vals[k] = v
				}
				v := good[f]
				vals[f] = v[:2] + s.r + v[2:] // inside the value: never trimmed
				var csvLine, jsonLine []string
				for _, k := range fields {
					csvLine = append(csvLine, `"`+vals[k]+`"`)
					v, err := json.Marshal(vals[k])
					if err != nil {
						t.Fatal(err)
					}
					jsonLine = append(jsonLine, fmt.Sprintf("%q:%s", k, v))
				}
				for format, rows := range map[string][]Row{
					"csv":   readCSV(t, strings.Join(fields, ",")+"\n"+strings.Join(csvLine, ",")+"\n", Options{}),
					"jsonl": readJSONL(t, "{"+strings.Join(jsonLine, ",")+"}\n", Options{}),
				} {
					if len(rows) != 1 || rows[0].Code != schema.UnreadableRow {
						t.Errorf("%s: %s in %s: got %v, want one UnreadableRow row", format, s.name, f, outcomes(rows))
						continue
					}
					if got := *fieldOf(f).in(&rows[0].Request); got != vals[f] {
						t.Errorf("%s: %s value %q, want it unchanged %q", format, f, got, vals[f])
					}
				}
			})
		}
	}
}

// TestHostileGzip: gzip is known by its magic bytes, whatever the name; a corrupt,
// truncated or trailed stream fails Scan, before any row could be sent.
func TestHostileGzip(t *testing.T) {
	t.Parallel()
	plain := []byte(hostileHeader + "alice,Okta,a-1,x\nbob,Okta,b-1,y\n")
	gz := gzipped(t, string(plain))
	half := len(plain) / 2
	concatenated := append(gzipped(t, string(plain[:half])), gzipped(t, string(plain[half:]))...)
	corrupt := bytes.Clone(gz)
	corrupt[len(corrupt)-6] ^= 0xff // a byte of the CRC
	deflate := bytes.Clone(gz)
	deflate[12] ^= 0x55 // a byte of the compressed data
	tests := []struct {
		name string
		data []byte
		rows []string // nil: Scan fails
	}{
		{"gzip named .csv", gz, []string{"2::alice", "3::bob"}},
		{"concatenated members", concatenated, []string{"2::alice", "3::bob"}},
		{"truncated", gz[:len(gz)-10], nil},
		{"truncated in the header", gz[:5], nil},
		{"only the magic", gz[:2], nil},
		{"corrupt checksum", corrupt, nil},
		{"corrupt data", deflate, nil},
		{"trailing garbage", append(bytes.Clone(gz), "mallory,Okta,m-1,x\n"...), nil},
		{"trailing zeros", append(bytes.Clone(gz), make([]byte, 512)...), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, "links.csv")
			if err := os.WriteFile(path, tt.data, 0o600); err != nil {
				t.Fatal(err)
			}
			for _, how := range []string{"file", "stream"} {
				var src *Source
				var err error
				if how == "file" {
					src, err = Open(t.Context(), path, nil, Options{UserPoolID: pool}, dir)
				} else {
					src, err = Open(t.Context(), "-", bytes.NewReader(tt.data), Options{Format: CSV, UserPoolID: pool}, dir)
				}
				if err != nil {
					t.Fatalf("%s: Open: %v", how, err)
				}
				var rows []Row
				_, err = src.Scan(t.Context(), func(r *Row) error { rows = append(rows, *r); return nil })
				src.Close()
				if tt.rows == nil {
					if err == nil {
						t.Errorf("%s: Scan of a bad gzip stream: no error, rows %v", how, outcomes(rows))
					}
					continue
				}
				if err != nil {
					t.Errorf("%s: Scan: %v", how, err)
					continue
				}
				checkOutcomes(t, rows, tt.rows)
			}
		})
	}
}

// TestHostileSourceCancel: an endless or stalled input, in every phase of a Scan (opening a
// FIFO, the header, the rows, a gzip stream's header), gives up soon after its context ends.
func TestHostileSourceCancel(t *testing.T) {
	t.Parallel()
	stalled := func(prefix string) io.Reader {
		r, w := io.Pipe()
		go func() { w.Write([]byte(prefix)) }() // then nothing, ever
		return r
	}
	tests := []struct {
		name   string
		format Format
		in     func() io.Reader
	}{
		{"stalled before the header", CSV, func() io.Reader { return stalled("") }},
		{"stalled in the header", CSV, func() io.Reader { return stalled("destination_user,sou") }},
		{"stalled in a quoted row", CSV, func() io.Reader { return stalled(hostileHeader + "alice,Okta,a-1,\"note") }},
		{"stalled in a gzip header", CSV, func() io.Reader { return stalled("\x1f\x8b\x08") }},
		{"stalled JSONL", JSONL, func() io.Reader { return stalled(`{"destination_user":`) }},
		{"endless rows", CSV, func() io.Reader {
			return io.MultiReader(strings.NewReader(hostileHeader), repeatReader("alice,Okta,a-1,x\n"))
		}},
		{"endless JSONL line", JSONL, func() io.Reader { return repeatByte('x') }},
		{"endless broken record", CSV, func() io.Reader {
			return io.MultiReader(strings.NewReader(hostileHeader+"alice,Okta,a-1,\"x\"y"), repeatByte('z'))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancelCause(t.Context())
			src, err := Open(ctx, "-", tt.in(), Options{Format: tt.format, UserPoolID: pool}, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			done := make(chan error, 1)
			go func() {
				_, err := src.Scan(ctx, func(*Row) error { return nil })
				done <- err
			}()
			time.Sleep(200 * time.Millisecond)
			stop := errors.New("stop")
			cancel(stop)
			select {
			case err := <-done:
				if !errors.Is(err, stop) {
					t.Errorf("Scan: got %v, want the context's cause", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Scan still running 5s after its context ended")
			}
		})
	}

	t.Run("FIFO without a writer", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "links.csv")
		if err := syscall.Mkfifo(path, 0o600); err != nil {
			t.Skip("no FIFOs here:", err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := Open(ctx, path, nil, Options{UserPoolID: pool}, t.TempDir())
		if err == nil || time.Since(start) > 5*time.Second {
			t.Errorf("Open of a FIFO nobody writes: %v after %v, want an error soon after the context ends", err, time.Since(start))
		}
	})
}

// repeatReader repeats s forever.
type repeatReader string

func (s repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		n += copy(p[n:], s)
	}
	return n, nil
}

// TestHostileEdgeWhitespace: values are trimmed of plain spaces and tabs only; a line
// separator, a NEL, a no-break space or a line break at the edge of an identity value is
// refused as it is inside the value, never removed without a word.
func TestHostileEdgeWhitespace(t *testing.T) {
	t.Parallel()
	var changed []string
	for _, r := range []string{"\u2028", "\u2029", "\u0085", "\u00A0", "\u3000", "\u202F", "\u2007", "\n", "\v", "\f"} {
		in := hostileHeader + "alice,Okta,\"a-1" + r + "\",x\n"
		rows := readCSV(t, in, Options{UserPoolID: pool})
		if len(rows) == 1 && rows[0].Valid() && rows[0].Request.SourceValue == "a-1" {
			changed = append(changed, fmt.Sprintf("%U", []rune(r)[0]))
		}
	}
	if len(changed) > 0 {
		t.Errorf("source_value \"a-1\" followed by %v is read as \"a-1\" and linked: changed, not refused", changed)
	}
}

// nulBomb returns a gzip stream of text and then n zero bytes, compressed as it is read
// (nothing of it is held: 1 GiB of zeros costs neither disk nor memory), and a count of the
// zeros handed to the compressor so far.
func nulBomb(t *testing.T, text string, n int64) (io.ReadCloser, *atomic.Int64) {
	t.Helper()
	var fed atomic.Int64
	r, w := io.Pipe()
	go func() {
		zw, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
		_, err := io.WriteString(zw, text)
		zeros := make([]byte, 64<<10)
		for left := n; err == nil && left > 0; left -= int64(len(zeros)) {
			var k int
			k, err = zw.Write(zeros[:min(int64(len(zeros)), left)])
			fed.Add(int64(k))
		}
		if err == nil {
			err = zw.Close()
		}
		w.CloseWithError(err)
	}()
	return r, &fed
}

// TestHostileNULBomb: a header, then a gigabyte of NUL bytes, gzipped (issue 18, item 5), is
// refused for what it is, NUL bytes, not taken for UTF-16, whose advice (iconv) would not
// help; and refused from its first bytes, so that reading it costs neither the time to
// inflate a gigabyte nor the memory. Real UTF-16 keeps its own advice (TestDiagnoseInput).
func TestHostileNULBomb(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		format Format
		text   string
	}{
		{"CSV header", CSV, hostileHeader},
		{"CSV header and rows", CSV, hostileHeader + "alice,Okta,a-1,x\nbob,Okta,b-1,y\n"},
		{"JSONL row", JSONL, `{"destination_user":"alice","source_provider":"Okta","source_value":"a-1"}` + "\n"},
		{"nothing before", CSV, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bomb, fed := nulBomb(t, tt.text, 1<<30)
			defer bomb.Close()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			src, err := Open(t.Context(), "-", bomb, Options{Format: tt.format, UserPoolID: pool}, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			_, err = src.Scan(t.Context(), func(*Row) error { return nil })
			runtime.ReadMemStats(&after)
			if err == nil || !strings.Contains(err.Error(), "NUL bytes") || strings.Contains(err.Error(), "UTF-16") {
				t.Errorf("Scan: got %v, want it refused for its NUL bytes, without a word of UTF-16", err)
			}
			// The refusal comes from the head of the text: a few MiB inflated at most, of
			// the 1024 the stream holds.
			if n := fed.Load(); n > 16<<20 {
				t.Errorf("%d MiB of zeros inflated before the refusal, want the head only", n>>20)
			}
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
				t.Errorf("%d MiB allocated reading the bomb, want a few", grew>>20)
			}
		})
	}
}

// TestHostileColumnNames: a column name (CSV) or carried key (JSONL) is text a person reads
// and a report's header: a control character there (other than the tab and line break a
// spreadsheet cell may hold) is refused, naming the column and the line (issue 23, item 2),
// as it is in an identity value. A CSV header with one fails the input; a JSONL object with
// one is an UnreadableRow, the key not carried. Other characters, an invisible tag character
// among them, are carried exactly: only identity values must not look like others.
func TestHostileColumnNames(t *testing.T) {
	t.Parallel()
	opt := Options{UserPoolID: pool}
	for _, tt := range []struct {
		name, col string // col as the header writes it
		carried   string // "": refused
		refusal   string
	}{
		{"SOH", "a\x01b", "", `header on line 1: column 4's name "a\x01b" holds control character U+0001`},
		{"DEL", "del\x7f", "", `column 4's name "del\x7f" holds control character U+007F`},
		{"BEL", "bel\a", "", `column 4's name "bel\a" holds control character U+0007`},
		{"NUL", "nul\x00", "", `holds control character U+0000`},
		{"ESC", "esc\x1b[2J", "", `holds control character U+001B`},
		{"NEL", "nel\u0085", "", `holds control character U+0085`},
		{"on a later line", "\"two\nlines\",x\x01", "", `header on line 1: column 5's name "x\x01" holds control character U+0001`},
		{"a tag character", "tag\U000E0001", "tag\U000E0001", ""},
		{"a line break, quoted", "\"no\nte\"", "no\nte", ""},
		{"a tab, quoted", "\"t\tab\"", "t\tab", ""},
	} {
		t.Run("CSV/"+tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := NewCSV(strings.NewReader("destination_user,source_provider,source_value,"+tt.col+"\nalice,Okta,a-1,x,y\n"), opt)
			if tt.carried == "" {
				if err == nil || !strings.Contains(err.Error(), tt.refusal) {
					t.Errorf("NewCSV: got %v, want %q", err, tt.refusal)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewCSV: %v", err)
			}
			if cols := r.Columns(); len(cols) == 0 || cols[0] != tt.carried {
				t.Errorf("carried columns %q, want %q first", cols, tt.carried)
			}
		})
	}
	const base = `"destination_user":"alice","source_provider":"Okta","source_value":"a-1"`
	for _, tt := range []struct {
		name, key string // key as JSON writes it
		carried   string
		refusal   string
	}{
		{"SOH", `a\u0001b`, "", `key "a\x01b" holds control character U+0001`},
		{"DEL, escaped", `del\u007f`, "", `holds control character U+007F`},
		{"DEL, raw", "del\x7f", "", `holds control character U+007F`},
		{"BEL", `bel\u0007`, "", `holds control character U+0007`},
		{"NUL", `nul\u0000`, "", `holds control character U+0000`},
		{"a tag character", `tag\udb40\udc01`, "tag\U000E0001", ""},
		{"a line break", `no\nte`, "no\nte", ""},
	} {
		t.Run("JSONL/"+tt.name, func(t *testing.T) {
			t.Parallel()
			rows := readJSONL(t, `{`+base+`,"`+tt.key+`":"x","after":"y"}`, opt)
			if len(rows) != 1 {
				t.Fatalf("%d rows, want 1", len(rows))
			}
			row := rows[0]
			if tt.carried == "" {
				if row.Code != schema.UnreadableRow || !strings.Contains(row.Invalid, tt.refusal) {
					t.Errorf("row %s (%q), want UnreadableRow: %q", outcome(row), row.Invalid, tt.refusal)
				}
				for _, f := range row.Extra {
					if strings.ContainsFunc(f.Name, unicode.IsControl) {
						t.Errorf("the key %q is carried all the same", f.Name)
					}
				}
				return
			}
			if !row.Valid() || len(row.Extra) != 2 || row.Extra[0].Name != tt.carried {
				t.Errorf("row %s (%q), extras %+v; want it valid, %q carried", outcome(row), row.Invalid, row.Extra, tt.carried)
			}
		})
	}
}
