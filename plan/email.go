package plan

import "strings"

// EmailKey is an email as bulklink compares two (discover's matching, a merge's
// preconditions): ASCII white space trimmed, ASCII letters in lower case, every other
// character as it is. Unicode case mapping is not applied: it maps characters of other
// scripts onto ASCII ones (the KELVIN SIGN onto k, İ onto i), which would let an address
// someone else can own match a user's (docs/discover.md, Matching).
func EmailKey(s string) string {
	s = TrimASCII(s)
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; 'A' <= c && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// TrimASCII trims ASCII white space, and only that: a non-breaking space is a character of
// the value.
func TrimASCII(s string) string { return strings.Trim(s, " \t\r\n\v\f") }
