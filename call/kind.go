package call

import (
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas"
)

// A Category is a quota category: Cognito counts calls per account and region in each, and
// throttles each apart (docs/cognito.md, Quotas). The Caller paces each category of each
// region in its own bucket.
type Category string

// The categories of the calls bulklink makes.
const (
	UserUpdate       Category = "UserUpdate"       // link, unlink, sign-out, delete
	UserRead         Category = "UserRead"         // AdminGetUser
	UserList         Category = "UserList"         // ListUsers
	UserResourceRead Category = "UserResourceRead" // AdminListGroupsForUser
	PoolRead         Category = "PoolRead"         // DescribeUserPool, ListIdentityProviders, DescribeIdentityProvider
	UsageRead        Category = "UsageRead"        // Service Quotas and CloudWatch, for --rate auto
)

// Kind is what bulklink knows of one API operation, as data: its quota category, whether
// it changes Cognito, whether a retry after an unknown outcome is harmless, and which of its
// refusals may mean that its effect is in place. Kinds is the table of them all.
type Kind struct {
	Name     string
	Category Category
	// Write marks an operation that changes state: its category's bucket is the adaptive
	// one (pace.Adaptive), and its calls to one user are spaced (pace.Users).
	Write bool
	// Repeatable says that a call may be sent again after an attempt whose outcome is
	// unknown (a 5xx, a timeout, a lost answer): a repeat cannot do harm, only be refused.
	// A kind that is not (a delete: the username may belong to a new user by then) returns
	// to its operation, which reads to learn what the lost attempt did.
	Repeatable bool
	// maybeDone are the texts of refusals (InvalidParameterException) that may mean the
	// effect is already in place; the operation then reads the user to settle it. Cognito's
	// messages are not a contract: this is the one place that reads them, and only to
	// decide to read (docs/cognito.md, Outcomes).
	maybeDone []string
	index     int // in Kinds
}

// MaybeDone reports whether a refusal with code and message may mean that the call's effect
// is in place.
func (k *Kind) MaybeDone(code, message string) bool {
	if code != "InvalidParameterException" {
		return false
	}
	for _, s := range k.maybeDone {
		if strings.Contains(message, s) {
			return true
		}
	}
	return false
}

func (k *Kind) String() string { return k.Name }

// MergingMessage is Cognito's text for a source identity that has signed in already and has
// a profile of its own: it has been seen with the link in place all the same.
const MergingMessage = "Merging is not currently supported"

// The kinds, one per operation.
var (
	KindLink = &Kind{Name: "AdminLinkProviderForUser", Category: UserUpdate, Write: true, Repeatable: true, maybeDone: []string{
		// Since mid-2024, the answer to a repeated link (and to a source linked elsewhere).
		"already linked",
		// Before that, a repeat got this answer, meant for a Cognito source. bulklink never
		// sends a Cognito source (input.Check refuses it), so here it is a repeat.
		"Invalid SourceUser: Cognito users",
		// The source signed in already; seen with the link made all the same.
		MergingMessage,
	}}
	KindUnlink = &Kind{Name: "AdminDisableProviderForUser", Category: UserUpdate, Write: true, Repeatable: true,
		maybeDone: []string{"isn't linked", "is not linked", "not linked to"}}
	KindSignOut          = &Kind{Name: "AdminUserGlobalSignOut", Category: UserUpdate, Write: true, Repeatable: true}
	KindDelete           = &Kind{Name: "AdminDeleteUser", Category: UserUpdate, Write: true}
	KindGetUser          = &Kind{Name: "AdminGetUser", Category: UserRead, Repeatable: true}
	KindListUsers        = &Kind{Name: "ListUsers", Category: UserList, Repeatable: true}
	KindListGroups       = &Kind{Name: "AdminListGroupsForUser", Category: UserResourceRead, Repeatable: true}
	KindDescribePool     = &Kind{Name: "DescribeUserPool", Category: PoolRead, Repeatable: true}
	KindListProviders    = &Kind{Name: "ListIdentityProviders", Category: PoolRead, Repeatable: true}
	KindDescribeProvider = &Kind{Name: "DescribeIdentityProvider", Category: PoolRead, Repeatable: true}
	KindListQuotas       = &Kind{Name: "ListServiceQuotas", Category: UsageRead, Repeatable: true}
	KindGetQuota         = &Kind{Name: "GetServiceQuota", Category: UsageRead, Repeatable: true}
	KindListMetrics      = &Kind{Name: "ListMetrics", Category: UsageRead, Repeatable: true}
	KindGetMetricData    = &Kind{Name: "GetMetricData", Category: UsageRead, Repeatable: true}
)

