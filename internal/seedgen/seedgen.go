// Package seedgen makes emulator pools of any size that hold every case bulklink discover
// judges (verified and unverified emails, two users with one email, disabled and
// unconfirmed users, google_ and Google_ profiles, users at four and five identities...),
// with the outcome discover should give each candidate, worked out here from how each user
// was made, not by discover's code. The discover tests, the end-to-end tests of the binary
// and the benchmark harness load them into an emulator with Emulator.Load: a pool of a
// million users is built in memory, with no JSON file.
package seedgen

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/bulklink/bulklink/emulator"
)

// Outcome is what discover should do with a candidate: emit a row (Code "") linking
// Provider's Value to Destination, or refuse it with Code.
type Outcome struct {
	Code        string
	Destination string
	Provider    string
	Value       string
}

func (o Outcome) String() string {
	if o.Code != "" {
		return o.Code
	}
	return fmt.Sprintf("row %s %s %s", o.Destination, o.Provider, o.Value)
}

// Expect are the outcomes of a pool's candidates, keyed by the candidate's username as the
// pool lists it: the native users of `--provider Okta --by email`, and the profiles of
// `--duplicates`. Users that are no candidate (a profile with nobody's email) are absent.
type Expect struct {
	ByEmail    map[string]Outcome
	Duplicates map[string]Outcome
}

