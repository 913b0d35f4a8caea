package emulator

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"regexp"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// Options configure an Emulator. The zero value is a service without quotas, latency or
// faults; Defaults returns the real service's quotas.
type Options struct {
	// Quotas in calls per second across the whole emulator, by category; 0 is unlimited.
	// Beyond them calls are answered TooManyRequestsException (429) and not applied. Each is a
	// token bucket holding one second's worth of calls.
	// The categories are Cognito's (docs/cognito.md, Quotas), but for AdminQuota.
	WriteQuota        float64 // UserUpdate: link, unlink, delete, sign out, add to a group
	ReadQuota         float64 // UserRead: AdminGetUser
	ListQuota         float64 // UserList: ListUsers
	ResourceReadQuota float64 // UserResourceRead: AdminListGroupsForUser
	CreateQuota       float64 // UserCreation: AdminCreateUser
	AdminQuota        float64 // CreateUserPool, DescribeUserPool, and Create/Describe/ListIdentityProvider(s)
	// PerUserWriteQuota is the rate of write calls to any one user; 0 is unlimited.
	PerUserWriteQuota float64
	// QuotaBurst is how much a category's bucket holds, in time at its quota's rate: calls
	// beyond the rate pass as long as the bucket has tokens. 0 is a second's worth, which is
	// what Cognito's buckets seem to hold (docs/emulator.md); tests of pacing vary it.
	QuotaBurst time.Duration

	// Latency is added to every call before it is handled. A call whose client gives up
	// meanwhile is not handled at all.
	Latency time.Duration

	// Probabilities in [0,1], adding up to at most 1, of faults on write calls (every
	// operation that changes a user: link, unlink, create, delete, sign out, add to a
	// group); reads answer normally so a test can inspect the state through the same
	// endpoint.
	Fault5xx      float64 // answer InternalErrorException (500) without applying the call
	Fault5xxAfter float64 // apply the call, then answer InternalErrorException (500)
	FaultDrop     float64 // close the connection without applying the call
	FaultLost     float64 // apply the call, then close the connection without answering

	// LegacyRepeatAnswer answers a link that already exists as Cognito did before mid-2024:
	// with the "Invalid SourceUser: Cognito users with a username/password..." message instead
	// of "SourceUser is already linked to DestinationUser".
	LegacyRepeatAnswer bool

	// AuthErrors maps access key IDs to the error answered to every call signed with them:
	// UnrecognizedClientException, ExpiredTokenException, AccessDeniedException or
	// NotAuthorizedException. Other keys, and unsigned calls, are accepted.
	AuthErrors map[string]string

	// Seed seeds the dice that decide faults, for reproducible runs; 0 picks a random seed.
	Seed int64

	// Logger receives one debug entry per call (operation, pool, outcome, duration); nil
	// means no logs. Credentials and request bodies are never logged.
	Logger *zap.Logger

	// Region is where pools made by CreateUserPool live: it prefixes their IDs. The default
	// is us-east-1.
	Region string

	// BackgroundRate is the rate, in write calls per second, of simulated application
	// traffic: calls that arrive at random times (a Poisson process) while the emulator
	// serves and take their tokens from the account's write quota, as the production
	// application's calls do. They are counted apart (Emulator.Background) and in the usage
	// CloudWatch answers. BackgroundSchedule changes the rate over time; BackgroundRate is
	// the rate before its first change. 0 and no schedule: no background traffic.
	BackgroundRate     float64
	BackgroundSchedule Schedule

	// ClockSkew sets the emulator's clock this far ahead of the machine's (behind, if
	// negative), as a server whose clock is off would be: the dates it records (users',
	// pools', providers', and the dateCreated of linked identities), the Date header of
	// every answer, and the times of its quotas and usage counters all follow it.
	ClockSkew time.Duration
}

// Defaults returns the options of the real service: its default quotas (docs/emulator.md), no
// latency and no faults.
func Defaults() Options {
	return Options{
		WriteQuota:        25,
		ReadQuota:         120,
		ListQuota:         30,
		ResourceReadQuota: 50,
		CreateQuota:       50,
		AdminQuota:        15,
		PerUserWriteQuota: 10,
		Region:            "us-east-1",
	}
}

// maxClockSkew bounds Options.ClockSkew: a clock a year off is a mistake, not a rehearsal.
const maxClockSkew = 365 * 24 * time.Hour

var regionPattern = regexp.MustCompile(`^[a-z]{2}(-[a-z0-9]+)+$`)