// Kinds is the table of every operation's Kind.
var Kinds = [...]*Kind{KindLink, KindUnlink, KindSignOut, KindDelete, KindGetUser, KindListUsers, KindListGroups,
	KindDescribePool, KindListProviders, KindDescribeProvider, KindListQuotas, KindGetQuota, KindListMetrics, KindGetMetricData}

func init() {
	for i, k := range Kinds {
		k.index = i
	}
}

// Cognito is the part of the Cognito user-pools client bulklink calls;
// *cognitoidentityprovider.Client implements it.
type Cognito interface {
	AdminLinkProviderForUser(context.Context, *cip.AdminLinkProviderForUserInput, ...func(*cip.Options)) (*cip.AdminLinkProviderForUserOutput, error)
	AdminDisableProviderForUser(context.Context, *cip.AdminDisableProviderForUserInput, ...func(*cip.Options)) (*cip.AdminDisableProviderForUserOutput, error)
	AdminUserGlobalSignOut(context.Context, *cip.AdminUserGlobalSignOutInput, ...func(*cip.Options)) (*cip.AdminUserGlobalSignOutOutput, error)
	AdminDeleteUser(context.Context, *cip.AdminDeleteUserInput, ...func(*cip.Options)) (*cip.AdminDeleteUserOutput, error)
	AdminGetUser(context.Context, *cip.AdminGetUserInput, ...func(*cip.Options)) (*cip.AdminGetUserOutput, error)
	ListUsers(context.Context, *cip.ListUsersInput, ...func(*cip.Options)) (*cip.ListUsersOutput, error)
	AdminListGroupsForUser(context.Context, *cip.AdminListGroupsForUserInput, ...func(*cip.Options)) (*cip.AdminListGroupsForUserOutput, error)
	DescribeUserPool(context.Context, *cip.DescribeUserPoolInput, ...func(*cip.Options)) (*cip.DescribeUserPoolOutput, error)
	ListIdentityProviders(context.Context, *cip.ListIdentityProvidersInput, ...func(*cip.Options)) (*cip.ListIdentityProvidersOutput, error)
	DescribeIdentityProvider(context.Context, *cip.DescribeIdentityProviderInput, ...func(*cip.Options)) (*cip.DescribeIdentityProviderOutput, error)
}

// Quotas is the part of the Service Quotas client --rate auto calls;
// *servicequotas.Client implements it.
type Quotas interface {
	ListServiceQuotas(context.Context, *servicequotas.ListServiceQuotasInput, ...func(*servicequotas.Options)) (*servicequotas.ListServiceQuotasOutput, error)
	GetServiceQuota(context.Context, *servicequotas.GetServiceQuotaInput, ...func(*servicequotas.Options)) (*servicequotas.GetServiceQuotaOutput, error)
}

// Metrics is the part of the CloudWatch client --rate auto calls; *cloudwatch.Client
// implements it.
type Metrics interface {
	ListMetrics(context.Context, *cloudwatch.ListMetricsInput, ...func(*cloudwatch.Options)) (*cloudwatch.ListMetricsOutput, error)
	GetMetricData(context.Context, *cloudwatch.GetMetricDataInput, ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error)
}

