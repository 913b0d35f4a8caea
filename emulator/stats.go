package emulator

import (
	"maps"
	"sync"
)

// stats count calls by operation and outcome, and by the identity or user they name.
type stats struct {
	mu         sync.Mutex
	calls      map[string]int64
	outcomes   map[string]map[string]int64
	identities namedCalls[IdentityRef]
	users      namedCalls[UserRef]
}

// namedCalls count, per operation, the calls that named each of one kind of thing (an
// identity, a user): received, and carried out. The zero value counts nothing yet.
type namedCalls[K comparable] struct {
	mu     sync.Mutex
	counts map[string]map[K]*CallCount // by operation
}

// count counts a call of op that named k: received, or carried out when applied.
func (n *namedCalls[K]) count(op string, k K, applied bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.counts == nil {
		n.counts = make(map[string]map[K]*CallCount)
	}
	m := n.counts[op]
	if m == nil {
		m = make(map[K]*CallCount)
		n.counts[op] = m
	}
	c := m[k]
	if c == nil {
		c = new(CallCount)
		m[k] = c
	}
	if applied {
		c.Applied++
	} else {
		c.Received++
	}
}

// of returns a copy of the counts of op.
func (n *namedCalls[K]) of(op string) map[K]CallCount {
	n.mu.Lock()
	defer n.mu.Unlock()
	m := make(map[K]CallCount, len(n.counts[op]))
	for k, c := range n.counts[op] {
		m[k] = *c
	}
	return m
}

// IdentityRef names an external identity as a call names it: the SourceUser of
// AdminLinkProviderForUser, the User of AdminDisableProviderForUser.
type IdentityRef struct {
	PoolID   string
	Provider string // ProviderName
	Value    string // ProviderAttributeValue
}

// CallCount counts the calls that named one identity, or one user.
type CallCount struct {
	Received int64 // calls that named it and could be read, whatever became of them
	Applied  int64 // calls carried out: answered with success, or whose answer was lost after
}

// identityOf returns the identity a call names, if it names one.
func identityOf(in input) (IdentityRef, bool) {
	var who *providerUserIdentifier
	switch in := in.(type) {
	case *adminLinkProviderForUserInput:
		who = in.SourceUser
	case *adminDisableProviderForUserInput:
		who = in.User
	}
	if who == nil {
		return IdentityRef{}, false
	}
	ref := who.ref()
	return IdentityRef{in.poolID(), ref.provider, ref.value}, true
}

// IdentityCalls returns, for AdminLinkProviderForUser or AdminDisableProviderForUser, how
// many calls named each identity and how many of them were carried out, so that a test can
// tell that no identity was linked, or unlinked, twice. An identity is named as the call
// names it: by pool, ProviderName and ProviderAttributeValue, whatever the attribute. The
// map is a copy; it is empty for other operations.
func (e *Emulator) IdentityCalls(op string) map[IdentityRef]CallCount {
	return e.stats.identities.of(op)
}

func (s *stats) received(op string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[op]++
}

func (s *stats) finished(op, outcome string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.outcomes[op]
	if m == nil {
		m = make(map[string]int64)
		s.outcomes[op] = m
	}
	m[outcome]++
}

// Calls returns how many calls of operation op (e.g. "AdminLinkProviderForUser") the
// emulator has received, whatever became of them, those in progress included.
func (e *Emulator) Calls(op string) int64 {
	e.stats.mu.Lock()
	defer e.stats.mu.Unlock()
	return e.stats.calls[op]
}

// Outcomes returns how the finished calls of operation op ended: counts by error code, with
// "" for successes and OutcomeDrop, OutcomeLost and OutcomeCanceled for calls that got no
// answer. A fault answered with InternalErrorException counts under that code, a throttled
// call under TooManyRequestsException. The map is a copy.
func (e *Emulator) Outcomes(op string) map[string]int64 {
	e.stats.mu.Lock()
	defer e.stats.mu.Unlock()
	return maps.Clone(e.stats.outcomes[op])
}

// UserRef names a user as a call names it: by pool and Username, folded to lower case in a
// case-insensitive pool.
type UserRef struct {
	PoolID   string
	Username string
}

// userOf returns the user a call names by Username, if it names one.
func (e *Emulator) userOf(in input) (UserRef, bool) {
	named, ok := in.(interface{ username() string })
	if !ok {
		return UserRef{}, false
	}
	ref := UserRef{in.poolID(), named.username()}
	e.store.mu.Lock()
	defer e.store.mu.Unlock()
	if p := e.store.pools[ref.PoolID]; p != nil {
		ref.Username = p.fold(ref.Username)
	}
	return ref, true
}

// UserCalls returns, for an operation that names a user by Username (AdminDeleteUser,
// AdminUserGlobalSignOut, AdminGetUser, AdminCreateUser, AdminListGroupsForUser,
// AdminAddUserToGroup), how many calls named each user and how many of them were carried
// out, so that a test can tell that no user was deleted, or signed out, twice. A user is
// named as the call names it, by username or by sub, folded to lower case in a
// case-insensitive pool. The map is a copy; it is empty for other operations.
func (e *Emulator) UserCalls(op string) map[UserRef]CallCount {
	return e.stats.users.of(op)
}
