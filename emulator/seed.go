package emulator

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bulklink/bulklink/internal/safefile"
)

// Seed is a state to load into an emulator, as `bulklink emulate --seed` reads it from JSON:
//
//	{"user_pools": [{"id": "us-east-1_Example1",
//	  "identity_providers": [{"name": "Google", "type": "Google"},
//	                         {"name": "Okta", "type": "SAML", "attribute_mapping":
//	                           {"email": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"}}],
//	  "users": [{"username": "alice"},
//	            {"username": "bob", "identities": [{"provider": "Okta", "value": "bob@example.com"}]},
//	            {"username": "carol", "identities": [{"provider": "Okta", "attribute": "email",
//	                                                  "value": "carol@example.com", "signed_in_subject": "00u123"}]},
//	            {"username": "Google_1234", "federated": true}]}]}
type Seed struct {
	UserPools []SeedPool `json:"user_pools"`
}

// SeedPool is a user pool in a Seed.
type SeedPool struct {
	ID   string `json:"id"`             // e.g. us-east-1_Example1; its region is the part before the last "_"
	Name string `json:"name,omitempty"` // default: the ID
	// CaseSensitive is the pool's UsernameConfiguration.CaseSensitive. When false, the
	// pool's usernames (and its email and preferred_username values) are stored and
	// answered in lower case, and every username in a call is matched whatever its case
	// (docs/emulator.md, Case-insensitive pools). Absent: case-sensitive, and
	// DescribeUserPool answers no UsernameConfiguration, as for pools made before the
	// setting existed.
	CaseSensitive     *bool          `json:"case_sensitive,omitempty"`
	IdentityProviders []SeedProvider `json:"identity_providers,omitempty"`
	// ImmutableAttributes are custom attributes, e.g. "custom:tenant", that the pool's schema
	// declares immutable. A user with a value for one cannot be linked.
	ImmutableAttributes []string    `json:"immutable_attributes,omitempty"`
	Groups              []SeedGroup `json:"groups,omitempty"`
	Users               []SeedUser  `json:"users,omitempty"`
}

// SeedGroup is a group of a SeedPool, as CreateGroup makes one.
type SeedGroup struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Precedence orders a user's groups for the role of its tokens: lower first. Absent,
	// the group has none.
	Precedence *int32 `json:"precedence,omitempty"`
	RoleArn    string `json:"role_arn,omitempty"`
}

// SeedMFA are the MFA settings of a SeedUser, as AdminSetUserMFAPreference leaves them.
type SeedMFA struct {
	// Preferred is one of Enabled, or "".
	Preferred string `json:"preferred,omitempty"`
	// Enabled are the user's MFA methods: SMS_MFA, SOFTWARE_TOKEN_MFA, EMAIL_OTP.
	Enabled []string `json:"enabled,omitempty"`
}

// SeedProvider is an identity provider configured in a SeedPool.
type SeedProvider struct {
	Name string `json:"name"`
	Type string `json:"type"` // SAML, OIDC, Google, Facebook, LoginWithAmazon or SignInWithApple
	// AttributeMapping maps user-pool attributes (the keys, e.g. "email") to the provider's
	// claims (the values), as CreateIdentityProvider takes it and DescribeIdentityProvider
	// answers it. Links by a SAML or OIDC provider's attribute name one of its keys.
	AttributeMapping map[string]string `json:"attribute_mapping,omitempty"`
}

// SeedUser is a user in a SeedPool.
type SeedUser struct {
	Username string `json:"username"`
	// Federated makes the user the profile a federated user got by signing in: the username
	// is <Provider>_<the provider's user ID> and the status EXTERNAL_PROVIDER. Otherwise the
	// user is a native one, CONFIRMED.
	Federated bool `json:"federated,omitempty"`
	// Attributes are the user's attributes, e.g. "email" and "email_verified" ("true" or
	// "false"). A "sub" sets the user's sub, which is otherwise random.
	Attributes map[string]string `json:"attributes,omitempty"`
	// Enabled is false for a disabled user; absent, the user is enabled.
	Enabled *bool `json:"enabled,omitempty"`
	// Status is the user's UserStatus: CONFIRMED when absent for a native user, and
	// EXTERNAL_PROVIDER, the only one it may have, for a federated profile.
	Status string `json:"status,omitempty"`
	// Identities are linked to the user, by the rules of AdminLinkProviderForUser.
	Identities []SeedIdentity `json:"identities,omitempty"`
	// Groups are the names of the pool's groups the user belongs to.
	Groups []string `json:"groups,omitempty"`
	// MFA are the user's MFA settings; absent, none.
	MFA *SeedMFA `json:"mfa,omitempty"`
}

// SeedIdentity is an external identity linked to a SeedUser.
type SeedIdentity struct {
	Provider  string `json:"provider"`
	Attribute string `json:"attribute,omitempty"` // the ProviderAttributeName; default Cognito_Subject
	Value     string `json:"value"`
	// SignedInSubject makes the identity one that has signed in since it was linked, with
	// this subject, as Emulator.SignIn does.
	SignedInSubject string `json:"signed_in_subject,omitempty"`
}

