package input

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/bulklink/bulklink/schema"
)

// utf16LE encodes s as UTF-16LE, with a byte order mark when bom is set.
func utf16LE(s string, bom bool) string {
	var b bytes.Buffer
	if bom {
		b.WriteString("\xff\xfe")
	}
	for _, u := range utf16.Encode([]rune(s)) {
		binary.Write(&b, binary.LittleEndian, u)
	}
	return b.String()
}

// openFile writes content to a file named name and opens it as Open does.
func openFile(t *testing.T, name, content string, opt Options) (*Shape, []Row, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	src, err := Open(context.Background(), path, nil, opt, "")
	if err != nil {
		return nil, nil, err
	}
	defer src.Close()
	var rows []Row
	sh, err := src.Scan(context.Background(), func(r *Row) error { rows = append(rows, *r); return nil })
	return sh, rows, err
}

// What spreadsheets export instead of CSV UTF-8 is named, with what to do about it.
func TestDiagnoseInput(t *testing.T) {
	const header3 = "destination_user,source_provider,source_value"
	tests := []struct {
		name, file, content string
		want                []string // in the error
	}{
		{"xlsx named .csv", "links.csv", "PK\x03\x04\x14\x00\x06\x00rest of the zip",
			[]string{"zip archive, such as an Excel workbook (.xlsx)", `"CSV UTF-8 (Comma delimited) (.csv)"`}},
		{"gzipped xlsx", "links.csv.gz", string(gzipped(t, "PK\x03\x04\x14\x00\x06\x00rest")), []string{"zip archive"}},
		{"xls", "links.csv", "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00", []string{"Excel 97-2003 workbook (.xls)"}},
		{"UTF-16 with a byte order mark", "links.csv", utf16LE(header3+"\r\nalice,Okta,a-1\r\n", true),
			[]string{`UTF-16 text (Excel's "Unicode Text")`, "iconv -f UTF-16 -t UTF-8"}},
		{"UTF-16 without one", "links.csv", utf16LE(header3+"\nalice,Okta,a-1\n", false), []string{"NUL bytes between its characters, as UTF-16 text does"}},
		{"UTF-16 JSONL", "links.jsonl", utf16LE(`{"destination_user":"alice"}`+"\n", true), []string{"UTF-16 text"}},
		{"UTF-16 of names with Ā (0x0100), without a byte order mark", "links.csv",
			utf16LE(header3+"\nĀdam,Okta,a-Ā\nĀĀĀĀ,Okta,b-ĀĀ\n", false), []string{"NUL bytes between its characters, as UTF-16 text does"}},
		{"a header, then zeros", "links.csv", header3 + "\n" + strings.Repeat("\x00", 8192),
			[]string{"it is not text: it holds runs of NUL bytes (zeros)", "check that it is the file meant"}},
		{"JSONL, then zeros", "links.jsonl", `{"destination_user":"alice"}` + "\n" + strings.Repeat("\x00", 8192),
			[]string{"runs of NUL bytes"}},
		{"CR line ends", "links.csv", header3 + "\ralice,Okta,a-1\rbob,Okta,b-1\r",
			[]string{"lines end with a carriage return alone", `tr '\r' '\n'`}},
		{"a typo in a column", "links.csv", "destination_user,source_providr,source_value\nalice,Okta,a-1\n",
			[]string{`missing column source_provider: column 2 "source_providr" (did you mean source_provider?)`}},
		{"spreadsheet-style names", "links.csv", "Destination User,Source-Provider,source_value\nalice,Okta,a-1\n",
			[]string{`missing columns destination_user, source_provider: column 1 "Destination User" (did you mean destination_user?), column 2 "Source-Provider" (did you mean source_provider?)`}},
		{"a typo and no pool", "links.csv", "destination_user,source_provider,sorce_value\nalice,Okta,a-1\n",
			[]string{`missing columns user_pool_id (or set --user-pool-id), source_value: column 3 "sorce_value" (did you mean source_value?)`}},
		{"JSON lines named .csv", "links.csv", `{"destination_user":"alice","source_provider":"Okta","source_value":"a-1"}` + "\n",
			[]string{"looks like JSON lines, not CSV: name it .jsonl, or pass --format jsonl"}},
		{"CSV named .jsonl", "links.jsonl", header3 + "\nalice,Okta,a-1\n",
			[]string{"first line is a CSV header, not a JSON object: name it .csv, or pass --format csv"}},
		{"a header of one unknown name", "links.csv", "name\nalice\n",
			[]string{"is the first line a header? want one such as destination_user,source_provider,source_value, with commas between the names"}},
		{"no extension", "links.txt", header3 + "\n", []string{"pass --format csv or --format jsonl"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opt := Options{}
			if strings.Contains(tt.name, "pool") {
				opt.UserPoolID = ""
			} else {
				opt.UserPoolID = pool
			}
			_, _, err := openFile(t, tt.file, tt.content, opt)
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nlacks %q", err, w)
				}
			}
		})
	}
}

