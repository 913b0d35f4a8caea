package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// accountID is the AWS account the emulator answers for.
const accountID = "000000000000"

// maxLinkedIdentities is how many external identities may be linked to one user.
const maxLinkedIdentities = 5

const (
	providerCognito  = "Cognito"         // DestinationUser.ProviderName of a native user
	attributeSubject = "Cognito_Subject" // the provider's own user ID
)

// providerTypes are the identity provider types, as IdentityProviderTypeType spells them.
var providerTypes = []string{"SAML", "Facebook", "Google", "LoginWithAmazon", "SignInWithApple", "OIDC"}

// isSocial reports whether a provider type is a social one, whose identities are linked by
// Cognito_Subject only.
func isSocial(providerType string) bool {
	switch providerType {
	case "Facebook", "Google", "LoginWithAmazon", "SignInWithApple":
		return true
	}
	return false
}

// User statuses, as UserStatusType spells them.
const (
	statusConfirmed           = "CONFIRMED"
	statusExternalProvider    = "EXTERNAL_PROVIDER"
	statusForceChangePassword = "FORCE_CHANGE_PASSWORD"
)

// userStatuses are the values of UserStatusType.
var userStatuses = []string{"UNCONFIRMED", "CONFIRMED", "ARCHIVED", "COMPROMISED", "UNKNOWN", "RESET_REQUIRED", "FORCE_CHANGE_PASSWORD", "EXTERNAL_PROVIDER"}

// store is the emulator's state. One mutex guards all of it: every operation holds it for
// microseconds, so finer locks would buy nothing but lock-ordering rules.
type store struct {
	mu    sync.Mutex
	pools map[string]*pool
}

// pool returns the user pool with the given ID, or the ResourceNotFoundException Cognito
// answers. The caller holds s.mu.
func (s *store) pool(id string) (*pool, error) {
	if p, ok := s.pools[id]; ok {
		return p, nil
	}
	return nil, poolNotFound(id)
}

// user returns a pool's user, by username or sub, or the error Cognito answers when the
// pool or the user does not exist. The caller holds s.mu.
func (s *store) user(poolID, username string) (*pool, *user, error) {
	p, err := s.pool(poolID)
	if err != nil {
		return nil, nil, err
	}
	u := p.user(username)
	if u == nil {
		return nil, nil, userNotFound()
	}
	return p, u, nil
}

// pool is a user pool.
type pool struct {
	id, name          string
	region            string
	created, modified time.Time
	// caseSetting is UsernameConfiguration.CaseSensitive, nil when the pool was made
	// without it (and is case-sensitive).
	caseSetting *bool
	custom      []customAttribute
	providers   map[string]*provider
	users       map[string]*user // by username, as stored: lower case in a case-insensitive pool
	subs        map[string]*user // by sub, folded as usernames are
	usernames   []string         // sorted: the order ListUsers pages through
	links       map[identityKey]*user
	// profiles are the federated profiles by their own identity, its value folded as
	// usernames are: Cognito finds a profile by its username, <Provider>_<id>.
	profiles map[identityKey]*user
	groups   map[string]*group // by name
}

// group is a group of a pool.
type group struct {
	name, description, roleArn string
	precedence                 *int32 // nil: none
	created, modified          time.Time
}

// maxGroupsPerUser is how many groups a user may belong to (docs/cognito.md).
const maxGroupsPerUser = 100

// MFA methods, as UserMFASettingList and PreferredMfaSetting name them.
var mfaMethods = []string{"SMS_MFA", "SOFTWARE_TOKEN_MFA", "EMAIL_OTP"}

// customAttribute is a custom attribute in a pool's schema.
type customAttribute struct {
	name     string // with its "custom:" prefix
	dataType string
	mutable  bool
}

// identityKey names an external identity: a provider and the provider's value for the user.
type identityKey struct{ provider, value string }

func newPool(id, name, region string, caseSetting *bool, now time.Time) *pool {
	return &pool{
		id: id, name: name, region: region,
		created: now, modified: now,
		caseSetting: caseSetting,
		providers:   make(map[string]*provider),
		users:       make(map[string]*user),
		subs:        make(map[string]*user),
		links:       make(map[identityKey]*user),
		profiles:    make(map[identityKey]*user),
		groups:      make(map[string]*group),
	}
}

// caseSensitive reports whether the pool tells usernames apart by case.
func (p *pool) caseSensitive() bool { return p.caseSetting == nil || *p.caseSetting }

