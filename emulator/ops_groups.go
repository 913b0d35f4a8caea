package emulator

import (
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// The model's shapes of groups.
var (
	shapeGroupName     = shape(1, 128, `[\p{L}\p{M}\p{S}\p{N}\p{P}]+`)
	shapeDescription   = shape(0, 2048, "")
	shapeArn           = shape(20, 2048, `arn:[\w+=/,.@-]+:[\w+=/,.@-]+:([\w+=/,.@-]*)?:[0-9]+:[\w+=/,.@-]+(:[\w+=/,.@-]+)?(:[\w+=/,.@-]+)?`)
	shapePaginationKey = shape(1, 131072, `[\S]+`)
)

// groupType is the API's GroupType.
type groupType struct {
	GroupName        string    `json:"GroupName"`
	UserPoolId       string    `json:"UserPoolId"`
	Description      string    `json:"Description,omitempty"`
	RoleArn          string    `json:"RoleArn,omitempty"`
	Precedence       *int32    `json:"Precedence,omitempty"`
	LastModifiedDate epochTime `json:"LastModifiedDate"`
	CreationDate     epochTime `json:"CreationDate"`
}

func (p *pool) describeGroup(g *group) groupType {
	return groupType{
		GroupName:        g.name,
		UserPoolId:       p.id,
		Description:      g.description,
		RoleArn:          g.roleArn,
		Precedence:       g.precedence,
		LastModifiedDate: epochTime(g.modified),
		CreationDate:     epochTime(g.created),
	}
}

type adminListGroupsForUserInput struct {
	Username   *string
	UserPoolId *string
	Limit      *int32
	NextToken  *string

	requestID string
}

func (in *adminListGroupsForUserInput) poolID() string         { return aws.ToString(in.UserPoolId) }
func (in *adminListGroupsForUserInput) username() string       { return aws.ToString(in.Username) }
func (in *adminListGroupsForUserInput) setRequestID(id string) { in.requestID = id }

func (in *adminListGroupsForUserInput) validate() error {
	var v validation
	v.requiredString("username", in.Username, shapeUsername)
	v.requiredString("userPoolId", in.UserPoolId, shapeUserPoolID)
	v.int("limit", in.Limit, 0, 60)
	v.string("nextToken", in.NextToken, shapePaginationKey)
	return v.err()
}

type adminListGroupsForUserOutput struct {
	Groups    []groupType `json:"Groups"`
	NextToken *string     `json:"NextToken,omitempty"`
}

// adminListGroupsForUser pages through a user's groups by name. A token resumes only the
// listing of the user it came from.
func (e *Emulator) adminListGroupsForUser(in *adminListGroupsForUserInput) (*adminListGroupsForUserOutput, error) {
	limit := pageSize(in.Limit)
	e.store.mu.Lock()
	defer e.store.mu.Unlock()
	p, u, err := e.store.user(in.poolID(), *in.Username)
	if err != nil {
		return nil, err
	}
	scope := []string{"AdminListGroupsForUser", p.id, u.username}
	resumeAfter, ok := e.tokens.resume(scope, in.NextToken)
	if !ok {
		return nil, invalidToken(*in.NextToken, in.requestID)
	}
	out := &adminListGroupsForUserOutput{Groups: []groupType{}}
	for _, name := range after(u.groups, resumeAfter) {
		if len(out.Groups) == limit {
			out.NextToken = e.tokens.issue(scope, out.Groups[limit-1].GroupName)
			break
		}
		out.Groups = append(out.Groups, p.describeGroup(p.groups[name]))
	}
	return out, nil
}

type adminAddUserToGroupInput struct {
	UserPoolId *string
	Username   *string
	GroupName  *string
}

func (in *adminAddUserToGroupInput) poolID() string   { return aws.ToString(in.UserPoolId) }
func (in *adminAddUserToGroupInput) username() string { return aws.ToString(in.Username) }

func (in *adminAddUserToGroupInput) validate() error {
	var v validation
	v.requiredString("userPoolId", in.UserPoolId, shapeUserPoolID)
	v.requiredString("username", in.Username, shapeUsername)
	v.requiredString("groupName", in.GroupName, shapeGroupName)
	return v.err()
}

// adminAddUserToGroup adds a user to a group; a user in it already stays as it is (a
// guess: the call succeeds).
func (e *Emulator) adminAddUserToGroup(in *adminAddUserToGroupInput) (noOutput, error) {
	e.store.mu.Lock()
	defer e.store.mu.Unlock()
	p, u, err := e.store.user(in.poolID(), *in.Username)
	if err != nil {
		return noOutput{}, err
	}
	if p.groups[*in.GroupName] == nil {
		return noOutput{}, &apiError{codeResourceNotFound, msgGroupNotFound}
	}
	if err := e.quotas.Load().admitUser(p.id, u.username, e.clock()); err != nil {
		return noOutput{}, err
	}
	if !slices.Contains(u.groups, *in.GroupName) && len(u.groups) >= maxGroupsPerUser {
		// The model lists no LimitExceededException for this operation.
		return noOutput{}, invalidParameter(msgTooManyGroups(maxGroupsPerUser))
	}
	u.join(*in.GroupName)
	return noOutput{}, nil
}
