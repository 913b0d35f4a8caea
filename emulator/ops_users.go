package emulator

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// userType is the API's UserType, as ListUsers and AdminCreateUser answer it.
type userType struct {
	Username             string      `json:"Username"`
	Attributes           []attribute `json:"Attributes"`
	UserCreateDate       epochTime   `json:"UserCreateDate"`
	UserLastModifiedDate epochTime   `json:"UserLastModifiedDate"`
	Enabled              bool        `json:"Enabled"`
	UserStatus           string      `json:"UserStatus"`
	MFAOptions           []mfaOption `json:"MFAOptions,omitempty"`
}

func (u *user) userType(only []string) userType {
	return userType{
		Username:             u.username,
		Attributes:           u.attributeList(only),
		UserCreateDate:       epochTime(u.created),
		UserLastModifiedDate: epochTime(u.modified),
		Enabled:              u.enabled,
		UserStatus:           u.status,
		MFAOptions:           u.mfaOptions(),
	}
}

// adminUserInput is the input of AdminGetUser, AdminDeleteUser and AdminUserGlobalSignOut.
type adminUserInput struct {
	UserPoolId *string
	Username   *string
}

func (in *adminUserInput) poolID() string   { return aws.ToString(in.UserPoolId) }
func (in *adminUserInput) username() string { return aws.ToString(in.Username) }

func (in *adminUserInput) validate() error {
	var v validation
	v.requiredString("userPoolId", in.UserPoolId, shapeUserPoolID)
	v.requiredString("username", in.Username, shapeUsername)
	return v.err()
}

type adminGetUserOutput struct {
	Username             string      `json:"Username"`
	UserAttributes       []attribute `json:"UserAttributes"`
	UserCreateDate       epochTime   `json:"UserCreateDate"`
	UserLastModifiedDate epochTime   `json:"UserLastModifiedDate"`
	Enabled              bool        `json:"Enabled"`
	UserStatus           string      `json:"UserStatus"`
	MFAOptions           []mfaOption `json:"MFAOptions,omitempty"`
	PreferredMfaSetting  string      `json:"PreferredMfaSetting,omitempty"`
	UserMFASettingList   []string    `json:"UserMFASettingList,omitempty"`
}

func (e *Emulator) adminGetUser(in *adminUserInput) (*adminGetUserOutput, error) {
	e.store.mu.Lock()
	defer e.store.mu.Unlock()
	_, u, err := e.store.user(in.poolID(), *in.Username)
	if err != nil {
		return nil, err
	}
	return &adminGetUserOutput{
		Username:             u.username,
		UserAttributes:       u.attributeList(nil),
		UserCreateDate:       epochTime(u.created),
		UserLastModifiedDate: epochTime(u.modified),
		Enabled:              u.enabled,
		UserStatus:           u.status,
		MFAOptions:           u.mfaOptions(),
		PreferredMfaSetting:  u.mfaPreferred,
		UserMFASettingList:   u.mfaEnabled,
	}, nil
}

func (e *Emulator) adminDeleteUser(in *adminUserInput) (noOutput, error) {
	e.store.mu.Lock()
	defer e.store.mu.Unlock()
	p, u, err := e.store.user(in.poolID(), *in.Username)
	if err != nil {
		return noOutput{}, err
	}
	if err := e.quotas.Load().admitUser(p.id, u.username, e.clock()); err != nil {
		return noOutput{}, err
	}
	p.remove(u)
	return noOutput{}, nil
}

// adminUserGlobalSignOut signs a user out everywhere: Cognito revokes its refresh tokens
// (doc). The emulator issues no tokens; the call is counted (UserCalls), and changes
// nothing else, the user's dates included (a guess).
func (e *Emulator) adminUserGlobalSignOut(in *adminUserInput) (noOutput, error) {
	e.store.mu.Lock()
	defer e.store.mu.Unlock()
	p, u, err := e.store.user(in.poolID(), *in.Username)
	if err != nil {
		return noOutput{}, err
	}
	return noOutput{}, e.quotas.Load().admitUser(p.id, u.username, e.clock())
}

