package plan

import "testing"

func TestEmailKey(t *testing.T) {
	for in, want := range map[string]string{
		" Alice@Example.COM\t": "alice@example.com",
		"\u212Aate@x":          "\u212Aate@x", // not folded onto k
		"ÉLODIE@x":             "Élodie@x",    // only ASCII letters fold
		"bob@x\u00a0":          "bob@x\u00a0", // a non-breaking space is not trimmed
		"":                     "",
	} {
		if got := EmailKey(in); got != want {
			t.Errorf("EmailKey(%q) = %q, want %q", in, got, want)
		}
	}
}
