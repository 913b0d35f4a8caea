package emulator

import (
	"encoding/base64"
	"strconv"
	"time"
)

// operations are the API operations the emulator serves, by name, with their quota class;
// those that change users are writes, which faults strike.
var operations = map[string]operation{
	"AdminLinkProviderForUser":    op(classWrite, (*Emulator).adminLinkProviderForUser).writes(),
	"AdminDisableProviderForUser": op(classWrite, (*Emulator).adminDisableProviderForUser).writes(),
	"AdminCreateUser":             op(classCreate, (*Emulator).adminCreateUser).writes(),
	"AdminDeleteUser":             op(classWrite, (*Emulator).adminDeleteUser).writes(),
	"AdminUserGlobalSignOut":      op(classWrite, (*Emulator).adminUserGlobalSignOut).writes(),
	"AdminAddUserToGroup":         op(classWrite, (*Emulator).adminAddUserToGroup).writes(),
	"AdminListGroupsForUser":      op(classResourceRead, (*Emulator).adminListGroupsForUser),
	"AdminGetUser":                op(classRead, (*Emulator).adminGetUser),
	"ListUsers":                   op(classList, (*Emulator).listUsers),
	"CreateUserPool":              op(classAdmin, (*Emulator).createUserPool),
	"DescribeUserPool":            op(classAdmin, (*Emulator).describeUserPool),
	"CreateIdentityProvider":      op(classAdmin, (*Emulator).createIdentityProvider),
	"DescribeIdentityProvider":    op(classAdmin, (*Emulator).describeIdentityProvider),
	"ListIdentityProviders":       op(classAdmin, (*Emulator).listIdentityProviders),
}

// input is the decoded request of an operation.
type input interface {
	// validate checks the API model's constraints: required members, lengths, patterns and
	// enums, answering violations as AWS does.
	validate() error
	// poolID is the user pool the request names, for logs and IAM messages; "" for none.
	poolID() string
}

// operation is an API operation: its quota class, whether it changes a user, how to decode
// its request, and what it does.
type operation struct {
	class  class
	write  bool
	decode func(body []byte) (input, error)
	run    func(e *Emulator, in input) (any, error)
}

// writes marks an operation as one that changes a user.
func (o operation) writes() operation { o.write = true; return o }

// op makes an operation of a method that takes its input type and returns its output type.
func op[In any, P interface {
	*In
	input
}, Out any](c class, fn func(*Emulator, P) (Out, error)) operation {
	return operation{
		class: c,
		decode: func(body []byte) (input, error) {
			in := P(new(In))
			return in, decode(body, in)
		},
		run: func(e *Emulator, in input) (any, error) { return fn(e, in.(P)) },
	}
}

// noOutput is the output of operations that answer an empty object.
type noOutput struct{}

// epochTime is a timestamp as the protocol carries it: seconds since the epoch, as a JSON
// number with millisecond precision.
type epochTime time.Time

func (t epochTime) MarshalJSON() ([]byte, error) {
	ms := time.Time(t).UnixMilli()
	return strconv.AppendFloat(nil, float64(ms)/1000, 'f', -1, 64), nil
}

// pageToken returns the opaque pagination token that resumes a listing after key.
func pageToken(key string) *string {
	t := base64.RawURLEncoding.EncodeToString([]byte(key))
	return &t
}

// pageAfter returns the key a pagination token resumes after: "" for no token.
func pageAfter(token *string) (string, error) {
	if token == nil {
		return "", nil
	}
	key, err := base64.RawURLEncoding.DecodeString(*token)
	if err != nil || len(key) == 0 {
		return "", invalidParameter(msgPaginationToken)
	}
	return string(key), nil
}

// pageSize returns a listing's page size: the requested one, 60 when absent or 0.
func pageSize(limit *int32) int {
	if limit == nil || *limit == 0 {
		return 60
	}
	return int(*limit)
}