// Validate reports what is wrong with o, if anything.
func (o Options) Validate() error {
	var errs []error
	for _, q := range []struct {
		name  string
		value float64
	}{
		{"write quota", o.WriteQuota},
		{"read quota", o.ReadQuota},
		{"list quota", o.ListQuota},
		{"resource read quota", o.ResourceReadQuota},
		{"create quota", o.CreateQuota},
		{"admin quota", o.AdminQuota},
		{"per-user write quota", o.PerUserWriteQuota},
	} {
		if q.value < 0 || math.IsNaN(q.value) || math.IsInf(q.value, 0) {
			errs = append(errs, fmt.Errorf("%s %v: want a number of calls per second, 0 for unlimited", q.name, q.value))
		}
	}
	if o.QuotaBurst < 0 {
		errs = append(errs, fmt.Errorf("quota burst %v is negative", o.QuotaBurst))
	}
	if o.Latency < 0 {
		errs = append(errs, fmt.Errorf("latency %v is negative", o.Latency))
	}
	if !validRate(o.BackgroundRate) {
		errs = append(errs, fmt.Errorf("background rate %v: want a number of calls per second, 0 or more", o.BackgroundRate))
	}
	if err := o.BackgroundSchedule.validate(); err != nil {
		errs = append(errs, err)
	}
	if o.ClockSkew.Abs() > maxClockSkew {
		errs = append(errs, fmt.Errorf("clock skew %v: want at most %v either way", o.ClockSkew, maxClockSkew))
	}
	faults := []struct {
		name string
		p    float64
	}{{"5xx", o.Fault5xx}, {"5xx after", o.Fault5xxAfter}, {"drop", o.FaultDrop}, {"lost", o.FaultLost}}
	for _, f := range faults {
		if !(f.p >= 0 && f.p <= 1) {
			errs = append(errs, fmt.Errorf("fault %s probability %v is not in [0,1]", f.name, f.p))
		}
	}
	if sum := o.faultSum(); sum > 1+1e-9 { // 0.1+0.2+0.7 is 1.0000000000000002
		errs = append(errs, fmt.Errorf("fault probabilities add up to %.3g, more than 1", sum))
	}
	for key, code := range o.AuthErrors {
		if !slices.Contains(authErrorCodes, code) {
			errs = append(errs, fmt.Errorf("auth error %q for access key %q: want one of %v", code, key, authErrorCodes))
		}
	}
	if o.Region != "" && !regionPattern.MatchString(o.Region) {
		errs = append(errs, fmt.Errorf("region %q is not a region name like us-east-1", o.Region))
	}
	return errors.Join(errs...)
}

// faultSum is the probability of a fault on a write call.
func (o Options) faultSum() float64 { return o.Fault5xx + o.Fault5xxAfter + o.FaultDrop + o.FaultLost }

// withDefaults fills in what the zero value leaves to the emulator.
func (o Options) withDefaults() Options {
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	o.AuthErrors = maps.Clone(o.AuthErrors)                   // the caller's map may change
	o.BackgroundSchedule = slices.Clone(o.BackgroundSchedule) // and so may its schedule
	return o
}

// Outcomes of calls that got no error code, as Emulator.Outcomes counts them. A successful
// call counts under "" and an answered error under its code.
const (
	OutcomeDrop     = "drop"     // a FaultDrop closed the connection
	OutcomeLost     = "lost"     // a FaultLost closed the connection after applying the call
	OutcomeCanceled = "canceled" // the client went away before the call was handled
)

// Emulator is a Cognito user-pools endpoint in memory. It is an http.Handler, safe for
// concurrent use. Create one with New or NewServer.
type Emulator struct {
	opt     atomic.Pointer[Options]
	quotas  atomic.Pointer[quotas]
	dice    dice
	store   store
	stats   stats
	usage   usage            // the account's calls per minute, for CloudWatch
	traffic traffic          // the simulated application's
	tokens  tokens           // signs pagination tokens
	now     func() time.Time // the clock of quotas and dates; replaced in tests
	limits  connLimits       // of the connections Serve serves; replaced in tests

	reconfigure sync.Mutex
}

// New returns an Emulator with no user pools. It panics if opt is invalid: check options
// that come from users with Options.Validate first.
func New(opt Options) *Emulator {
	if err := opt.Validate(); err != nil {
		panic("emulator: " + err.Error())
	}
	e := &Emulator{
		store: store{pools: make(map[string]*pool)},
		stats: stats{
			calls:    make(map[string]int64),
			outcomes: make(map[string]map[string]int64),
		},
		now:    time.Now,
		limits: defaultConnLimits,
		tokens: newTokens(),
	}
	e.apply(opt.withDefaults())
	return e
}

