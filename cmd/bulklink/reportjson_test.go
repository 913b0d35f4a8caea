package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bulklink/bulklink/schema"
)

// hostileNames are carried column names a tampered report, or one of an older bulklink, may
// hold: control characters, DEL, BEL, a tag character, and what JSON must escape.
var hostileNames = []string{"a\x01b", "del\x7f", "bel\a", "tag\U000E0001", "esc\x1b[2J", `q"uote\`, "<html>&", "line\u2028sep"}

// jsonKeys decodes one JSON object, keeping its keys in order.
func jsonKeys(t *testing.T, line []byte) ([]string, map[string]any) {
	t.Helper()
	if !json.Valid(line) {
		t.Fatalf("not JSON: %s", line)
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.Token()
	var keys []string
	m := map[string]any{}
	for dec.More() {
		k, _ := dec.Token()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		m[k.(string)] = v
	}
	return keys, m
}

// TestReportJSONOfHostileNames: `bulklink report --output jsonl` of a CSV report whose
// carried columns have hostile names prints JSON that parses and reads back as the report's
// names and values exactly, and `--output csv` of a JSONL report prints its extra column as
// JSON (issue 23, item 2). Before, the keys were quoted as Go quotes them ("a\x01b"), which
// is no JSON.
func TestReportJSONOfHostileNames(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	header := append(schema.ColumnNames(), hostileNames...)
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write(header)
	for i := range 3 {
		row := []string{itoa(i + 2), "linked", "", "", "1", hostilePool, "Cognito", "u" + itoa(i), "Google", "Cognito_Subject", "s" + itoa(i), "12", "2026-01-02T03:04:05.000Z"}
		for _, n := range hostileNames {
			row = append(row, "v-"+n)
		}
		w.Write(row)
	}
	w.Flush()
	rep := filepath.Join(dir, "r.csv")
	must(t, os.WriteFile(rep, b.Bytes(), 0o600))
	res := bulklink(t, nil, "report", rep, "--status", "linked", "--output", "jsonl")
	lines := strings.Split(strings.TrimSuffix(res.stdout, "\n"), "\n")
	if res.code != exitOK || len(lines) != 3 {
		t.Fatalf("exit %d, %d lines; want 0 and 3:\n%s", res.code, len(lines), res.stdout)
	}
	var jsonl bytes.Buffer
	for _, l := range lines {
		keys, m := jsonKeys(t, []byte(l))
		if !slices.Equal(keys, header) {
			t.Errorf("keys %q, want the report's columns %q", keys, header)
		}
		for _, n := range hostileNames {
			if m[n] != "v-"+n {
				t.Errorf("%q: %v, want %q", n, m[n], "v-"+n)
			}
		}
		if m["line"] == nil || m["attempts"] != 1.0 {
			t.Errorf("line %v, attempts %v: want numbers", m["line"], m["attempts"])
		}
		jsonl.WriteString(l + "\n")
	}

	// What it printed is a JSONL report; its CSV has the carried keys as one JSON object.
	rj := filepath.Join(dir, "r.jsonl")
	must(t, os.WriteFile(rj, jsonl.Bytes(), 0o600))
	res = bulklink(t, nil, "report", rj, "--status", "linked", "--output", "csv")
	rows, err := csv.NewReader(strings.NewReader(res.stdout)).ReadAll()
	if err != nil || len(rows) != 4 {
		t.Fatalf("exit %d, %v: want a header and 3 rows of CSV:\n%s", res.code, err, res.stdout)
	}
	for _, r := range rows[1:] {
		_, m := jsonKeys(t, []byte(r[len(r)-1]))
		for _, n := range hostileNames {
			if m[n] != "v-"+n {
				t.Errorf("extra[%q]: %v, want %q", n, m[n], "v-"+n)
			}
		}
	}
}
