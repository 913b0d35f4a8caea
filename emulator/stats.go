package emulator

import (
	"maps"
	"sync"
)

// stats count calls by operation and outcome, and by the identity they name.
type stats struct {
	mu         sync.Mutex
	calls      map[string]int64
	outcomes   map[string]map[string]int64
	identities map[string]map[IdentityRef]*CallCount // by operation
	users      map[string]map[UserRef]*CallCount     // by operation
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

// identity returns the count of calls of op that named ref. The caller holds s.mu.
func (s *stats) identity(op string, ref IdentityRef) *CallCount {
	m := s.identities[op]
	if m == nil {
		m = make(map[IdentityRef]*CallCount)
		s.identities[op] = m
	}
	c := m[ref]
	if c == nil {
		c = new(CallCount)
		m[ref] = c
	}
	return c
}

func (s *stats) identityReceived(op string, ref IdentityRef) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.identity(op, ref).Received++
}

func (s *stats) identityApplied(op string, ref IdentityRef) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.identity(op, ref).Applied++
}

// IdentityCalls returns, for AdminLinkProviderForUser or AdminDisableProviderForUser, how
// many calls named each identity and how many of them were carried out, so that a test can
// tell that no identity was linked, or unlinked, twice. An identity is named as the call
// names it: by pool, ProviderName and ProviderAttributeValue, whatever the attribute. The
// map is a copy; it is empty for other operations.
func (e *Emulator) IdentityCalls(op string) map[IdentityRef]CallCount {
	e.stats.mu.Lock()
	defer e.stats.mu.Unlock()
	m := make(map[IdentityRef]CallCount, len(e.stats.identities[op]))
	for ref, c := range e.stats.identities[op] {
		m[ref] = *c
	}
	return m
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

func (s *stats) user(op string, ref UserRef) *CallCount {
	m := s.users[op]
	if m == nil {
		m = make(map[UserRef]*CallCount)
		s.users[op] = m
	}
	c := m[ref]
	if c == nil {
		c = new(CallCount)
		m[ref] = c
	}
	return c
}

func (s *stats) userReceived(op string, ref UserRef) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.user(op, ref).Received++
}

func (s *stats) userApplied(op string, ref UserRef) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.user(op, ref).Applied++
}

// UserCalls returns, for an operation that names a user by Username (AdminDeleteUser,
// AdminUserGlobalSignOut, AdminGetUser, AdminCreateUser, AdminListGroupsForUser,
// AdminAddUserToGroup), how many calls named each user and how many of them were carried
// out, so that a test can tell that no user was deleted, or signed out, twice. A user is
// named as the call names it, by username or by sub, folded to lower case in a
// case-insensitive pool. The map is a copy; it is empty for other operations.
func (e *Emulator) UserCalls(op string) map[UserRef]CallCount {
	e.stats.mu.Lock()
	defer e.stats.mu.Unlock()
	m := make(map[UserRef]CallCount, len(e.stats.users[op]))
	for ref, c := range e.stats.users[op] {
		m[ref] = *c
	}
	return m
}
