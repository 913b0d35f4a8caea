package input

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/agnivade/levenshtein"

	"github.com/bulklink/bulklink/schema"
)

// Files exported from spreadsheets are the usual input, and the usual trouble: a workbook
// saved under a .csv name, UTF-16 or Latin-1 text, semicolons or tabs between the fields,
// line ends of a single CR, a column name mistyped. The readers look at the first bytes of
// the text (headSize) before the first row, and say what the file is and what to do about
// it, instead of failing on the first row with a message about quotes or UTF-8.

// headSize is how much of the text is looked at before the first row.
const headSize = 64 << 10

// saveAsCSV is the advice for a file a spreadsheet wrote in another shape.
const saveAsCSV = `save it from the spreadsheet as "CSV UTF-8 (Comma delimited) (.csv)"`

// diagnoseText names what the first bytes of an input show it is not: text in UTF-8 with
// line ends of LF or CR LF. It returns "" when nothing is wrong with them.
func diagnoseText(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return "it is a zip archive, such as an Excel workbook (.xlsx) named .csv, not text: " + saveAsCSV
	case bytes.HasPrefix(head, []byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")):
		return "it is an Excel 97-2003 workbook (.xls), not text: " + saveAsCSV
	case bytes.HasPrefix(head, []byte("\xff\xfe")), bytes.HasPrefix(head, []byte("\xfe\xff")):
		return `it is UTF-16 text (Excel's "Unicode Text"): ` + saveAsCSV + ", or convert it: iconv -f UTF-16 -t UTF-8 in.csv > out.csv"
	case bytes.HasPrefix(head, []byte("%PDF-")):
		return "it is a PDF document, not text"
	}
	// A quarter of NUL bytes or more is no UTF-8 text. (A stray NUL in a value is the row's
	// problem, not the file's.) UTF-16 without a byte order mark has them one in two, between
	// the characters of ASCII text; zeros in runs are something else: a zeroed or sparse
	// file, a disk image, a gzip bomb of zeros after a header. iconv would not help those.
	if sample := head[:min(len(head), 4096)]; len(sample) >= 4 && bytes.Count(sample, []byte{0})*4 >= len(sample) {
		if nulRuns(sample) {
			return "it is not text: it holds runs of NUL bytes (zeros), as a zeroed, sparse or binary file does, not a CSV or JSONL export: check that it is the file meant"
		}
		return "it holds NUL bytes between its characters, as UTF-16 text does: " + saveAsCSV + ", or convert it: iconv -f UTF-16LE -t UTF-8 in.csv > out.csv"
	}
	if bytes.IndexByte(head, '\n') < 0 && bytes.Count(head, []byte{'\r'}) >= 2 {
		return `its lines end with a carriage return alone (CR, as classic Mac OS and Excel's "CSV (Macintosh)" write them): ` +
			saveAsCSV + `, or convert it: tr '\r' '\n' < in.csv > out.csv`
	}
	return ""
}

// nulRuns reports whether most of b's NUL bytes lie next to another NUL: zeros in runs,
// not the NUL of every other byte that UTF-16 gives ASCII text (which has two together only
// around a character such as U+0100).
func nulRuns(b []byte) bool {
	var nuls, paired int
	for i, c := range b {
		if c != 0 {
			continue
		}
		nuls++
		if i > 0 && b[i-1] == 0 || i+1 < len(b) && b[i+1] == 0 {
			paired++
		}
	}
	return paired*2 > nuls
}

// notUTF8 says why a record that is not UTF-8 cannot be read, where (at names the place of
// a byte offset), and the likely cause: a spreadsheet export in Latin-1 or Windows-1252,
// where é is the single byte 0xE9.
func notUTF8(b []byte, at func(i int) string, f Format) string {
	i := 0
	for i < len(b) {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			break
		}
		i += size
	}
	if i >= len(b) {
		return "not UTF-8 text"
	}
	advice := `save it as "CSV UTF-8", or convert it`
	if f == JSONL {
		advice = "convert it"
	}
	return fmt.Sprintf("not UTF-8 text (byte 0x%02X in %s): if the file is Latin-1 or Windows-1252, %s: iconv -f WINDOWS-1252 -t UTF-8",
		b[i], at(i), advice)
}

// firstLine returns the first line of head that is not blank, without its line end.
func firstLine(head []byte) []byte {
	head = bytes.TrimPrefix(head, bom)
	for len(head) > 0 {
		line, rest, _ := bytes.Cut(head, []byte{'\n'})
		if !isBlank(line) {
			return bytes.TrimSuffix(line, []byte{'\r'})
		}
		head = rest
	}
	return nil
}