// fold returns a username as a case-insensitive pool stores it and matches it: in lower
// case (docs/emulator.md, Case-insensitive pools). A case-sensitive pool keeps it as it is.
func (p *pool) fold(s string) string {
	if p.caseSensitive() {
		return s
	}
	return strings.ToLower(s)
}

// foldedAttributes are the attributes a case-insensitive pool stores in lower case, beside
// the username.
var foldedAttributes = []string{"email", "preferred_username"}

func (p *pool) arn() string {
	return "arn:aws:cognito-idp:" + p.region + ":" + accountID + ":userpool/" + p.id
}

// provider is an identity provider configured in a pool.
type provider struct {
	name, typ         string
	details, mapping  map[string]string
	idpIdentifiers    []string
	created, modified time.Time
}

// user is a user profile: a native user, or the profile of a federated user who signed in
// (named <Provider>_<id>, status EXTERNAL_PROVIDER).
type user struct {
	username, sub     string
	status            string
	enabled           bool
	attributes        map[string]string // all but sub and identities, which are derived
	created, modified time.Time
	// own is a federated profile's own identity, the one it signed in with; nil for a native
	// user.
	own *Identity
	// links are the identities linked to the user, in the order they were linked.
	links []Identity
	// groups are the names of the groups the user belongs to, sorted.
	groups []string
	// mfaEnabled are the user's MFA methods, in the order of mfaMethods; mfaPreferred is
	// one of them, or "".
	mfaEnabled   []string
	mfaPreferred string
}

// mfaOptions returns the user's MFAOptions: SMS to its phone number when it has SMS MFA.
func (u *user) mfaOptions() []mfaOption {
	if !slices.Contains(u.mfaEnabled, "SMS_MFA") {
		return nil
	}
	return []mfaOption{{DeliveryMedium: "SMS", AttributeName: "phone_number"}}
}

// mfaOption is the API's MFAOptionType.
type mfaOption struct {
	DeliveryMedium string `json:"DeliveryMedium"`
	AttributeName  string `json:"AttributeName"`
}

// join adds u to the group named name, keeping its groups sorted; it reports whether u was
// not in it yet.
func (u *user) join(name string) bool {
	i, found := slices.BinarySearch(u.groups, name)
	if found {
		return false
	}
	u.groups = slices.Insert(u.groups, i, name)
	return true
}

// user finds a user by username or, as Cognito also accepts, by sub; in a case-insensitive
// pool, whatever their case.
func (p *pool) user(name string) *user {
	name = p.fold(name)
	if u, ok := p.users[name]; ok {
		return u
	}
	return p.subs[name]
}

// federatedProfile returns the profile an external identity got when it signed in to the
// pool, or nil.
func (p *pool) federatedProfile(id identityKey) *user {
	return p.profiles[p.profileKey(id)]
}

// profileKey is the key of a federated profile in p.profiles.
func (p *pool) profileKey(id identityKey) identityKey {
	return identityKey{id.provider, p.fold(id.value)}
}

// index adds u to the maps that find it.
func (p *pool) index(u *user) {
	p.users[u.username] = u
	p.subs[p.fold(u.sub)] = u
	if u.own != nil {
		p.profiles[p.profileKey(identityKey{u.own.ProviderName, u.own.UserID})] = u
	}
}

// add adds u, whose username and sub are new to the pool.
func (p *pool) add(u *user) {
	p.index(u)
	i, _ := slices.BinarySearch(p.usernames, u.username)
	p.usernames = slices.Insert(p.usernames, i, u.username)
}

// addAll adds many users at once, sorting the usernames once.
func (p *pool) addAll(users []*user) {
	for _, u := range users {
		p.index(u)
	}
	p.usernames = slices.Sorted(maps.Keys(p.users))
}

// remove removes u and the links to it; their identities may be linked again, and so may
// a profile's own.
func (p *pool) remove(u *user) {
	delete(p.users, u.username)
	delete(p.subs, p.fold(u.sub))
	if u.own != nil {
		delete(p.profiles, p.profileKey(identityKey{u.own.ProviderName, u.own.UserID}))
	}
	if i, ok := slices.BinarySearch(p.usernames, u.username); ok {
		p.usernames = slices.Delete(p.usernames, i, i+1)
	}
	for _, id := range u.links {
		delete(p.links, identityKey{id.ProviderName, id.id()})
	}
}

// link links the identity src, of provider prov, to u.
func (p *pool) link(u *user, prov *provider, src providerRef, now time.Time) {
	u.links = append(u.links, Identity{
		ProviderName:  prov.name,
		ProviderType:  prov.typ,
		AttributeName: src.attribute,
		UserID:        src.value,
		DateCreated:   now.UnixMilli(),
	})
	u.modified = now
	p.links[src.key()] = u
}