// The pool's identity providers: Okta links by email.
var Providers = []emulator.SeedProvider{
	{Name: "Google", Type: "Google"},
	{Name: "Okta", Type: "SAML", AttributeMapping: map[string]string{"email": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"}},
}

// The codes, as schema spells them (seedgen does not import what it checks).
const (
	noEmail          = "NoEmail"
	notVerified      = "EmailNotVerified"
	ambiguous        = "AmbiguousEmail"
	disabled         = "DestinationDisabled"
	notConfirmed     = "DestinationNotConfirmed"
	alreadyLinked    = "AlreadyLinked"
	tooMany          = "TooManyIdentities"
	sourceDisabled   = "SourceDisabled"
	statusExternal   = "EXTERNAL_PROVIDER"
	statusUnconfirm  = "UNCONFIRMED"
	statusForceReset = "FORCE_CHANGE_PASSWORD"
)

// Pool makes a pool of n users (a few more when a case needs two or three users) with id.
// caseSensitive false makes a case-insensitive pool: its usernames are listed in lower case,
// which the expectations follow.
func Pool(id string, n int, caseSensitive bool) (emulator.SeedPool, Expect) {
	g := &gen{p: emulator.SeedPool{ID: id, IdentityProviders: Providers, Users: make([]emulator.SeedUser, 0, n+4)},
		ex: Expect{ByEmail: make(map[string]Outcome, n), Duplicates: map[string]Outcome{}}, fold: !caseSensitive}
	if !caseSensitive {
		f := false
		g.p.CaseSensitive = &f
	}
	for i := 0; len(g.p.Users) < n; i++ {
		cases[i%len(cases)](g, i)
	}
	return g.p, g.ex
}

type gen struct {
	p    emulator.SeedPool
	ex   Expect
	fold bool
}

// name is a username as the pool lists it.
func (g *gen) name(s string) string {
	if g.fold {
		return strings.ToLower(s)
	}
	return s
}

// native adds a native user and returns its name as listed.
func (g *gen) native(name, email string, verified bool, opts ...func(*emulator.SeedUser)) string {
	u := emulator.SeedUser{Username: name, Attributes: map[string]string{}}
	if email != "" {
		u.Attributes["email"] = email
		u.Attributes["email_verified"] = strconv.FormatBool(verified)
	}
	for _, o := range opts {
		o(&u)
	}
	g.p.Users = append(g.p.Users, u)
	return g.name(name)
}

// profile adds Google's profile <prefix>_<subject> and returns its name as listed.
func (g *gen) profile(prefix, subject, email string, verified bool, opts ...func(*emulator.SeedUser)) string {
	u := emulator.SeedUser{Username: prefix + "_" + subject, Federated: true,
		Attributes: map[string]string{"email": email, "email_verified": strconv.FormatBool(verified)}}
	for _, o := range opts {
		o(&u)
	}
	g.p.Users = append(g.p.Users, u)
	return g.name(u.Username)
}

func off(u *emulator.SeedUser) { f := false; u.Enabled = &f }

func status(s string) func(*emulator.SeedUser) { return func(u *emulator.SeedUser) { u.Status = s } }

// googleLinks links k Google identities to the user.
func googleLinks(i, k int) func(*emulator.SeedUser) {
	return func(u *emulator.SeedUser) {
		for j := range k {
			u.Identities = append(u.Identities, emulator.SeedIdentity{Provider: "Google", Value: fmt.Sprintf("L%d-%d", i, j)})
		}
	}
}

// email is user i's email; every third one in mixed case, with spaces around, as people
// type them.
func email(i int, tag string) string {
	e := fmt.Sprintf("%s%d@corp.example", tag, i)
	if i%3 == 0 {
		e = " " + strings.ToUpper(e[:1]) + e[1:] + " "
	}
	return e
}

// value is what a row's source_value holds for an email: trimmed, its case kept (the
// emulator lowers emails in a case-insensitive pool).
func (g *gen) value(email string) string {
	v := strings.TrimSpace(email)
	if g.fold {
		v = strings.ToLower(v)
	}
	return v
}

// subject is the Google subject of profile i: mixed case, which a case-insensitive pool
// keeps in the identity and loses in the username.
func subject(i int) string { return fmt.Sprintf("S%dxY", i) }

// linkable adds a native user with a verified email, which --by email links to its Okta
// identity, and returns its name as listed.
func (g *gen) linkable(name, email string, opts ...func(*emulator.SeedUser)) string {
	n := g.native(name, email, true, opts...)
	g.ex.ByEmail[n] = g.okta(n, email)
	return n
}

func (g *gen) okta(user, email string) Outcome {
	return Outcome{Destination: user, Provider: "Okta", Value: g.value(email)}
}

func google(user string, i int) Outcome {
	return Outcome{Destination: user, Provider: "Google", Value: subject(i)}
}

// cases make the users of one case each, with their expected outcomes; ok comes most often.
var cases = func() []func(g *gen, i int) {
	ok := func(g *gen, i int) {
		g.linkable(fmt.Sprintf("ok%07d", i), email(i, "ok"))
	}
	list := []func(g *gen, i int){
		func(g *gen, i int) {
			g.ex.ByEmail[g.native(fmt.Sprintf("noemail%07d", i), "", false)] = Outcome{Code: noEmail}
		},
		func(g *gen, i int) {
			g.ex.ByEmail[g.native(fmt.Sprintf("unverified%07d", i), email(i, "unv"), false)] = Outcome{Code: notVerified}
		},
		func(g *gen, i int) { // two users, one email: one in upper case
			e := email(i, "shared")
			g.ex.ByEmail[g.native(fmt.Sprintf("Shared%07dA", i), e, true)] = Outcome{Code: ambiguous}
			g.ex.ByEmail[g.native(fmt.Sprintf("shared%07dB", i), strings.ToUpper(e), true)] = Outcome{Code: ambiguous}
		},
		func(g *gen, i int) {
			g.ex.ByEmail[g.native(fmt.Sprintf("disabled%07d", i), email(i, "off"), true, off)] = Outcome{Code: disabled}
		},
		func(g *gen, i int) {
			g.ex.ByEmail[g.native(fmt.Sprintf("unconfirmed%07d", i), email(i, "unc"), true, status(statusUnconfirm))] = Outcome{Code: notConfirmed}
		},
		func(g *gen, i int) {
			e := email(i, "okta")
			g.ex.ByEmail[g.native(fmt.Sprintf("oktalinked%07d", i), e, true, func(u *emulator.SeedUser) {
				u.Identities = append(u.Identities, emulator.SeedIdentity{Provider: "Okta", Attribute: "email", Value: strings.TrimSpace(e)})
			})] = Outcome{Code: alreadyLinked}
		},
		func(g *gen, i int) {
			g.ex.ByEmail[g.native(fmt.Sprintf("five%07d", i), email(i, "five"), true, googleLinks(i, 5))] = Outcome{Code: tooMany}
		},
		func(g *gen, i int) {
			g.linkable(fmt.Sprintf("Temp%07d", i), email(i, "temp"), status(statusForceReset))
		},
		func(g *gen, i int) { // a duplicate: google_ profile
			e := email(i, "dup")
			n := g.linkable(fmt.Sprintf("dup%07d", i), e)
			g.ex.Duplicates[g.profile("google", subject(i), strings.ToUpper(strings.TrimSpace(e)), true)] = google(n, i)
		},
		func(g *gen, i int) { // a duplicate: Google_ profile
			e := email(i, "dupcap")
			n := g.linkable(fmt.Sprintf("dupcap%07d", i), e)
			g.ex.Duplicates[g.profile("Google", subject(i), e, true)] = google(n, i)
		},
		func(g *gen, i int) {
			e := email(i, "dupunv")
			g.linkable(fmt.Sprintf("dupunv%07d", i), e)
			g.ex.Duplicates[g.profile("Google", subject(i), e, false)] = Outcome{Code: notVerified}
		},
		func(g *gen, i int) {
			e := email(i, "dupnunv")
			g.ex.ByEmail[g.native(fmt.Sprintf("dupnunv%07d", i), e, false)] = Outcome{Code: notVerified}
			g.ex.Duplicates[g.profile("google", subject(i), e, true)] = Outcome{Code: notVerified}
		},
		func(g *gen, i int) {
			e := email(i, "dupamb")
			g.ex.ByEmail[g.native(fmt.Sprintf("dupamb%07dA", i), e, true)] = Outcome{Code: ambiguous}
			g.ex.ByEmail[g.native(fmt.Sprintf("dupamb%07dB", i), e, true)] = Outcome{Code: ambiguous}
			g.ex.Duplicates[g.profile("Google", subject(i), e, true)] = Outcome{Code: ambiguous}
		},
		func(g *gen, i int) {
			e := email(i, "dupoff")
			g.ex.ByEmail[g.native(fmt.Sprintf("dupoff%07d", i), e, true, off)] = Outcome{Code: disabled}
			g.ex.Duplicates[g.profile("google", subject(i), e, true)] = Outcome{Code: disabled}
		},
		func(g *gen, i int) {
			e := email(i, "dupfull")
			g.ex.ByEmail[g.native(fmt.Sprintf("dupfull%07d", i), e, true, googleLinks(i, 5))] = Outcome{Code: tooMany}
			g.ex.Duplicates[g.profile("Google", subject(i), e, true)] = Outcome{Code: tooMany}
		},
		func(g *gen, i int) {
			e := email(i, "dupfour")
			n := g.linkable(fmt.Sprintf("dupfour%07d", i), e, googleLinks(i, 4))
			g.ex.Duplicates[g.profile("Google", subject(i), e, true)] = google(n, i)
		},
		func(g *gen, i int) {
			e := email(i, "dupsoff")
			g.linkable(fmt.Sprintf("dupsoff%07d", i), e)
			g.ex.Duplicates[g.profile("google", subject(i), e, true, off)] = Outcome{Code: sourceDisabled}
		},
		func(g *gen, i int) {
			e := email(i, "dupunc")
			g.ex.ByEmail[g.native(fmt.Sprintf("dupunc%07d", i), e, true, status(statusUnconfirm))] = Outcome{Code: notConfirmed}
			g.ex.Duplicates[g.profile("Google", subject(i), e, true)] = Outcome{Code: notConfirmed}
		},
		func(g *gen, i int) { // a profile whose email no native user has: no candidate
			g.profile("Google", subject(i), email(i, "lone"), true)
		},
	}
	// ok users make up about half of the pool.
	var out []func(g *gen, i int)
	for _, c := range list {
		out = append(out, ok, c)
	}
	return out
}()
