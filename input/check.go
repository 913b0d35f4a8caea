package input

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits from the Cognito API model and observed behaviour (see COGNITO.md).
const (
	maxPoolID       = 55  // UserPoolId length
	maxProviderName = 32  // ProviderName length
	maxSourceTotal  = 128 // source provider + attribute + value, in characters
)

// poolIDPattern is UserPoolId's pattern in the API model: <region>_<id>.
var poolIDPattern = regexp.MustCompile(`^[\w-]+_[0-9a-zA-Z]+$`)

// socialProviders are the provider names of social identity providers, whose users can only
// be linked by Cognito_Subject.
var socialProviders = [...]string{"Google", "Facebook", "LoginWithAmazon", "SignInWithApple"}

// Check reports why Cognito would refuse the request, or "" when it looks acceptable. It
// expects trimmed values with the defaults applied, as the readers return them.
func Check(q *Request) string {
	type value struct {
		col column
		v   string
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
		case f.col == userPoolID:
			return "missing user_pool_id (set the column or --user-pool-id)"
		default:
			return "missing " + f.col.String()
		}
	}
	for _, f := range values {
		if !utf8.ValidString(f.v) {
			return f.col.String() + " is not valid UTF-8"
		}
		if i := strings.IndexFunc(f.v, unicode.IsControl); i >= 0 {
			r, _ := utf8.DecodeRuneInString(f.v[i:])
			return fmt.Sprintf("%s contains control character %U", f.col, r)
		}
	}
	if !validPoolID(q.UserPoolID) {
		return fmt.Sprintf("invalid user_pool_id %q: want <region>_<id>, like us-east-1_Example1", q.UserPoolID)
	}
	for _, f := range [...]value{{destinationProvider, q.DestinationProvider}, {sourceProvider, q.SourceProvider}} {
		if n := utf8.RuneCountInString(f.v); n > maxProviderName {
			return fmt.Sprintf("%s is %d characters long, over the %d Cognito accepts", f.col, n, maxProviderName)
		}
	}
	if strings.EqualFold(q.SourceProvider, DefaultDestinationProvider) {
		return "Cognito users cannot be a source, only a destination: source_provider must name an identity provider of the pool"
	}
	for _, p := range socialProviders {
		if strings.EqualFold(q.SourceProvider, p) && q.SourceAttribute != DefaultSourceAttribute {
			return fmt.Sprintf("%s users are linked by Cognito_Subject: got source_attribute %q", p, q.SourceAttribute)
		}
	}
	total := utf8.RuneCountInString(q.SourceProvider) + utf8.RuneCountInString(q.SourceAttribute) + utf8.RuneCountInString(q.SourceValue)
	if total > maxSourceTotal {
		return fmt.Sprintf("source_provider, source_attribute and source_value are %d characters together, over the %d Cognito accepts", total, maxSourceTotal)
	}
	return ""
}

// validPoolID reports whether id has the shape of a user pool id.
func validPoolID(id string) bool {
	return len(id) <= maxPoolID && poolIDPattern.MatchString(id)
}
