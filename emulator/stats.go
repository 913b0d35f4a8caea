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
}

// IdentityRef names an external identity as a call names it: the SourceUser of
// AdminLinkProviderForUser, the User of AdminDisableProviderForUser.
type IdentityRef struct {
	PoolID   string
	Provider string // ProviderName
	Value    string // ProviderAttributeValue
}

// CallCount counts the calls that named one identity.
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