// Reconfigure changes the options of a running emulator: edit changes a copy of the current
// ones, which apply to calls that start afterwards. The quota buckets start full again. If
// the edited options are invalid, nothing changes and Reconfigure returns why.
func (e *Emulator) Reconfigure(edit func(*Options)) error {
	e.reconfigure.Lock()
	defer e.reconfigure.Unlock()
	opt := *e.opt.Load()
	opt.AuthErrors = maps.Clone(opt.AuthErrors) // the current options' map is in use
	edit(&opt)
	if err := opt.Validate(); err != nil {
		return err
	}
	e.apply(opt.withDefaults())
	return nil
}

func (e *Emulator) apply(opt Options) {
	if old := e.opt.Load(); old == nil || old.Seed != opt.Seed {
		e.dice.seed(opt.Seed)
	}
	e.quotas.Store(newQuotas(&opt))
	e.opt.Store(&opt)
}

// BackgroundPath is where an emulator answers a GET with the counts of its simulated
// application traffic, as JSON: {"calls": 1200, "throttled": 31, "rate": 20}. No AWS
// protocol uses GET or this path.
const BackgroundPath = "/_emulator/background"

// clock returns the emulator's time: its clock's, skewed by Options.ClockSkew.
func (e *Emulator) clock() time.Time {
	return e.now().Add(e.opt.Load().ClockSkew)
}

// ServeHTTP answers one API call: Cognito's, or one of the Service Quotas and CloudWatch
// calls that read the account's quotas and usage.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	opt := e.opt.Load()
	requestID := newUUID()
	w.Header().Set("X-Amzn-Requestid", requestID)
	// net/http would add a Date from the machine's clock; clients read the emulator's.
	w.Header().Set("Date", e.clock().UTC().Format(http.TimeFormat))
	if r.Method == http.MethodGet && r.URL.Path == BackgroundPath {
		body, _ := json.Marshal(e.Background())
		writeAs(w, "application/json", http.StatusOK, body)
		return
	}
	if r.URL.Path == SignInPath {
		e.serveSignIn(w, r)
		return
	}
	if svc, name := route(r); svc != nil {
		e.serveService(w, r, svc, name, opt)
		return
	}
	name := operationName(r)
	e.stats.received(name)

	res := e.serve(w, r, name, requestID, opt)

	e.stats.finished(name, res.outcome)
	opt.Logger.Debug("cognito call",
		zap.String("op", name),
		zap.String("user_pool_id", res.poolID),
		zap.String("outcome", cmp.Or(res.outcome, "ok")),
		zap.Duration("duration", time.Since(start)),
		zap.String("request_id", requestID))
	if res.drop {
		dropConnection(w)
	}
}

// result is how a call ended.
type result struct {
	poolID  string
	outcome string // "" for success, else an error code or one of the Outcome constants
	drop    bool   // close the connection: nothing has been written
}

// serve handles one call: it answers it, or tells ServeHTTP to drop the connection.
func (e *Emulator) serve(w http.ResponseWriter, r *http.Request, name, requestID string, opt *Options) result {
	// Read the body first: only then does net/http notice a client that goes away.
	body, err := readBody(w, r)
	if ae, ok := errors.AsType[*apiError](err); ok {
		return answer(w, result{}, ae)
	}
	if err != nil || !sleep(r.Context(), opt.Latency) {
		// The client went away, or its body stalled past the read timeout: an answer would
		// reach no one, or be mistaken for one to a call the server never read.
		return result{outcome: OutcomeCanceled, drop: true}
	}
	if !isJSONRequest(r, contentType) {
		// Cognito's front door answers what it cannot route, whatever the target says.
		return answer(w, result{}, &apiError{codeBadRequest, msgBadRequest})
	}
	op, ok := operations[name]
	if !ok {
		return answer(w, result{}, &apiError{code: codeUnknownOperation})
	}
	in, err := op.decode(body)
	if err != nil {
		return answer(w, result{}, err)
	}
	if in, ok := in.(interface{ setRequestID(string) }); ok {
		in.setRequestID(requestID) // for the answers that name the request
	}
	res := result{poolID: in.poolID()}
	ref, named := identityOf(in)
	if named {
		e.stats.identities.count(name, ref, false)
	}
	uref, namesUser := e.userOf(in)
	if namesUser {
		e.stats.users.count(name, uref, false)
	}
	if err := e.authorize(r, name, in.poolID(), opt); err != nil {
		return answer(w, res, err)
	}
	now := e.clock()
	err = e.quotas.Load().admit(op.class, now)
	e.usage.record(op.class, err != nil, now)
	if err != nil {
		return answer(w, res, err)
	}
	if err := in.validate(); err != nil {
		return answer(w, res, err)
	}
	f := noFault
	if op.write {
		f = e.dice.roll(opt)
	}
	switch f {
	case fault5xx:
		return answer(w, res, &apiError{codeInternalError, msgInternalError})
	case faultDrop:
		res.outcome, res.drop = OutcomeDrop, true
		return res
	}
	out, err := op.run(e, in)
	if err == nil && named {
		e.stats.identities.count(name, ref, true)
	}
	if err == nil && namesUser {
		e.stats.users.count(name, uref, true)
	}
	switch f {
	case faultLost:
		res.outcome, res.drop = OutcomeLost, true
		return res
	case fault5xxAfter:
		return answer(w, res, &apiError{codeInternalError, msgInternalError})
	}
	if err != nil {
		return answer(w, res, err)
	}
	writeJSON(w, out)
	return res
}