// An Op is one operation of a client C, typed by its input and output: its Kind, and how to
// send one attempt. Do sends it.
type Op[C, In, Out any] struct {
	*Kind
	send func(C, context.Context, *In) (*Out, error)
}

func op[C, In, Out any](k *Kind, send func(C, context.Context, *In) (*Out, error)) *Op[C, In, Out] {
	return &Op[C, In, Out]{Kind: k, send: send}
}

// The operations, by client.
var (
	Link = op(KindLink, func(c Cognito, ctx context.Context, in *cip.AdminLinkProviderForUserInput) (*cip.AdminLinkProviderForUserOutput, error) {
		return c.AdminLinkProviderForUser(ctx, in)
	})
	Unlink = op(KindUnlink, func(c Cognito, ctx context.Context, in *cip.AdminDisableProviderForUserInput) (*cip.AdminDisableProviderForUserOutput, error) {
		return c.AdminDisableProviderForUser(ctx, in)
	})
	SignOut = op(KindSignOut, func(c Cognito, ctx context.Context, in *cip.AdminUserGlobalSignOutInput) (*cip.AdminUserGlobalSignOutOutput, error) {
		return c.AdminUserGlobalSignOut(ctx, in)
	})
	Delete = op(KindDelete, func(c Cognito, ctx context.Context, in *cip.AdminDeleteUserInput) (*cip.AdminDeleteUserOutput, error) {
		return c.AdminDeleteUser(ctx, in)
	})
	GetUser = op(KindGetUser, func(c Cognito, ctx context.Context, in *cip.AdminGetUserInput) (*cip.AdminGetUserOutput, error) {
		return c.AdminGetUser(ctx, in)
	})
	ListUsers = op(KindListUsers, func(c Cognito, ctx context.Context, in *cip.ListUsersInput) (*cip.ListUsersOutput, error) {
		return c.ListUsers(ctx, in)
	})
	ListGroups = op(KindListGroups, func(c Cognito, ctx context.Context, in *cip.AdminListGroupsForUserInput) (*cip.AdminListGroupsForUserOutput, error) {
		return c.AdminListGroupsForUser(ctx, in)
	})
	DescribePool = op(KindDescribePool, func(c Cognito, ctx context.Context, in *cip.DescribeUserPoolInput) (*cip.DescribeUserPoolOutput, error) {
		return c.DescribeUserPool(ctx, in)
	})
	ListProviders = op(KindListProviders, func(c Cognito, ctx context.Context, in *cip.ListIdentityProvidersInput) (*cip.ListIdentityProvidersOutput, error) {
		return c.ListIdentityProviders(ctx, in)
	})
	DescribeProvider = op(KindDescribeProvider, func(c Cognito, ctx context.Context, in *cip.DescribeIdentityProviderInput) (*cip.DescribeIdentityProviderOutput, error) {
		return c.DescribeIdentityProvider(ctx, in)
	})
	ListServiceQuotas = op(KindListQuotas, func(c Quotas, ctx context.Context, in *servicequotas.ListServiceQuotasInput) (*servicequotas.ListServiceQuotasOutput, error) {
		return c.ListServiceQuotas(ctx, in)
	})
	GetServiceQuota = op(KindGetQuota, func(c Quotas, ctx context.Context, in *servicequotas.GetServiceQuotaInput) (*servicequotas.GetServiceQuotaOutput, error) {
		return c.GetServiceQuota(ctx, in)
	})
	ListMetrics = op(KindListMetrics, func(c Metrics, ctx context.Context, in *cloudwatch.ListMetricsInput) (*cloudwatch.ListMetricsOutput, error) {
		return c.ListMetrics(ctx, in)
	})
	GetMetricData = op(KindGetMetricData, func(c Metrics, ctx context.Context, in *cloudwatch.GetMetricDataInput) (*cloudwatch.GetMetricDataOutput, error) {
		return c.GetMetricData(ctx, in)
	})
)
