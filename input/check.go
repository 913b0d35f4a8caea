package input

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/bulklink/bulklink/schema"
)

// Limits from the Cognito API model and observed behaviour (docs/cognito.md).
const (
	maxPoolID       = 55  // UserPoolId length
	maxProviderName = 32  // ProviderName length
	maxSourceTotal  = 128 // source provider + attribute + value, in characters
)

// SocialProviders are the provider names (and types) of the social identity providers,
// whose users can only be linked by Cognito_Subject.
var SocialProviders = [...]string{"Google", "Facebook", "LoginWithAmazon", "SignInWithApple"}

// Check reports why Cognito would refuse the request by its shape alone, or why bulklink
// does, as a code and a message; both are empty when the request looks acceptable. It expects
// trimmed values with the defaults applied, as the readers return them. The checks that need
// the pools or the rest of the input (providers, attributes, conflicts) are package plan's.
//
// Besides Cognito's own rules, Check refuses values that could pass for others: control
// characters, invisible formatting characters (Unicode category Cf: zero-width characters,
// bidirectional marks and isolates, a byte order mark), line and paragraph separators and the
// replacement character U+FFFD, the trace of text already damaged. A value is refused, never
// cleaned: the row's owner must see and fix it.
func Check(q *Request) (schema.Code, string) {
	type value struct {
		f field
		v string
	}
	values := [...]value{
		{userPoolID, q.UserPoolID},
		{destinationProvider, q.DestinationProvider},
		{destinationUser, q.DestinationUser},
		{sourceProvider, q.SourceProvider},
		{sourceAttribute, q.SourceAttribute},
		{sourceValue, q.SourceValue},
	}
	for _, f := range values {
		switch {
		case f.v != "":
		case f.f == userPoolID:
			return schema.MissingField, "missing user_pool_id (set the column or --user-pool-id)"
		default:
			return schema.MissingField, "missing " + f.f.String()
		}
	}
	for _, f := range values {
		if !utf8.ValidString(f.v) {
			return schema.UnreadableRow, f.f.String() + " is not valid UTF-8"
		}
		if i := deceptiveIndex(f.v); i >= 0 {
			r, _ := utf8.DecodeRuneInString(f.v[i:])
			return schema.UnreadableRow, fmt.Sprintf("%s contains %s %U at character %d",
				f.f, runeKind(r), r, utf8.RuneCountInString(f.v[:i])+1)
		}
	}
	if !validPoolID(q.UserPoolID) {
		return schema.InvalidValue, fmt.Sprintf("invalid user_pool_id %q: want <region>_<id>, like us-east-1_Example1", q.UserPoolID)
	}
	for _, f := range [...]value{{destinationProvider, q.DestinationProvider}, {sourceProvider, q.SourceProvider}} {
		if n := utf8.RuneCountInString(f.v); n > maxProviderName {
			return schema.InvalidValue, fmt.Sprintf("%s is %d characters long, over the %d Cognito accepts", f.f, n, maxProviderName)
		}
	}
	if strings.EqualFold(q.SourceProvider, DefaultDestinationProvider) {
		return schema.CognitoSource, "Cognito users cannot be a source, only a destination: source_provider must name an identity provider of the pool"
	}
	total := utf8.RuneCountInString(q.SourceProvider) + utf8.RuneCountInString(q.SourceAttribute) + utf8.RuneCountInString(q.SourceValue)
	if total > maxSourceTotal {
		return schema.InvalidValue, fmt.Sprintf("source_provider, source_attribute and source_value are %d characters together, over the %d Cognito accepts", total, maxSourceTotal)
	}
	return "", ""
}

// IsSocial reports whether a provider name or type is a social one, case-insensitively.
func IsSocial(name string) bool {
	for _, p := range SocialProviders {
		if strings.EqualFold(name, p) {
			return true
		}
	}
	return false
}

// deceptiveIndex returns the index of the first deceptive rune of s, or -1. ASCII text, the
// common case, needs no table lookups.
func deceptiveIndex(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			if j := strings.IndexFunc(s[i:], deceptive); j >= 0 {
				return i + j
			}
			return -1
		}
		if c < 0x20 || c == 0x7f {
			return i
		}
	}
	return -1
}

// deceptive reports whether r has no place in an identity value: it is invisible, changes how
// the text around it is shown, or marks damage.
func deceptive(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.In(r, unicode.Zl, unicode.Zp) ||
		unicode.Is(unicode.Zs, r) && r != ' ' || r == utf8.RuneError || unicode.Is(unicode.Cs, r)
}

// runeKind names the kind of a deceptive rune for a message.
func runeKind(r rune) string {
	switch {
	case unicode.IsControl(r):
		return "control character"
	case r == '\uFEFF':
		return "byte order mark"
	case r >= '\u200B' && r <= '\u200D' || r == '\u2060':
		return "zero-width character"
	case r == '\u200E' || r == '\u200F' || r == '\u061C' || r >= '\u202A' && r <= '\u202E' || r >= '\u2066' && r <= '\u2069':
		return "bidirectional mark"
	case r == utf8.RuneError:
		return "replacement character (the text was damaged before it reached bulklink)"
	case unicode.Is(unicode.Cf, r):
		return "invisible formatting character"
	case unicode.Is(unicode.Zs, r):
		return "space other than a plain one"
	}
	return "line or paragraph separator"
}

// validPoolID reports whether id has the shape of a user pool id: UserPoolId's pattern in
// the API model, [\w-]+_[0-9a-zA-Z]+, at most 55 characters.
func validPoolID(id string) bool {
	cut := strings.LastIndexByte(id, '_')
	if len(id) > maxPoolID || cut <= 0 || cut == len(id)-1 {
		return false
	}
	for i := range len(id) {
		c := id[i]
		alnum := c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !alnum && (i > cut || c != '_' && c != '-') {
			return false
		}
	}
	return true
}

// PoolRegion returns the region a well-formed pool id starts with, or "".
func PoolRegion(id string) string {
	if i := strings.LastIndexByte(id, '_'); i > 0 && validPoolID(id) {
		return id[:i]
	}
	return ""
}