// answer writes err as the call's answer and records its code as the outcome. An error that
// is not an API error is a bug, answered as one.
func answer(w http.ResponseWriter, res result, err error) result {
	ae, ok := errors.AsType[*apiError](err)
	if !ok {
		ae = &apiError{codeInternalError, err.Error()}
	}
	writeError(w, ae)
	res.outcome = ae.code
	return res
}

// sleep waits for d, or until ctx ends; it reports whether the wait was complete.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// authErrorCodes are the answers Options.AuthErrors may choose.
var authErrorCodes = []string{codeUnrecognizedClient, codeExpiredToken, codeAccessDenied, codeNotAuthorized}

// authorize answers Cognito calls signed with a key listed in Options.AuthErrors.
func (e *Emulator) authorize(r *http.Request, op, poolID string, opt *Options) error {
	resource := "*"
	if poolID != "" {
		resource = "arn:aws:cognito-idp:" + opt.Region + ":" + accountID + ":userpool/" + poolID
	}
	return e.authorizeAs(r, "cognito-idp", op, resource, opt)
}

// authorizeAs answers calls signed with a key listed in Options.AuthErrors, for an
// operation of a service whose IAM actions start with iam, on resource.
func (e *Emulator) authorizeAs(r *http.Request, iam, op, resource string, opt *Options) error {
	key := accessKeyID(r)
	switch opt.AuthErrors[key] {
	case "":
		return nil
	case codeUnrecognizedClient:
		return &apiError{codeUnrecognizedClient, msgInvalidToken}
	case codeExpiredToken:
		return &apiError{codeExpiredToken, msgExpiredToken}
	case codeNotAuthorized:
		return &apiError{codeNotAuthorized, msgNotAuthorized}
	}
	return &apiError{codeAccessDenied, msgAccessDenied(key, iam+":"+op, resource)}
}

// Identity is an external identity linked to a user.
type Identity struct {
	ProviderName  string
	ProviderType  string // SAML, OIDC, Google, ...
	AttributeName string // the ProviderAttributeName it was linked with
	UserID        string // the ProviderAttributeValue it was linked with
	DateCreated   int64  // Unix milliseconds, as in the identities attribute
	// Subject is, once the identity has signed in, the subject Cognito knows it by: the
	// userId the identities attribute shows, and the Cognito_Subject value that unlinks it.
	// It is "" while the identity has not signed in.
	Subject string
}

// id is what Cognito knows the identity by: its subject once it has signed in, else the
// value it was linked with.
func (id Identity) id() string { return cmp.Or(id.Subject, id.UserID) }

// Identities returns the identities linked to a user, looked up by username or sub, in the
// order they were linked, signed in or not; ok is false when the pool or user does not exist. A federated
// profile's own identity, which its identities attribute lists first, is not a link and is
// left out.
func (e *Emulator) Identities(poolID, username string) (ids []Identity, ok bool) {
	e.store.mu.Lock()
	defer e.store.mu.Unlock()
	if _, u, err := e.store.user(poolID, username); err == nil {
		return slices.Clone(u.links), true
	}
	return nil, false
}

// UserExists reports whether a pool has a user with that username or sub.
func (e *Emulator) UserExists(poolID, username string) bool {
	_, ok := e.Identities(poolID, username)
	return ok
}

// Groups returns the names of the groups a user, found by username or sub, belongs to, in
// order; ok is false when the pool or user does not exist.
func (e *Emulator) Groups(poolID, username string) (groups []string, ok bool) {
	e.store.mu.Lock()
	defer e.store.mu.Unlock()
	if _, u, err := e.store.user(poolID, username); err == nil {
		return slices.Clone(u.groups), true
	}
	return nil, false
}