// delimiters are the separators spreadsheets write between fields, in the order they are
// tried: the comma first, and the others only when it does not make a header.
var delimiters = []byte{',', ';', '\t', '|'}

// delimiterName names a delimiter in messages.
func delimiterName(d byte) string {
	switch d {
	case ';':
		return "semicolon"
	case '\t':
		return "tab"
	case '|':
		return "vertical bar"
	}
	return "comma"
}

// sniffDelimiter returns the delimiter of the CSV whose header is line. The comma stays
// unless its fields lack a required column and another delimiter's fields have more of the
// columns bulklink knows: a file that reads with commas is read with commas (every report
// among them), and a spreadsheet's semicolon or tab export is read as it was meant.
func sniffDelimiter(line []byte) byte {
	required := func(names []string) (known int, complete bool) {
		var has [numFields]bool
		for _, n := range names {
			f := fieldOf(unquoteName(n))
			if f != noField {
				known++
				has[f] = true
			}
		}
		return known, has[destinationUser] && has[sourceProvider] && has[sourceValue]
	}
	known, complete := required(splitHeader(line, ','))
	if complete {
		return ','
	}
	best, bestKnown := byte(','), known
	for _, d := range delimiters[1:] {
		if k, _ := required(splitHeader(line, d)); k > bestKnown {
			best, bestKnown = d, k
		}
	}
	return best
}

// splitHeader splits a header line at d, outside quotes: enough to count its names.
func splitHeader(line []byte, d byte) []string {
	var names []string
	quoted, start := false, 0
	for i, c := range line {
		switch {
		case c == '"':
			quoted = !quoted
		case c == d && !quoted:
			names = append(names, string(line[start:i]))
			start = i + 1
		}
	}
	return append(names, string(line[start:]))
}

func unquoteName(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = strings.ReplaceAll(s[1:len(s)-1], `""`, `"`)
	}
	return s
}

// looksLikeCSVHeader reports whether line reads as a CSV header with a request column.
func looksLikeCSVHeader(line []byte) bool {
	for _, d := range delimiters {
		for _, n := range splitHeader(line, d) {
			if fieldOf(unquoteName(n)) != noField {
				return true
			}
		}
	}
	return false
}

// wrongFormat says when the first line of an input shows it is in the other format.
func wrongFormat(head []byte, f Format) string {
	line := firstLine(head)
	switch {
	case f == CSV && bytes.HasPrefix(bytes.TrimSpace(line), []byte("{")):
		return "it looks like JSON lines, not CSV: name it .jsonl, or pass --format jsonl"
	case f == JSONL && len(line) > 0 && !bytes.HasPrefix(bytes.TrimSpace(line), []byte("{")) && looksLikeCSVHeader(line):
		return "its first line is a CSV header, not a JSON object: name it .csv, or pass --format csv"
	}
	return ""
}

// normalizeName is a column name as a person may have meant it: lower case, with spaces
// and hyphens for underscores ("Source Provider", "source-provider").
func normalizeName(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	return strings.NewReplacer(" ", "_", "-", "_").Replace(s)
}

// nearestColumn returns which of names (a header's unknown columns) most likely means the
// column want, and its index, or -1: the same name but for case, spaces and hyphens, or one
// a few edits away (agnivade/levenshtein counts them).
func nearestColumn(want string, names []string, used map[int]bool) int {
	best, bestD := -1, max(2, len(want)/4)+1
	for i, n := range names {
		if used[i] {
			continue
		}
		d := levenshtein.ComputeDistance(normalizeName(n), want)
		if d < bestD {
			best, bestD = i, d
		}
	}
	return best
}

// suggestColumns says, for each missing required column, which column of the header was
// probably meant: `column 3 "source_providr" (did you mean source_provider?)`.
func suggestColumns(missing []string, header []string, cols []field) string {
	var unknown []string
	var index []int
	for i, f := range cols {
		if f == noField && !schema.Reserved(header[i]) {
			unknown = append(unknown, header[i])
			index = append(index, i)
		}
	}
	used := map[int]bool{}
	var hints []string
	for _, m := range missing {
		if j := nearestColumn(m, unknown, used); j >= 0 {
			used[j] = true
			hints = append(hints, fmt.Sprintf("column %d %q (did you mean %s?)", index[j]+1, strings.TrimSpace(unknown[j]), m))
		}
	}
	return strings.Join(hints, ", ")
}
