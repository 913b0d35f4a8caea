package discover

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/bulklink/bulklink/input"
	"github.com/bulklink/bulklink/internal/extsort"
	"github.com/bulklink/bulklink/plan"
	"github.com/bulklink/bulklink/schema"
)

// Row is a row of the output: a link request, with what it was matched by.
type Row struct {
	Request input.Request
	// Email is the destination's email, as listed: the one the users were matched by
	// (Duplicates), or the user's (ByAttribute).
	Email string
	// Profile is the federated profile the identity signed in as (Duplicates); "" otherwise.
	Profile string
	// Unverified marks a row emitted with an email that is not verified, on either side
	// (--allow-unverified-email).
	Unverified bool
}

// Refused is a row of the refused file: a candidate discover would not emit, and why.
type Refused struct {
	Username string // the candidate: the native user (ByAttribute) or the profile (Duplicates)
	Email    string // its email, as listed
	// Candidate is the user the row would have linked it to (Duplicates: the native user),
	// "" when there is none or no single one.
	Candidate string
	Code      schema.Code
	Message   string
}

// sink takes the matcher's rows and refusals, in the sorted order.
type sink interface {
	row(*Row) error
	refused(*Refused) error
}

// signsIn are the statuses of a native user that can sign in (docs/discover.md): confirmed
// ones, those that must change a temporary password an administrator set, and those that
// must reset their password (an imported user: confirmed, its password not carried over).
// UNCONFIRMED never proved its email; ARCHIVED, COMPROMISED and UNKNOWN are no longer used
// by Cognito and are refused as a person's to decide.
var signsIn = []string{
	string(types.UserStatusTypeConfirmed),
	string(types.UserStatusTypeForceChangePassword),
	string(types.UserStatusTypeResetRequired),
}

// matcher judges the sorted entries, a group of one key at a time.
type matcher struct {
	q    *Query
	pool *plan.Pool
	out  sink
}

// group is what the first read of a group of one key learned: its native users (distinct
// users, as the pool tells them apart) and the first of them.
type group struct {
	key     string
	records int      // entries read, repeats included
	natives int      // distinct native users
	names   []string // the first few native users' names, for messages
	native  entry    // the first native user
	linked  int      // rows emitted to native so far (Duplicates)
}

const namesShown = 3

