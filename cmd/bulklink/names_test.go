package main

import (
	"strings"
	"testing"
)

// TestInputRefusesControlInNames: an input whose header holds a control character in a
// column name is refused (exit 2), naming the column and the line once (issue 23, item 2).
func TestInputRefusesControlInNames(t *testing.T) {
	t.Parallel()
	in := writeFile(t, "links.csv", "destination_user,source_provider,source_value,\"no\x1b[2Jte\"\nalice,Google,1,x\n")
	res := bulklink(t, nil, "validate", "--input", in, "--user-pool-id", hostilePool, "--offline", "--log-format", "console")
	if res.code != exitUsage {
		t.Errorf("exit %d, want %d", res.code, exitUsage)
	}
	saysOnce(t, res.stderr, "bulklink validate: ", in, `header on line 1: column 4's name "no\x1b[2Jte" holds control character U+001B`)
	if strings.Contains(res.stderr, "\x1b") {
		t.Errorf("the message holds the escape itself: %q", res.stderr)
	}
}