// SeedAge is how long before the emulator's start its seed's state is dated.
const SeedAge = 24 * time.Hour

// ReadSeed reads a Seed from JSON. Unknown fields are errors, so that a misspelt one is not
// silently ignored.
func ReadSeed(r io.Reader) (Seed, error) {
	var s Seed
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return Seed{}, fmt.Errorf("read seed: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Seed{}, errors.New("read seed: unexpected data after the top-level object")
	}
	return s, nil
}

// LoadSeedFile reads a Seed from a JSON file.
func LoadSeedFile(path string) (Seed, error) {
	f, err := safefile.Open(context.Background(), path, os.O_RDONLY, safefile.Policy{}) // a FIFO is refused, not waited on
	if err != nil {
		return Seed{}, err
	}
	defer f.Close()
	s, err := ReadSeed(f)
	if err != nil {
		return Seed{}, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// Load adds the pools of s to the emulator, all or none: it fails if s is inconsistent
// (a link the service would refuse, a provider that is not configured, ...) or names a pool
// the emulator already has.
func (e *Emulator) Load(s Seed) error {
	// What a seed holds was there before the emulator started: its pools, users and links
	// are dated SeedAge earlier, so that a run against it never takes them for its own.
	now := e.clock().Add(-SeedAge)
	pools := make(map[string]*pool, len(s.UserPools))
	for _, sp := range s.UserPools {
		if pools[sp.ID] != nil {
			return fmt.Errorf("seed: user pool %s: listed twice", sp.ID)
		}
		p, err := sp.build(now)
		if err != nil {
			return fmt.Errorf("seed: user pool %s: %w", sp.ID, err)
		}
		pools[sp.ID] = p
	}
	e.store.mu.Lock()
	defer e.store.mu.Unlock()
	for id := range pools {
		if e.store.pools[id] != nil {
			return fmt.Errorf("seed: user pool %s: already exists", id)
		}
	}
	maps.Copy(e.store.pools, pools)
	return nil
}

func (sp SeedPool) build(now time.Time) (*pool, error) {
	if !valid(sp.ID, shapeUserPoolID) {
		return nil, fmt.Errorf("id %q is not a user pool ID like us-east-1_Example1", sp.ID)
	}
	region := sp.ID[:strings.LastIndex(sp.ID, "_")]
	p := newPool(sp.ID, cmp.Or(sp.Name, sp.ID), region, sp.CaseSensitive, now)

	for _, sp := range sp.IdentityProviders {
		switch {
		case !valid(sp.Name, shapeProviderNameV2):
			return nil, fmt.Errorf("identity provider %q: not a valid provider name", sp.Name)
		case !slices.Contains(providerTypes, sp.Type):
			return nil, fmt.Errorf("identity provider %s: type %q is not one of %v", sp.Name, sp.Type, providerTypes)
		case p.providers[sp.Name] != nil:
			return nil, fmt.Errorf("identity provider %s: listed twice", sp.Name)
		}
		for attr := range sp.AttributeMapping {
			if !valid(attr, shapeAttributeMappingKey) {
				return nil, fmt.Errorf("identity provider %s: attribute mapping key %q: want a user-pool attribute of 1 to 32 characters", sp.Name, attr)
			}
		}
		p.providers[sp.Name] = &provider{
			name: sp.Name, typ: sp.Type,
			details: map[string]string{}, mapping: maps.Clone(sp.AttributeMapping),
			created: now, modified: now,
		}
	}

	for _, sg := range sp.Groups {
		switch {
		case !valid(sg.Name, shapeGroupName):
			return nil, fmt.Errorf("group %q: not a valid group name", sg.Name)
		case p.groups[sg.Name] != nil:
			return nil, fmt.Errorf("group %q: listed twice", sg.Name)
		case sg.Precedence != nil && *sg.Precedence < 0:
			return nil, fmt.Errorf("group %q: precedence %d: want 0 or more", sg.Name, *sg.Precedence)
		case sg.RoleArn != "" && !valid(sg.RoleArn, shapeArn):
			return nil, fmt.Errorf("group %q: role_arn %q: not an ARN like arn:aws:iam::123456789012:role/name", sg.Name, sg.RoleArn)
		case !valid(sg.Description, shapeDescription):
			return nil, fmt.Errorf("group %q: description over 2048 characters", sg.Name)
		}
		p.groups[sg.Name] = &group{
			name: sg.Name, description: sg.Description, roleArn: sg.RoleArn, precedence: sg.Precedence,
			created: now, modified: now,
		}
	}

	for _, name := range sp.ImmutableAttributes {
		if !strings.HasPrefix(name, "custom:") {
			return nil, fmt.Errorf("immutable attribute %q: want a custom attribute, custom:<name>", name)
		}
		p.custom = append(p.custom, customAttribute{name: name, dataType: "String", mutable: false})
	}

	users := make([]*user, len(sp.Users))
	usernames := make(map[string]bool, len(sp.Users))
	subs := make(map[string]bool, len(sp.Users))
	for i, su := range sp.Users {
		u, err := p.seedUser(su, now)
		if err != nil {
			return nil, fmt.Errorf("user %q: %w", su.Username, err)
		}
		if usernames[u.username] || subs[u.sub] {
			return nil, fmt.Errorf("user %q: username or sub listed twice", su.Username)
		}
		users[i] = u
		usernames[u.username], subs[u.sub] = true, true
	}
	p.addAll(users)

	for i, su := range sp.Users {
		for _, id := range su.Identities {
			src := providerRef{id.Provider, cmp.Or(id.Attribute, attributeSubject), id.Value}
			prov, err := p.checkSource(src)
			if err == nil {
				err = p.checkLinkable(users[i], src, false)
			}
			if err != nil {
				return nil, fmt.Errorf("user %q: identity %s/%s: %w", su.Username, id.Provider, id.Value, err)
			}
			p.link(users[i], prov, src, now)
			if id.SignedInSubject != "" {
				if err := p.signIn(id.Provider, id.Value, id.SignedInSubject); err != nil {
					return nil, fmt.Errorf("user %q: identity %s/%s: signed_in_subject: %w", su.Username, id.Provider, id.Value, err)
				}
			}
		}
	}
	return p, nil
}

// seedUser makes the user su describes, without its linked identities.
func (p *pool) seedUser(su SeedUser, now time.Time) (*user, error) {
	if !valid(su.Username, shapeUsername) {
		return nil, errors.New("not a valid username")
	}
	if _, ok := su.Attributes["identities"]; ok {
		return nil, errors.New(`attribute "identities" is derived: list the identities instead`)
	}
	attrs := maps.Clone(su.Attributes)
	if attrs == nil {
		attrs = make(map[string]string)
	}
	if v, ok := attrs["email_verified"]; ok && v != "true" && v != "false" {
		return nil, fmt.Errorf(`email_verified %q: want true or false`, v)
	}
	sub := attrs["sub"]
	status, own := cmp.Or(su.Status, statusConfirmed), (*Identity)(nil)
	switch {
	case !slices.Contains(userStatuses, status):
		return nil, fmt.Errorf("status %q: want one of %v", su.Status, userStatuses)
	case su.Federated && su.Status != "" && su.Status != statusExternalProvider:
		return nil, errors.New("a federated profile's status is EXTERNAL_PROVIDER")
	case !su.Federated && status == statusExternalProvider:
		return nil, errors.New("EXTERNAL_PROVIDER is the status of federated profiles: mark the user federated")
	}
	if su.Federated {
		providerName, userID, _ := strings.Cut(su.Username, "_")
		prov := p.providerByPrefix(providerName)
		if prov == nil || userID == "" {
			return nil, errors.New("a federated user is named <Provider>_<id>, with a provider the pool has")
		}
		status = statusExternalProvider
		own = &Identity{
			ProviderName:  prov.name,
			ProviderType:  prov.typ,
			AttributeName: attributeSubject,
			UserID:        userID,
			DateCreated:   now.UnixMilli(),
		}
	}
	u := p.newUser(su.Username, status, attrs, now)
	u.sub = cmp.Or(sub, u.sub)
	u.own = own
	u.enabled = su.Enabled == nil || *su.Enabled
	for _, name := range su.Groups {
		if p.groups[name] == nil {
			return nil, fmt.Errorf("group %q is not one of the pool's", name)
		}
		u.join(name)
	}
	if len(u.groups) > maxGroupsPerUser {
		return nil, fmt.Errorf("in %d groups: at most %d", len(u.groups), maxGroupsPerUser)
	}
	if su.MFA != nil {
		for _, m := range su.MFA.Enabled {
			if !slices.Contains(mfaMethods, m) {
				return nil, fmt.Errorf("MFA %q: want one of %v", m, mfaMethods)
			}
		}
		if su.MFA.Preferred != "" && !slices.Contains(su.MFA.Enabled, su.MFA.Preferred) {
			return nil, fmt.Errorf("preferred MFA %s is not enabled", su.MFA.Preferred)
		}
		for _, m := range mfaMethods { // in one order, once each
			if slices.Contains(su.MFA.Enabled, m) {
				u.mfaEnabled = append(u.mfaEnabled, m)
			}
		}
		u.mfaPreferred = su.MFA.Preferred
	}
	return u, nil
}

// providerByPrefix returns the provider a federated profile's username starts with: the
// provider of that name, else the one whose name differs only in case, as Cognito writes
// the prefix in lower case in case-insensitive pools (docs/emulator.md).
func (p *pool) providerByPrefix(prefix string) *provider {
	if prov := p.providers[prefix]; prov != nil {
		return prov
	}
	for _, name := range slices.Sorted(maps.Keys(p.providers)) {
		if strings.EqualFold(name, prefix) {
			return p.providers[name]
		}
	}
	return nil
}

// valid reports whether s fits a string shape.
func valid(s string, sh stringShape) bool {
	n := utf8.RuneCountInString(s)
	return n >= sh.min && (sh.max == 0 || n <= sh.max) && (sh.re == nil || sh.re.MatchString(s))
}
