package discover

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/bulklink/bulklink/input"
	"github.com/bulklink/bulklink/plan"
	"github.com/bulklink/bulklink/schema"
)

// Mode is the kind of rows a discover writes.
type Mode string

// The modes.
const (
	ByAttribute Mode = "provider"   // --provider P --by ATTR: native users to P's identities
	Duplicates  Mode = "duplicates" // --duplicates: federated profiles to native users
)

// Query is what a discover looks for: its command line, less where the files go.
type Query struct {
	Mode Mode `json:"mode"`
	// Provider is --provider: the SAML or OIDC provider native users are linked to
	// (ByAttribute), or the only provider whose profiles are matched (Duplicates; "" for
	// every provider's).
	Provider string `json:"provider,omitempty"`
	// Attribute is --by: the user-pool attribute of Provider's mapping users are matched by
	// (ByAttribute only).
	Attribute string `json:"by,omitempty"`
	// EmailDomain is --email-domain: only users whose email is at this domain (compared
	// as emails are) take part.
	EmailDomain string `json:"email_domain,omitempty"`
	// Filter is --filter, a ListUsers filter (ParseFilter); "" lists every user.
	Filter string `json:"filter,omitempty"`
	// AllowUnverified is --allow-unverified-email: emails need not be verified.
	AllowUnverified bool `json:"allow_unverified_email,omitempty"`
}

func (q *Query) byEmail() bool { return q.Attribute == "email" }

// domain is --email-domain as emails' domains compare with it; "" when not given.
func (q *Query) domain() string {
	return plan.EmailKey(strings.TrimPrefix(plan.TrimASCII(q.EmailDomain), "@"))
}

// ConfigError refuses a query, or a discover that cannot continue: exit 2. Code, when set,
// names the rule, as an invalid row's code would.
type ConfigError struct {
	Code    schema.Code
	Message string
}

func (e *ConfigError) Error() string {
	if e.Code == "" {
		return e.Message
	}
	return e.Code + ": " + e.Message
}

// Check checks a query against its pool as run's trust checks would check the rows it
// writes (docs/trust.md): the provider is one of the pool's, a SAML or OIDC one for
// ByAttribute, and the attribute is in its attribute mapping. pool must exist.
func (q *Query) Check(pool *plan.Pool) error {
	if q.Provider != "" {
		prov, ok := pool.Providers[q.Provider]
		if !ok {
			msg := fmt.Sprintf("%q is not an identity provider of pool %s", q.Provider, pool.ID)
			for _, name := range slices.Sorted(maps.Keys(pool.Providers)) {
				if strings.EqualFold(name, q.Provider) {
					msg += fmt.Sprintf(" (it has %q: provider names are case-sensitive)", name)
				}
			}
			if names := slices.Sorted(maps.Keys(pool.Providers)); len(names) > 0 {
				msg += "; its providers: " + strings.Join(names, ", ")
			}
			return &ConfigError{schema.ProviderNotInPool, msg}
		}
		if q.Mode == ByAttribute {
			if prov.Type != "SAML" && prov.Type != "OIDC" {
				return &ConfigError{schema.AttributeNotMapped, fmt.Sprintf(
					"%s is a %s provider: its users are linked by Cognito_Subject, their subject at %s, which a native user does not hold; "+
						"--provider --by takes a SAML or OIDC provider (--duplicates finds the %s users who signed in already)", q.Provider, prov.Type, prov.Type, prov.Type)}
			}
			if _, ok := prov.Mapping[q.Attribute]; !ok {
				mapped := slices.Sorted(maps.Keys(prov.Mapping))
				msg := fmt.Sprintf("%q is not in the attribute mapping of %s, a %s provider", q.Attribute, q.Provider, prov.Type)
				if len(mapped) > 0 {
					msg += ": match by one of " + strings.Join(mapped, ", ")
				} else {
					msg += ": it maps no attribute; map one (email) in the pool's configuration first"
				}
				if q.Attribute == input.DefaultSourceAttribute {
					msg = fmt.Sprintf("--by %s: the subject at %s is not an attribute a native user holds; match by one of %s's mapped attributes (%s)",
						q.Attribute, q.Provider, q.Provider, strings.Join(mapped, ", "))
				}
				return &ConfigError{schema.AttributeNotMapped, msg}
			}
		}
	}
	return nil
}

// ParseFilter checks a ListUsers filter as Cognito reads it (docs/cognito.md, ListUsers):
// one searchable attribute, = or ^=, a value in double quotes in which \" and \\ stand for
// " and \. It refuses an email prefix ending with @, which Cognito was seen to find no one
// with. "" is no filter.
func ParseFilter(s string) (attribute, op, value string, err error) {
	if strings.TrimSpace(s) == "" {
		return "", "", "", nil
	}
	m := filterSyntax.FindStringSubmatch(s)
	if m == nil {
		return "", "", "", fmt.Errorf("--filter %q: want ATTRIBUTE = \"VALUE\" or ATTRIBUTE ^= \"VALUE\", one attribute, the value in double quotes (\\\" for a quote), e.g. 'email ^= \"a\"'", s)
	}
	attribute = m[1] + m[2]
	if !slices.Contains(searchable, attribute) {
		return "", "", "", fmt.Errorf("--filter %q: ListUsers cannot filter on %s; it filters on %s", s, attribute, strings.Join(searchable, ", "))
	}
	op, value = m[3], strings.NewReplacer(`\"`, `"`, `\\`, `\`).Replace(m[4])
	if attribute == "email" && op == "^=" && strings.HasSuffix(value, "@") {
		return "", "", "", fmt.Errorf("--filter %q: Cognito was seen to find no one with an email prefix that ends with @; filter by the part before it (email ^= %q), and keep the domain with --email-domain", s, strings.TrimSuffix(value, "@"))
	}
	return attribute, op, value, nil
}

// filterSyntax is a ListUsers filter's grammar: an attribute name, bare or quoted, = or ^=,
// and a quoted value.
var filterSyntax = regexp.MustCompile(`^\s*(?:"([\w:]+)"|([\w:]+))\s*(\^?=)\s*"((?:[^"\\]|\\.)*)"\s*$`)

// searchable are the attributes ListUsers filters on (docs/cognito.md, ListUsers).
var searchable = []string{
	"username", "email", "phone_number", "name", "given_name", "family_name",
	"preferred_username", "cognito:user_status", "status", "sub",
}
