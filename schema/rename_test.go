package schema

import (
	"strings"
	"testing"
)

// TestRenameHostile: however an input spells its columns, the names Rename gives are like
// no other, as the readers compare names (case and surrounding spaces aside), and none is
// reserved, so that every report reads back as an input.
func TestRenameHostile(t *testing.T) {
	t.Parallel()
	for _, names := range [][]string{
		{"status", " input_status"},
		{"status", "INPUT_STATUS "},
		{" Status ", "input_status", " input_input_status"},
		{"line", "status", "extra", "\tinput_line", "input_status\t", " INPUT_EXTRA"},
		{"error_code", "input_error_code", "input_input_error_code ", "Input_Input_Input_Error_Code"},
	} {
		got := Rename(names)
		seen := map[string]string{}
		for i, n := range got {
			if Reserved(n) {
				t.Errorf("Rename(%q)[%d] = %q: reserved", names, i, n)
			}
			k := strings.ToLower(strings.TrimSpace(n))
			if other, ok := seen[k]; ok {
				t.Errorf("Rename(%q): %q and %q are alike", names, other, n)
			}
			seen[k] = n
			if !Reserved(names[i]) && n != names[i] {
				t.Errorf("Rename(%q)[%d] = %q, want the unreserved name kept", names, i, n)
			}
		}
	}
}
