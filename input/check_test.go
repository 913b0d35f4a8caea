package input

import (
	"strings"
	"testing"
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
		want string
	}{
		{"valid", ok, ""},
		{"valid social", req(pool, "Cognito", "alice", "Google", "Cognito_Subject", "1101694844"), ""},
		{"valid federated destination", req(pool, "Okta", "00u1", "Google", "Cognito_Subject", "1101694844"), ""},
		{"valid unicode", req(pool, "Cognito", "zoë 李", "Okta", "email", "zoë@example.com"), ""},

		{"missing pool", with(func(q *Request) { q.UserPoolID = "" }), "missing user_pool_id (set the column or --user-pool-id)"},
		{"missing destination provider", with(func(q *Request) { q.DestinationProvider = "" }), "missing destination_provider"},
		{"missing destination user", with(func(q *Request) { q.DestinationUser = "" }), "missing destination_user"},
		{"missing source provider", with(func(q *Request) { q.SourceProvider = "" }), "missing source_provider"},
		{"missing source attribute", with(func(q *Request) { q.SourceAttribute = "" }), "missing source_attribute"},
		{"missing source value", with(func(q *Request) { q.SourceValue = "" }), "missing source_value"},
		{"missing before malformed", req("", "Cognito", "", "Okta", "email", "x"), "missing user_pool_id (set the column or --user-pool-id)"},

		{"invalid UTF-8", with(func(q *Request) { q.SourceValue = "a\xffb" }), "source_value is not valid UTF-8"},
		{"control character", with(func(q *Request) { q.DestinationUser = "al\nice" }), "destination_user contains control character U+000A"},
		{"tab", with(func(q *Request) { q.SourceAttribute = "e\tmail" }), "source_attribute contains control character U+0009"},
		{"C1 control character", with(func(q *Request) { q.SourceValue = "a\u0085b" }), "source_value contains control character U+0085"},
		{"DEL", with(func(q *Request) { q.SourceProvider = "Ok\x7fta" }), "source_provider contains control character U+007F"},

		{"pool without region", with(func(q *Request) { q.UserPoolID = "Example1" }), `invalid user_pool_id "Example1": want <region>_<id>, like us-east-1_Example1`},
		{"pool with a bad id", with(func(q *Request) { q.UserPoolID = "us-east-1_Ex-ample" }), `invalid user_pool_id "us-east-1_Ex-ample": want <region>_<id>, like us-east-1_Example1`},
		{"pool with a space", with(func(q *Request) { q.UserPoolID = "us east-1_Example1" }), `invalid user_pool_id "us east-1_Example1": want <region>_<id>, like us-east-1_Example1`},
		{"pool of 55", with(func(q *Request) { q.UserPoolID = strings.Repeat("a", 45) + "_Example1X" }), ""},
		{"pool of 56", with(func(q *Request) { q.UserPoolID = strings.Repeat("a", 46) + "_Example1X" }),
			`invalid user_pool_id "` + strings.Repeat("a", 46) + `_Example1X": want <region>_<id>, like us-east-1_Example1`},

		{"source provider of 32", with(func(q *Request) { q.SourceProvider = strings.Repeat("é", 32) }), ""},
		{"source provider of 33", with(func(q *Request) { q.SourceProvider = strings.Repeat("é", 33) }), "source_provider is 33 characters long, over the 32 Cognito accepts"},
		{"destination provider of 33", with(func(q *Request) { q.DestinationProvider = strings.Repeat("d", 33) }), "destination_provider is 33 characters long, over the 32 Cognito accepts"},

		{"Cognito source", with(func(q *Request) { q.SourceProvider = "Cognito" }),
			"Cognito users cannot be a source, only a destination: source_provider must name an identity provider of the pool"},
		{"Cognito source in any case", with(func(q *Request) { q.SourceProvider = "COGNITO" }),
			"Cognito users cannot be a source, only a destination: source_provider must name an identity provider of the pool"},

		{"Google by email", with(func(q *Request) { q.SourceProvider = "Google" }), `Google users are linked by Cognito_Subject: got source_attribute "email"`},
		{"Facebook by email", with(func(q *Request) { q.SourceProvider = "facebook" }), `Facebook users are linked by Cognito_Subject: got source_attribute "email"`},
		{"Amazon by email", with(func(q *Request) { q.SourceProvider = "LOGINWITHAMAZON" }), `LoginWithAmazon users are linked by Cognito_Subject: got source_attribute "email"`},
		{"Apple by email", with(func(q *Request) { q.SourceProvider = "SignInWithApple" }), `SignInWithApple users are linked by Cognito_Subject: got source_attribute "email"`},
		{"Google by cognito_subject", with(func(q *Request) { q.SourceProvider, q.SourceAttribute = "Google", "cognito_subject" }),
			`Google users are linked by Cognito_Subject: got source_attribute "cognito_subject"`},
		{"SAML by email", with(func(q *Request) { q.SourceProvider = "GoogleSAML" }), ""},

		{"source of 128", with(func(q *Request) { q.SourceValue = strings.Repeat("v", 128-len("Okta")-len("email")) }), ""},
		{"source of 129", with(func(q *Request) { q.SourceValue = strings.Repeat("v", 129-len("Okta")-len("email")) }),
			"source_provider, source_attribute and source_value are 129 characters together, over the 128 Cognito accepts"},
		{"source of 128 characters, more bytes", with(func(q *Request) { q.SourceValue = strings.Repeat("ü", 128-len("Okta")-len("email")) }), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Check(&tt.req); got != tt.want {
				t.Errorf("Check(%+v):\ngot  %q\nwant %q", tt.req, got, tt.want)
			}
		})
	}
}