// A semicolon, tab or vertical bar export is read as such; a file that reads with commas
// (a report, say) is read with commas, whatever its values hold.
func TestSpreadsheetDelimiters(t *testing.T) {
	tests := []struct {
		name, content string
		delim         byte
		want          []Row
	}{
		{"semicolon", "destination_user;source_provider;source_value;note\nalice;Okta;a-1;x,y\n\"bob\";Okta;\"b;1\";\n",
			';', []Row{{Line: 2, Request: linked("alice", "a-1"), Extra: []Field{{Name: "note", Value: "x,y"}}},
				{Line: 3, Request: linked("bob", "b;1"), Extra: []Field{{Name: "note"}}}}},
		{"tab", "destination_user\tsource_provider\tsource_value\nalice\tOkta\ta-1\n", '\t',
			[]Row{{Line: 2, Request: linked("alice", "a-1")}}},
		{"vertical bar, with blank lines first", "\n\ndestination_user|source_provider|source_value\r\nalice|Okta|a-1\r\n", '|',
			[]Row{{Line: 4, Request: linked("alice", "a-1")}}},
		{"comma, with semicolons in a column name", "destination_user,source_provider,source_value,a;b;c\nalice,Okta,a-1,x\n", ',',
			[]Row{{Line: 2, Request: linked("alice", "a-1"), Extra: []Field{{Name: "a;b;c", Value: "x"}}}}},
		{"a report", "line,status,error_code,error_message,attempts,user_pool_id,destination_provider,destination_user,source_provider,source_attribute,source_value,duration_ms,finished_at,x;y\n" +
			"2,failed,E,\"a; b\",1," + pool + ",Cognito,alice,Okta,Cognito_Subject,a-1,3,2026-01-01T00:00:00Z,z\n", ',', nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sh, rows, err := openFile(t, "links.csv", tt.content, Options{UserPoolID: pool})
			if err != nil {
				t.Fatal(err)
			}
			if sh.Delimiter != tt.delim {
				t.Errorf("delimiter %q, want %q", sh.Delimiter, tt.delim)
			}
			if tt.want == nil {
				if len(rows) != 1 || !rows[0].Valid() || rows[0].Prior == nil || rows[0].Prior.Status != schema.Failed {
					t.Errorf("rows %+v: want the report's one failed row", rows)
				}
				return
			}
			checkRows(t, rows, tt.want)
		})
	}
}

// A Latin-1 row is refused with its byte, where it is, and what to do.
func TestLatin1Row(t *testing.T) {
	_, rows, err := openFile(t, "links.csv", "destination_user,source_provider,source_value\nJos\xe9,Okta,a-1\nbob,Okta,b-1\n", Options{UserPoolID: pool})
	if err != nil {
		t.Fatal(err)
	}
	want := `not UTF-8 text (byte 0xE9 in field 1): if the file is Latin-1 or Windows-1252, save it as "CSV UTF-8", or convert it: iconv -f WINDOWS-1252 -t UTF-8`
	if len(rows) != 2 || rows[0].Invalid != want || rows[0].Code != schema.UnreadableRow || !rows[1].Valid() {
		t.Errorf("rows %+v\nwant the first unreadable: %s", rows, want)
	}
}