// attributeInput is an AttributeType in a request.
type attributeInput struct {
	Name  *string
	Value *string
}

type adminCreateUserInput struct {
	UserPoolId        *string
	Username          *string
	UserAttributes    []attributeInput
	TemporaryPassword *string
	MessageAction     *string
	// ValidationData, ForceAliasCreation, DesiredDeliveryMediums and ClientMetadata are
	// accepted and ignored: the emulator sends no messages and runs no triggers.
}

func (in *adminCreateUserInput) poolID() string   { return aws.ToString(in.UserPoolId) }
func (in *adminCreateUserInput) username() string { return aws.ToString(in.Username) }

var shapePassword = shape(0, 256, `[\S]+`).secret()

func (in *adminCreateUserInput) validate() error {
	var v validation
	v.requiredString("userPoolId", in.UserPoolId, shapeUserPoolID)
	v.requiredString("username", in.Username, shapeUsername)
	for i, a := range in.UserAttributes {
		v.required(fmt.Sprintf("userAttributes.%d.member.name", i+1), a.Name != nil)
	}
	v.string("temporaryPassword", in.TemporaryPassword, shapePassword)
	v.string("messageAction", in.MessageAction, shapeMessageAction)
	return v.err()
}

type adminCreateUserOutput struct {
	User userType `json:"User"`
}

// adminCreateUser creates a native user, in status FORCE_CHANGE_PASSWORD as an administrator's
// users start. The sub is Cognito's to choose: a sub among the attributes is ignored.
func (e *Emulator) adminCreateUser(in *adminCreateUserInput) (*adminCreateUserOutput, error) {
	e.store.mu.Lock()
	defer e.store.mu.Unlock()
	p, err := e.store.pool(in.poolID())
	if err != nil {
		return nil, err
	}
	now := e.clock()
	username := p.fold(*in.Username)
	if err := e.quotas.Load().admitUser(p.id, username, now); err != nil {
		return nil, err
	}
	if p.users[username] != nil {
		return nil, &apiError{codeUsernameExists, msgUsernameExists}
	}
	attrs := make(map[string]string, len(in.UserAttributes))
	for _, a := range in.UserAttributes {
		attrs[*a.Name] = aws.ToString(a.Value)
	}
	u := p.newUser(username, statusForceChangePassword, attrs, now)
	p.add(u)
	return &adminCreateUserOutput{User: u.userType(nil)}, nil
}

type listUsersInput struct {
	UserPoolId      *string
	AttributesToGet []string
	Limit           *int32
	PaginationToken *string
	Filter          *string

	requestID string // of the call, which an invalid token's answer names
}

func (in *listUsersInput) poolID() string         { return aws.ToString(in.UserPoolId) }
func (in *listUsersInput) setRequestID(id string) { in.requestID = id }

func (in *listUsersInput) validate() error {
	var v validation
	v.requiredString("userPoolId", in.UserPoolId, shapeUserPoolID)
	v.int("limit", in.Limit, 0, 60)
	v.string("paginationToken", in.PaginationToken, shapePaginationToken)
	v.string("filter", in.Filter, shapeFilter)
	return v.err()
}

type listUsersOutput struct {
	Users           []userType `json:"Users"`
	PaginationToken *string    `json:"PaginationToken,omitempty"`
}

