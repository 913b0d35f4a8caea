package schema

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestREADMEListsTheTables holds README's lists to the tables: every code and status is
// documented, and README documents no code the schema lacks.
func TestREADMEListsTheTables(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, c := range Codes {
		if !strings.Contains(readme, "`"+c.Code+"`") {
			t.Errorf("README does not list the code %s", c.Code)
		}
	}
	for _, s := range Statuses {
		if !strings.Contains(readme, "`"+string(s.Status)+"`") {
			t.Errorf("README does not list the status %s", s.Status)
		}
	}
	// The codes table of invalid rows names only codes of the schema.
	start := strings.Index(readme, "| error_code | the row |")
	if start < 0 {
		t.Fatal("README has no table of error codes")
	}
	table := readme[start:]
	table = table[:strings.Index(table, "\n\n")]
	for _, line := range strings.Split(table, "\n")[2:] {
		for _, m := range regexp.MustCompile("`([A-Z][A-Za-z]+)`").FindAllStringSubmatch(strings.SplitN(line, "|", 3)[1], -1) {
			if !slices.ContainsFunc(Codes[:], func(c CodeInfo) bool { return c.Code == m[1] }) {
				t.Errorf("README lists %s, which is not a code of the schema", m[1])
			}
		}
	}
	for _, c := range Columns {
		if !strings.Contains(readme, c.Name) {
			t.Errorf("README does not name the column %s", c.Name)
		}
	}

	// discover's refused file: a table of its codes, every one and no other.
	start = strings.Index(readme, "| code | discover refuses the candidate |")
	if start < 0 {
		t.Fatal("README has no table of discover's codes")
	}
	table = readme[start:]
	table = table[:strings.Index(table, "\n\n")]
	listed := map[string]bool{}
	for _, line := range strings.Split(table, "\n")[2:] {
		for _, m := range regexp.MustCompile("`([A-Z][A-Za-z]+)`").FindAllStringSubmatch(strings.SplitN(line, "|", 3)[1], -1) {
			listed[m[1]] = true
			if !slices.ContainsFunc(Refusals[:], func(r Refusal) bool { return r.Code == m[1] }) {
				t.Errorf("README lists %s among discover's codes, which is not one of schema.Refusals", m[1])
			}
		}
	}
	for _, r := range Refusals {
		if !listed[r.Code] {
			t.Errorf("README's table of discover's codes does not list %s", r.Code)
		}
	}
}

func TestRename(t *testing.T) {
	tests := []struct{ in, want []string }{
		{[]string{"ticket", "status"}, []string{"ticket", "input_status"}},
		{[]string{"status", "input_status"}, []string{"input_input_status", "input_status"}},
		{[]string{"input_status", "Status", "INPUT_INPUT_STATUS"}, []string{"input_status", "input_input_input_Status", "INPUT_INPUT_STATUS"}},
		{[]string{" line ", "extra", "Extra2"}, []string{"input_line", "input_extra", "Extra2"}},
	}
	for _, tt := range tests {
		if got := Rename(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("Rename(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