// unlink removes the identity i of the links of u.
func (p *pool) unlink(u *user, i int, now time.Time) {
	delete(p.links, identityKey{u.links[i].ProviderName, u.links[i].id()})
	u.links = slices.Delete(u.links, i, i+1)
	u.modified = now
}

// linked returns the index of the identity id in the links of u, or -1. A signed-in
// identity is known by its subject.
func (u *user) linked(id identityKey) int {
	return slices.IndexFunc(u.links, func(x Identity) bool { return x.ProviderName == id.provider && x.id() == id.value })
}

// signIn makes the identity linked from provider with value known by subject from now on.
func (p *pool) signIn(provider, value, subject string) error {
	from := identityKey{provider, value}
	u := p.links[from]
	if u == nil {
		return fmt.Errorf("no identity of %s is linked with the value %q", provider, value)
	}
	id := &u.links[u.linked(from)]
	to := identityKey{provider, subject}
	switch {
	case id.Subject != "":
		return fmt.Errorf("the identity of %s linked with %q has signed in already, as %q", provider, value, id.Subject)
	case subject == "":
		return errors.New("the subject is empty")
	case id.AttributeName == attributeSubject && subject != value:
		return fmt.Errorf("the identity of %s was linked by Cognito_Subject %q: it signs in with that subject, not %q", provider, value, subject)
	case subject != value && p.links[to] != nil:
		return fmt.Errorf("another identity of %s is known by the subject %q", provider, subject)
	case p.federatedProfile(to) != nil:
		return fmt.Errorf("the subject %q of %s has a profile of its own, %s_%s", subject, provider, provider, subject)
	}
	delete(p.links, from)
	id.Subject = subject
	p.links[to] = u
	return nil
}

// attribute is a user attribute as the API carries it (AttributeType).
type attribute struct {
	Name  string `json:"Name"`
	Value string `json:"Value"`
}

// attributeList returns u's attributes as Cognito lists them: sub, identities when there are
// any, then the others by name. When only is not nil, just those named in it are listed.
func (u *user) attributeList(only []string) []attribute {
	attrs := []attribute{{"sub", u.sub}}
	if u.own != nil || len(u.links) > 0 {
		attrs = append(attrs, attribute{"identities", u.renderIdentities()})
	}
	for _, name := range slices.Sorted(maps.Keys(u.attributes)) {
		attrs = append(attrs, attribute{name, u.attributes[name]})
	}
	if only != nil {
		attrs = slices.DeleteFunc(attrs, func(a attribute) bool { return !slices.Contains(only, a.Name) })
	}
	return attrs
}

// attribute returns the value of one of u's attributes, sub included.
func (u *user) attribute(name string) (string, bool) {
	if name == "sub" {
		return u.sub, true
	}
	v, ok := u.attributes[name]
	return v, ok
}

// renderIdentities renders the identities attribute: a JSON array in a string, a federated
// profile's own identity first, keys in the order Cognito writes them, issuer always null.
func (u *user) renderIdentities() string {
	type wire struct {
		UserID       string  `json:"userId"`
		ProviderName string  `json:"providerName"`
		ProviderType string  `json:"providerType"`
		Issuer       *string `json:"issuer"`
		Primary      bool    `json:"primary"`
		DateCreated  int64   `json:"dateCreated"`
	}
	var list []wire
	if id := u.own; id != nil {
		list = append(list, wire{id.id(), id.ProviderName, id.ProviderType, nil, true, id.DateCreated})
	}
	for _, id := range u.links {
		list = append(list, wire{id.id(), id.ProviderName, id.ProviderType, nil, false, id.DateCreated})
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(list) // cannot fail: strings, bools and numbers only
	return strings.TrimSuffix(b.String(), "\n")
}

// newUser returns a user of p with a new sub, its username and attributes as p stores
// them. The attributes sub and identities, which Cognito derives, are dropped from attrs.
func (p *pool) newUser(username, status string, attrs map[string]string, now time.Time) *user {
	delete(attrs, "sub")
	delete(attrs, "identities")
	if !p.caseSensitive() {
		for _, name := range foldedAttributes {
			if v, ok := attrs[name]; ok {
				attrs[name] = strings.ToLower(v)
			}
		}
	}
	return &user{
		username:   p.fold(username),
		sub:        newUUID(),
		status:     status,
		enabled:    true,
		attributes: attrs,
		created:    now,
		modified:   now,
	}
}
