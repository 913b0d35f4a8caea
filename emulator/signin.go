package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

// SignInPath is where an emulator takes a rehearsal's federated sign-in: a POST of a JSON
// SignInRequest, answered with a SignInResult, or an error {"error": "..."} with a 4xx
// status. No AWS protocol uses that path; nothing signs or throttles it
// (docs/emulator.md, Federated sign-in).
const SignInPath = "/_emulator/sign-in"

// SignInRequest is a federated sign-in, as SignInPath takes it: what the identity provider
// sends Cognito about the user.
type SignInRequest struct {
	UserPoolID string `json:"user_pool_id"`
	Provider   string `json:"provider"` // the pool's name of the identity provider
	Subject    string `json:"subject"`  // the provider's ID of the user: SAML NameID, OIDC sub, Google's sub
	// Claims are the attributes of the assertion or token, by the provider's names; the
	// provider's attribute mapping turns them into user attributes.
	Claims map[string]string `json:"claims,omitempty"`
}

// SignInResult is where a federated sign-in landed.
type SignInResult struct {
	Username string `json:"username"` // the user the identity signed in as
	Sub      string `json:"sub"`
	Created  bool   `json:"created"` // a new <Provider>_<subject> profile
}

// SignInError is why a federated sign-in was refused; Status is the HTTP status SignInPath
// answers it with.
type SignInError struct {
	Status int
	Msg    string
}

func (e *SignInError) Error() string { return "sign in: " + e.Msg }

func signInError(status int, format string, args ...any) *SignInError {
	return &SignInError{status, fmt.Sprintf(format, args...)}
}

// FederatedSignIn signs the identity of provider known by subject in to a pool, as its
// user would through the provider with a token or assertion holding claims, and tells
// where it landed, as Cognito decides (docs/emulator.md, Federated sign-in):
//
//   - in the user the identity is linked to, by Cognito_Subject or, once signed in, by its
//     subject;
//   - else in the identity's own profile, <Provider>_<subject>, if it has one;
//   - else in the user a link by a mapped attribute names, when a claim maps to that
//     attribute with the linked value: the link is known by the subject from then on (as
//     SignIn does);
//   - else in a new profile, <Provider>_<subject> (in lower case in a case-insensitive
//     pool), status EXTERNAL_PROVIDER, with a new sub and its own identity, primary.
//
// The provider's attribute mapping writes the claims it maps to the user it lands in. A
// disabled user refuses the sign-in. Errors are *SignInError.
func (e *Emulator) FederatedSignIn(poolID, provider, subject string, claims map[string]string) (SignInResult, error) {
	now := e.clock()
	e.store.mu.Lock()
	defer e.store.mu.Unlock()
	p := e.store.pools[poolID]
	if p == nil {
		return SignInResult{}, signInError(http.StatusNotFound, "user pool %s does not exist", poolID)
	}
	prov := p.providers[provider]
	if prov == nil {
		return SignInResult{}, signInError(http.StatusNotFound, "no identity provider %s in user pool %s", provider, poolID)
	}
	if subject == "" {
		return SignInResult{}, signInError(http.StatusBadRequest, "the subject is empty")
	}
	attrs := prov.mapClaims(claims)
	for name, v := range attrs {
		if len(v) > maxAttributeBytes {
			return SignInResult{}, signInError(http.StatusBadRequest, "the value mapped to %s is %d bytes: at most %d", name, len(v), maxAttributeBytes)
		}
	}
	key := identityKey{provider, subject}

	u := p.linkedBySubject(key)
	if u == nil {
		u = p.federatedProfile(key)
	}
	var byAttribute *Identity // a link by a mapped attribute that signs in now
	if u == nil {
		u, byAttribute = p.linkedByAttribute(provider, attrs)
	}
	if u == nil {
		return p.signUp(prov, subject, attrs, now)
	}
	if !u.enabled {
		return SignInResult{}, signInError(http.StatusForbidden, "User is disabled.")
	}
	if byAttribute != nil {
		if err := p.signIn(provider, byAttribute.UserID, subject); err != nil {
			return SignInResult{}, signInError(http.StatusConflict, "%v", err)
		}
	} else if i := u.linked(key); i >= 0 && u.links[i].Subject == "" {
		u.links[i].Subject = subject // linked by Cognito_Subject: the same subject
	}
	p.writeMapped(u, attrs, now)
	return SignInResult{Username: u.username, Sub: u.sub}, nil
}

// maxAttributeBytes is the longest value an attribute may hold (doc: the quotas page,
// "Characters per attribute").
const maxAttributeBytes = 2048

// mapClaims returns the user attributes the provider's attribute mapping makes of claims.
// The attributes Cognito derives, and the username, are not written through a mapping.
func (prov *provider) mapClaims(claims map[string]string) map[string]string {
	attrs := make(map[string]string)
	for attr, claim := range prov.mapping {
		if v, ok := claims[claim]; ok && attr != "sub" && attr != "identities" && attr != "username" {
			attrs[attr] = v
		}
	}
	return attrs
}