// run reads the sorted entries twice, a group at a time: once to count its native users,
// once to judge each candidate. No group is held in memory.
func (m *matcher) run(ctx context.Context, sorted *extsort.File[entry]) error {
	ahead, mark := sorted.Reader(ctx), sorted.Reader(ctx)
	next, err := ahead.Next()
	for err == nil {
		g := group{key: next.key}
		var prev *entry
		for ; err == nil && next.key == g.key; g.records++ {
			if !m.repeats(prev, &next) && next.is(native) {
				if g.natives == 0 {
					g.native = next
				}
				if len(g.names) < namesShown {
					g.names = append(g.names, next.username)
				}
				g.natives++
			}
			e := next
			prev = &e
			next, err = ahead.Next()
		}
		prev = nil
		for range g.records {
			e, merr := mark.Next()
			if merr != nil {
				return merr
			}
			if !m.repeats(prev, &e) {
				if err := m.judge(&e, &g); err != nil {
					return err
				}
			}
			prev = &e
		}
	}
	if !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// repeats reports whether e is the user prev was, listed twice: one ListUsers listing
// lists no user twice, but a listing resumed after a stop might.
func (m *matcher) repeats(prev, e *entry) bool {
	return prev != nil && prev.is(native) == e.is(native) && m.pool.User(prev.username) == m.pool.User(e.username)
}

func (m *matcher) judge(e *entry, g *group) error {
	switch {
	case m.q.Mode == ByAttribute && e.is(native):
		return m.native(e, g)
	case m.q.Mode == Duplicates && !e.is(native):
		return m.profile(e, g)
	}
	return nil // a native user in Duplicates is a destination, not a candidate
}

// refuse writes a refusal.
func (m *matcher) refuse(e *entry, candidate string, code schema.Code, format string, a ...any) error {
	return m.out.refused(&Refused{Username: e.username, Email: e.email, Candidate: candidate, Code: code, Message: fmt.Sprintf(format, a...)})
}

// attributeName is what the rules call the --by attribute in messages.
func (m *matcher) attributeName() string {
	if m.q.Mode == Duplicates || m.q.byEmail() {
		return "email"
	}
	return m.q.Attribute
}

// native judges a native user of ByAttribute: linked to the provider's identity whose
// attribute has its value.
func (m *matcher) native(e *entry, g *group) error {
	q := m.q
	attr := m.attributeName()
	unverified := false
	switch {
	case e.key == "" && q.byEmail():
		return m.refuse(e, "", schema.NoEmail, "%s has no email: nothing to match an identity of %s by", e.username, q.Provider)
	case e.key == "":
		return m.refuse(e, "", schema.NoValue, "%s has no %s: nothing to match an identity of %s by", e.username, attr, q.Provider)
	case q.byEmail() && !e.is(verified):
		if !q.AllowUnverified {
			return m.refuse(e, "", schema.EmailNotVerified, "the email of %s, %q, is not verified: anyone could have typed it, and the identity of %s with that email would sign in as %s; verify it first, or pass --allow-unverified-email",
				e.username, e.email, q.Provider, e.username)
		}
		unverified = true
	}
	if g.natives > 1 {
		code := schema.AmbiguousEmail
		if !q.byEmail() {
			code = schema.AmbiguousValue
		}
		return m.refuse(e, "", code, "%s native users have the %s %q (%s): an identity of %s with it cannot tell them apart; link the right one by hand",
			commas(g.natives), attr, e.value, m.names(g), q.Provider)
	}
	if refused, err := m.destinationRules(e, e, ""); refused {
		return err
	}
	for _, id := range e.ids {
		if id.provider == q.Provider {
			return m.refuse(e, "", schema.AlreadyLinkedCode, "%s holds an identity of %s already (%s): a second one would be a guess", e.username, q.Provider, id.userID)
		}
	}
	if n := e.identities(); n >= plan.MaxIdentities {
		return m.refuse(e, "", schema.TooManyIdentities, "%s holds %d identities already: Cognito links %d to a user", e.username, n, plan.MaxIdentities)
	}
	req := input.Request{UserPoolID: m.pool.ID, DestinationProvider: input.DefaultDestinationProvider, DestinationUser: e.username,
		SourceProvider: q.Provider, SourceAttribute: q.Attribute, SourceValue: e.value}
	if code, msg := input.Check(&req); code != "" {
		return m.refuse(e, "", code, "run would refuse the row: %s", msg)
	}
	return m.out.row(&Row{Request: req, Email: e.email, Unverified: unverified})
}

// names lists the first native users of a group, for a message.
func (m *matcher) names(g *group) string {
	s := strings.Join(g.names, ", ")
	if g.natives > len(g.names) {
		s += fmt.Sprintf(" and %s more", commas(g.natives-len(g.names)))
	}
	return s
}

// profile judges a federated profile of Duplicates: linked to the one native user with its
// email, by its subject.
func (m *matcher) profile(p *entry, g *group) error {
	q := m.q
	if g.natives == 0 {
		return nil // no native user has its email: not a duplicate
	}
	prov, subject, code, why := m.source(p)
	if q.Provider != "" && (prov == nil || prov.Name != q.Provider) {
		return nil // another provider's profile
	}
	candidate := ""
	if g.natives == 1 {
		candidate = g.native.username
	}
	if code != "" {
		return m.refuse(p, candidate, code, "%s", why)
	}
	unverified := false
	switch {
	case !p.is(verified) && !q.AllowUnverified:
		return m.refuse(p, candidate, schema.EmailNotVerified, "the email of the profile %s, %q, is not verified: whoever controls that %s account may have claimed it; pass --allow-unverified-email only if %s verifies every email it sends",
			p.username, p.email, prov.Name, prov.Name)
	case !p.is(verified):
		unverified = true
	}
	if !p.is(enabled) {
		return m.refuse(p, candidate, schema.SourceDisabled, "the profile %s is disabled: someone blocked that identity, and a link would let it in again as %s", p.username, candidate)
	}
	if g.natives > 1 {
		return m.refuse(p, "", schema.AmbiguousEmail, "%s native users have the email %q (%s): the profile cannot be linked to one of them by guess",
			commas(g.natives), p.value, m.names(g))
	}
	n := &g.native
	switch {
	case !n.is(verified) && !q.AllowUnverified:
		return m.refuse(p, candidate, schema.EmailNotVerified, "the email of %s, %q, is not verified: anyone could have typed it, and the profile %s would sign in as %s; verify it first, or pass --allow-unverified-email",
			n.username, n.email, p.username, n.username)
	case !n.is(verified):
		unverified = true
	}
	if refused, err := m.destinationRules(p, n, candidate); refused {
		return err
	}
	for _, id := range n.ids {
		if id.provider == prov.Name && id.userID == subject {
			return m.refuse(p, candidate, schema.AlreadyLinkedCode, "%s holds the %s identity %s already", n.username, prov.Name, subject)
		}
	}
	if have := n.identities() + g.linked; have >= plan.MaxIdentities {
		return m.refuse(p, candidate, schema.TooManyIdentities, "%s would hold %d identities with this one (%d of its own, %d from profiles before this one): Cognito links %d to a user",
			n.username, have+1, n.identities(), g.linked, plan.MaxIdentities)
	}
	req := input.Request{UserPoolID: m.pool.ID, DestinationProvider: input.DefaultDestinationProvider, DestinationUser: n.username,
		SourceProvider: prov.Name, SourceAttribute: input.DefaultSourceAttribute, SourceValue: subject}
	if code, msg := input.Check(&req); code != "" {
		return m.refuse(p, candidate, code, "run would refuse the row: %s", msg)
	}
	g.linked++
	return m.out.row(&Row{Request: req, Email: n.email, Profile: p.username, Unverified: unverified})
}

// destinationRules applies the rules of the native user d that a candidate c would be linked
// to (c is d itself in ByAttribute): readable identities, enabled, a status that signs in.
// refused says whether c was refused, err what writing the refusal returned.
func (m *matcher) destinationRules(c, d *entry, candidate string) (refused bool, err error) {
	switch {
	case d.is(badIdents):
		return true, m.refuse(c, candidate, schema.UnreadableRow, "the identities attribute of %s cannot be read: its identities cannot be counted", d.username)
	case !d.is(enabled):
		return true, m.refuse(c, candidate, schema.DestinationDisabled, "%s is disabled: an identity linked to it could not sign in, and whoever disabled it may have meant to keep it out", d.username)
	case !slices.Contains(signsIn, d.status):
		return true, m.refuse(c, candidate, schema.DestinationNotConfirmed, "%s is %s: it cannot sign in (only %s can), and it may never have proven its email", d.username, d.status, strings.Join(signsIn, ", "))
	}
	return false, nil
}

// source finds a profile's provider and subject: the provider its username's prefix names,
// whatever the case (Cognito writes it in lower case in a case-insensitive pool), and the
// subject of its own identity, the primary one in its identities attribute, which keeps
// the case the provider sent it in. The username's suffix is the subject only in a
// case-sensitive pool: a case-insensitive one lowers it with the rest of the username
// (docs/discover.md).
func (m *matcher) source(p *entry) (prov *plan.Provider, subject string, code schema.Code, why string) {
	pre, suffix, ok := strings.Cut(p.username, "_")
	if pv, found := m.pool.Providers[pre]; found && ok {
		prov = &pv
	} else if ok {
		for _, name := range slices.Sorted(maps.Keys(m.pool.Providers)) {
			if strings.EqualFold(name, pre) {
				pv := m.pool.Providers[name]
				prov = &pv
				break
			}
		}
	}
	if prov == nil || suffix == "" {
		return nil, "", schema.ProviderNotInPool, fmt.Sprintf("the profile %s is not named <Provider>_<id> for a provider of the pool: %q is none of %s",
			p.username, pre, strings.Join(slices.Sorted(maps.Keys(m.pool.Providers)), ", "))
	}
	for _, id := range p.ids {
		if id.primary && id.provider == prov.Name {
			return prov, id.userID, "", ""
		}
	}
	if p.is(badIdents) || m.pool.Exists && !m.pool.CaseSensitive {
		return prov, "", schema.SubjectUnknown, fmt.Sprintf("the identities attribute of %s does not hold its own %s identity, and in a case-insensitive pool the username has lost the case of its subject (%q)",
			p.username, prov.Name, suffix)
	}
	return prov, suffix, "", ""
}

// commas writes n with thousands separators.
func commas[N ~int | ~int64](n N) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
