package plan

import (
	"strings"

	"github.com/bulklink/bulklink/input"
)

// A UserKey names a user of a pool as Cognito tells users apart: the pool, and the username
// folded to lower case when the pool's usernames are case-insensitive
// (UsernameConfiguration.CaseSensitive false; docs/cognito.md, Usernames). Two usernames
// are one user when their keys are equal. Every check that asks whether two rows name one
// user (the plan's, the engine's spacing and order of repeats, undo's, discover's, merge's)
// compares UserKeys, never usernames.
type UserKey struct{ Pool, Name string }

func (k UserKey) String() string { return k.Pool + "/" + k.Name }

// User returns the key of a username of the pool. A pool that was not read is taken as
// case-sensitive, as pools made before usernames could be case-insensitive are.
func (p *Pool) User(username string) UserKey {
	if p != nil && p.Exists && !p.CaseSensitive {
		username = strings.ToLower(username)
	}
	var id string
	if p != nil {
		id = p.ID
	}
	return UserKey{Pool: id, Name: username}
}

// userOf is the key of a request's destination user in its pool, as the planner knows the
// pool (nil: not read).
func (p *Planner) userOf(q *input.Request) UserKey {
	k := p.pools[q.UserPoolID].User(input.DestinationUsername(q))
	k.Pool = q.UserPoolID
	return k
}

// Item is a row as the plan judged it: the row as the input gave it, and beside it what the
// plan decided of it.
type Item struct {
	input.Row
	// User names the row's destination user (Pool.User).
	User UserKey
	// Provider is the source provider as the row's pool has it; nil when the pool was not
	// read, or the row is invalid.
	Provider *Provider
	// Pool is the row's pool as the plan read it; nil when it was not read.
	Pool *Pool
	// Repeat marks a row that repeats an earlier row of the input (the same source identity
	// for the same user), and Repeated one that a later row repeats. The engine runs such
	// rows one after the other, in input order.
	Repeat, Repeated bool
}

// Key is the row's User, or for an item the plan did not make (its User zero), the username
// as the row gives it: a pool not read is taken as case-sensitive.
func (it *Item) Key() UserKey {
	if it.User == (UserKey{}) {
		return UserKey{Pool: it.Request.UserPoolID, Name: input.DestinationUsername(&it.Request)}
	}
	return it.User
}

// UserOf is the key of another username of the row's pool, folded as the pool folds them.
func (it *Item) UserOf(username string) UserKey {
	k := it.Pool.User(username)
	k.Pool = it.Request.UserPoolID
	return k
}

// ProviderType is the type of the row's source provider (SAML, OIDC, Google...); "" when
// the pool was not read.
func (it *Item) ProviderType() string {
	if it == nil || it.Provider == nil {
		return ""
	}
	return it.Provider.Type
}