// linkedBySubject returns the user an identity is linked to by its subject: linked by
// Cognito_Subject, or signed in since.
func (p *pool) linkedBySubject(id identityKey) *user {
	u := p.links[id]
	if u == nil {
		return nil
	}
	link := u.links[u.linked(id)]
	if link.Subject == "" && link.AttributeName != attributeSubject {
		return nil // linked by an attribute whose value is the same string
	}
	return u
}

// linkedByAttribute returns the user a link of provider by one of the mapped attributes
// names, with that link, if one has not signed in yet. The attributes are tried by name.
func (p *pool) linkedByAttribute(provider string, attrs map[string]string) (*user, *Identity) {
	for _, attr := range slices.Sorted(maps.Keys(attrs)) {
		id := identityKey{provider, attrs[attr]}
		u := p.links[id]
		if u == nil {
			continue
		}
		link := &u.links[u.linked(id)]
		if link.Subject == "" && link.AttributeName == attr {
			return u, link
		}
	}
	return nil, nil
}

// signUp makes the profile of an identity that signs in for the first time.
func (p *pool) signUp(prov *provider, subject string, attrs map[string]string, now time.Time) (SignInResult, error) {
	username := prov.name + "_" + subject
	if !valid(username, shapeUsername) {
		return SignInResult{}, signInError(http.StatusBadRequest, "%s is not a valid username", username)
	}
	if p.user(username) != nil {
		return SignInResult{}, signInError(http.StatusConflict, "%s exists, and is not the profile of %s's %q", p.fold(username), prov.name, subject)
	}
	u := p.newUser(username, statusExternalProvider, attrs, now)
	u.own = &Identity{
		ProviderName:  prov.name,
		ProviderType:  prov.typ,
		AttributeName: attributeSubject,
		UserID:        subject,
		DateCreated:   now.UnixMilli(),
	}
	p.add(u)
	return SignInResult{Username: u.username, Sub: u.sub, Created: true}, nil
}

// writeMapped writes the mapped attributes to a user that signs in. An email the mapping
// writes without email_verified is not verified (docs/emulator.md).
func (p *pool) writeMapped(u *user, attrs map[string]string, now time.Time) {
	if len(attrs) == 0 {
		return
	}
	for name, v := range attrs {
		if !p.caseSensitive() && slices.Contains(foldedAttributes, name) {
			v = strings.ToLower(v)
		}
		u.attributes[name] = v
	}
	if _, ok := attrs["email"]; ok {
		if _, verified := attrs["email_verified"]; !verified {
			u.attributes["email_verified"] = "false"
		}
	}
	u.modified = now
}

// serveSignIn answers a POST to SignInPath.
func (e *Emulator) serveSignIn(w http.ResponseWriter, r *http.Request) {
	answer := func(status int, v any) {
		body, _ := json.Marshal(v)
		writeAs(w, "application/json", status, body)
	}
	refuse := func(status int, msg string) { answer(status, map[string]string{"error": msg}) }
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		refuse(http.StatusMethodNotAllowed, "sign in with a POST of JSON")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		refuse(http.StatusBadRequest, "read the sign-in: "+err.Error())
		return
	}
	var req SignInRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		refuse(http.StatusBadRequest, "read the sign-in: "+err.Error())
		return
	}
	res, err := e.FederatedSignIn(req.UserPoolID, req.Provider, req.Subject, req.Claims)
	if se, ok := errors.AsType[*SignInError](err); ok {
		refuse(se.Status, se.Msg)
		return
	}
	answer(http.StatusOK, res)
}

// SignIn makes the identity linked from provider with value (its ProviderAttributeValue)
// sign in to the pool, as its user would through the provider, with subject as the
// subject of its token or assertion. From then on Cognito knows the identity by that
// subject: the destination's identities attribute shows it as the userId, and only
// AdminDisableProviderForUser with Cognito_Subject and the subject unlinks it
// (docs/emulator.md, Signed-in identities). An identity linked by Cognito_Subject signs
// in with that same subject. SignIn fails if the identity is not linked, has signed in
// already, or if another identity or a federated profile already has the subject.
//
// SignIn is the part of FederatedSignIn that a linked identity goes through, for a test
// that knows the link: it never makes a profile, and writes no attributes.
func (e *Emulator) SignIn(poolID, provider, value, subject string) error {
	e.store.mu.Lock()
	defer e.store.mu.Unlock()
	p := e.store.pools[poolID]
	if p == nil {
		return fmt.Errorf("sign in: user pool %s does not exist", poolID)
	}
	if err := p.signIn(provider, value, subject); err != nil {
		return fmt.Errorf("sign in: %w", err)
	}
	return nil
}