// listUsers pages through a pool's users in username order, filtered as Cognito filters
// (docs/emulator.md, ListUsers). A page costs a binary search for where its token resumes
// and the users it looks at from there: an unfiltered page, and a username filter's, look
// at no more users than they answer; another filter reads on until its page is full, so
// that a whole listing reads each user once.
func (e *Emulator) listUsers(in *listUsersInput) (*listUsersOutput, error) {
	filter, err := parseFilter(aws.ToString(in.Filter))
	if err != nil {
		return nil, err
	}
	limit := pageSize(in.Limit)
	// The token goes with the pool and the filter it was issued for.
	scope := []string{"ListUsers", in.poolID(), aws.ToString(in.Filter)}
	resumeAfter, ok := e.tokens.resume(scope, in.PaginationToken)
	if !ok {
		return nil, invalidToken(*in.PaginationToken, in.requestID)
	}

	e.store.mu.Lock()
	defer e.store.mu.Unlock()
	p, err := e.store.pool(in.poolID())
	if err != nil {
		return nil, err
	}
	names := after(p.usernames, resumeAfter)
	if filter.attribute == "username" {
		filter.value = p.fold(filter.value)
		// Usernames are sorted: the matches are the run that starts with the value, and
		// the page ends where the run does.
		i, _ := slices.BinarySearch(names, filter.value)
		names = names[i:]
	}
	only := in.AttributesToGet
	if len(only) == 0 {
		only = nil // an empty list asks for every attribute, as none does
	}
	out := &listUsersOutput{Users: []userType{}}
	for _, name := range names {
		if filter.attribute == "username" && !strings.HasPrefix(name, filter.value) {
			break
		}
		u := p.users[name]
		if !filter.match(u) {
			continue
		}
		if len(out.Users) == limit {
			out.PaginationToken = e.tokens.issue(scope, out.Users[limit-1].Username)
			break
		}
		if err := u.hasAttributes(only); err != nil {
			return nil, err
		}
		out.Users = append(out.Users, u.userType(only))
	}
	return out, nil
}

// hasAttributes checks that u has a value for each attribute of AttributesToGet that
// ListUsers cannot filter on: Cognito refuses the call otherwise (doc: such attributes
// "must have a value set in every user profile before an AttributesToGet parameter returns
// results").
func (u *user) hasAttributes(only []string) error {
	for _, name := range only {
		if slices.Contains(searchable, name) {
			continue
		}
		if name == "identities" && (u.own != nil || len(u.links) > 0) {
			continue
		}
		if _, ok := u.attribute(name); !ok {
			return invalidParameter(msgInputConstraints)
		}
	}
	return nil
}

// userFilter is a ListUsers filter: `attribute = "value"` or `attribute ^= "value"`.
// The zero value matches every user.
type userFilter struct {
	attribute, value string
	prefix           bool
}

// filterSyntax is a filter's grammar: an attribute name, bare or quoted, = or ^=, and a
// quoted value in which \" and \\ stand for " and \; whitespace around each part.
var filterSyntax = regexp.MustCompile(`^\s*(?:"([\w:]+)"|([\w:]+))\s*(\^?=)\s*"((?:[^"\\]|\\.)*)"\s*$`)

// searchable are the attributes ListUsers can filter on.
var searchable = []string{
	"username", "email", "phone_number", "name", "given_name", "family_name",
	"preferred_username", "cognito:user_status", "status", "sub",
}

func parseFilter(s string) (userFilter, error) {
	if strings.TrimSpace(s) == "" {
		return userFilter{}, nil
	}
	m := filterSyntax.FindStringSubmatch(s)
	if m == nil {
		return userFilter{}, invalidParameter(msgFilterSyntax)
	}
	attribute := cmp.Or(m[1], m[2])
	if !slices.Contains(searchable, attribute) {
		return userFilter{}, invalidParameter(msgFilterAttribute(attribute))
	}
	value := strings.NewReplacer(`\"`, `"`, `\\`, `\`).Replace(m[4])
	return userFilter{attribute: attribute, value: value, prefix: m[3] == "^="}, nil
}

// match reports whether u passes the filter. Values are compared whatever their case but
// for username (whose case the pool's setting decides: the caller folds the value) and
// status, which are case-sensitive (doc: the ListUsers API reference).
func (f userFilter) match(u *user) bool {
	var have string
	switch f.attribute {
	case "":
		return true
	case "username":
		have = u.username
	case "status":
		have = "Disabled"
		if u.enabled {
			have = "Enabled"
		}
	case "cognito:user_status":
		have = u.status
	default:
		v, ok := u.attribute(f.attribute)
		if !ok {
			return false
		}
		have = v
	}
	want := f.value
	if f.attribute != "username" && f.attribute != "status" {
		have, want = strings.ToLower(have), strings.ToLower(want)
	}
	if f.prefix {
		return strings.HasPrefix(have, want)
	}
	return have == want
}
