package input

import (
	"strings"
	"testing"

	"github.com/bulklink/bulklink/schema"
)

func TestCheck(t *testing.T) {
	ok := req(pool, "Cognito", "alice", "Okta", "email", "alice@example.com")
	with := func(change func(q *Request)) Request {
		q := ok
		change(&q)
		return q
	}
	tests := []struct {
		name string
		req  Request
		code schema.Code
		want string
	}{
		{"valid", ok, "", ""},
		{"valid social", req(pool, "Cognito", "alice", "Google", "Cognito_Subject", "1101694844"), "", ""},
		{"valid federated destination", req(pool, "Okta", "00u1", "Google", "Cognito_Subject", "1101694844"), "", ""},
		{"valid unicode", req(pool, "Cognito", "zoë 李", "Okta", "email", "zoë@example.com"), "", ""},

		{"missing pool", with(func(q *Request) { q.UserPoolID = "" }), schema.MissingField, "missing user_pool_id (set the column or --user-pool-id)"},
		{"missing destination provider", with(func(q *Request) { q.DestinationProvider = "" }), schema.MissingField, "missing destination_provider"},
		{"missing destination user", with(func(q *Request) { q.DestinationUser = "" }), schema.MissingField, "missing destination_user"},
		{"missing source provider", with(func(q *Request) { q.SourceProvider = "" }), schema.MissingField, "missing source_provider"},
		{"missing source attribute", with(func(q *Request) { q.SourceAttribute = "" }), schema.MissingField, "missing source_attribute"},
		{"missing source value", with(func(q *Request) { q.SourceValue = "" }), schema.MissingField, "missing source_value"},
		{"missing before malformed", req("", "Cognito", "", "Okta", "email", "x"), schema.MissingField, "missing user_pool_id (set the column or --user-pool-id)"},

		{"invalid UTF-8", with(func(q *Request) { q.SourceValue = "a\xffb" }), schema.UnreadableRow, "source_value is not valid UTF-8"},
		{"control character", with(func(q *Request) { q.DestinationUser = "al\nice" }), schema.UnreadableRow, "destination_user contains control character U+000A at character 3"},
		{"tab", with(func(q *Request) { q.SourceAttribute = "e\tmail" }), schema.UnreadableRow, "source_attribute contains control character U+0009 at character 2"},
		{"C1 control character", with(func(q *Request) { q.SourceValue = "a\u0085b" }), schema.UnreadableRow, "source_value contains control character U+0085 at character 2"},
		{"DEL", with(func(q *Request) { q.SourceProvider = "Ok\x7fta" }), schema.UnreadableRow, "source_provider contains control character U+007F at character 3"},

		{"zero-width space", with(func(q *Request) { q.SourceValue = "alice\u200b@example.com" }), schema.UnreadableRow,
			"source_value contains zero-width character U+200B at character 6"},
		{"zero-width joiner", with(func(q *Request) { q.DestinationUser = "al\u200dice" }), schema.UnreadableRow,
			"destination_user contains zero-width character U+200D at character 3"},
		{"right-to-left override", with(func(q *Request) { q.SourceValue = "\u202egro.elpmaxe@ecila" }), schema.UnreadableRow,
			"source_value contains bidirectional mark U+202E at character 1"},
		{"left-to-right mark", with(func(q *Request) { q.SourceProvider = "Okta\u200e" }), schema.UnreadableRow,
			"source_provider contains bidirectional mark U+200E at character 5"},
		{"isolate", with(func(q *Request) { q.DestinationUser = "a\u2066b" }), schema.UnreadableRow,
			"destination_user contains bidirectional mark U+2066 at character 2"},
		{"BOM inside", with(func(q *Request) { q.DestinationUser = "al\ufeffice" }), schema.UnreadableRow,
			"destination_user contains byte order mark U+FEFF at character 3"},
		{"soft hyphen", with(func(q *Request) { q.SourceValue = "ali\u00adce" }), schema.UnreadableRow,
			"source_value contains invisible formatting character U+00AD at character 4"},
		{"replacement character", with(func(q *Request) { q.SourceValue = "a\ufffd" }), schema.UnreadableRow,
			"source_value contains replacement character (the text was damaged before it reached bulklink) U+FFFD at character 2"},
		{"line separator", with(func(q *Request) { q.SourceValue = "a\u2028b" }), schema.UnreadableRow,
			"source_value contains line or paragraph separator U+2028 at character 2"},
		{"no-break space", with(func(q *Request) { q.SourceValue = "alice\u00a0smith" }), schema.UnreadableRow,
			"source_value contains space other than a plain one U+00A0 at character 6"},
		{"ideographic space", with(func(q *Request) { q.DestinationUser = "al\u3000ice" }), schema.UnreadableRow,
			"destination_user contains space other than a plain one U+3000 at character 3"},
		{"visible look-alikes are not this check's", with(func(q *Request) { q.DestinationUser = "аlice" }), "", ""},

		{"pool without region", with(func(q *Request) { q.UserPoolID = "Example1" }), schema.InvalidValue, `invalid user_pool_id "Example1": want <region>_<id>, like us-east-1_Example1`},
		{"pool with a bad id", with(func(q *Request) { q.UserPoolID = "us-east-1_Ex-ample" }), schema.InvalidValue, `invalid user_pool_id "us-east-1_Ex-ample": want <region>_<id>, like us-east-1_Example1`},
		{"pool with a space", with(func(q *Request) { q.UserPoolID = "us east-1_Example1" }), schema.InvalidValue, `invalid user_pool_id "us east-1_Example1": want <region>_<id>, like us-east-1_Example1`},
		{"pool of 55", with(func(q *Request) { q.UserPoolID = strings.Repeat("a", 45) + "_Example1X" }), "", ""},
		{"pool of 56", with(func(q *Request) { q.UserPoolID = strings.Repeat("a", 46) + "_Example1X" }), schema.InvalidValue,
			`invalid user_pool_id "` + strings.Repeat("a", 46) + `_Example1X": want <region>_<id>, like us-east-1_Example1`},

		{"source provider of 32", with(func(q *Request) { q.SourceProvider = strings.Repeat("é", 32) }), "", ""},
		{"source provider of 33", with(func(q *Request) { q.SourceProvider = strings.Repeat("é", 33) }), schema.InvalidValue, "source_provider is 33 characters long, over the 32 Cognito accepts"},
		{"destination provider of 33", with(func(q *Request) { q.DestinationProvider = strings.Repeat("d", 33) }), schema.InvalidValue, "destination_provider is 33 characters long, over the 32 Cognito accepts"},

		{"Cognito source", with(func(q *Request) { q.SourceProvider = "Cognito" }), schema.CognitoSource,
			"Cognito users cannot be a source, only a destination: source_provider must name an identity provider of the pool"},
		{"Cognito source in any case", with(func(q *Request) { q.SourceProvider = "COGNITO" }), schema.CognitoSource,
			"Cognito users cannot be a source, only a destination: source_provider must name an identity provider of the pool"},

		// Social providers by another attribute are package plan's rule (AttributeNotMapped).
		{"Google by email", with(func(q *Request) { q.SourceProvider = "Google" }), "", ""},
		{"SAML by email", with(func(q *Request) { q.SourceProvider = "GoogleSAML" }), "", ""},

		{"source of 128", with(func(q *Request) { q.SourceValue = strings.Repeat("v", 128-len("Okta")-len("email")) }), "", ""},
		{"source of 129", with(func(q *Request) { q.SourceValue = strings.Repeat("v", 129-len("Okta")-len("email")) }), schema.InvalidValue,
			"source_provider, source_attribute and source_value are 129 characters together, over the 128 Cognito accepts"},
		{"source of 128 characters, more bytes", with(func(q *Request) { q.SourceValue = strings.Repeat("ü", 128-len("Okta")-len("email")) }), "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code, got := Check(&tt.req); got != tt.want || code != tt.code {
				t.Errorf("Check(%+v):\ngot  %s %q\nwant %s %q", tt.req, code, got, tt.code, tt.want)
			}
		})
	}
}
