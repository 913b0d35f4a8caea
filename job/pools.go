package job

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/bulklink/bulklink/call"
	"github.com/bulklink/bulklink/input"
	"github.com/bulklink/bulklink/plan"
	"github.com/bulklink/bulklink/schema"
)

// PoolReader reads pools for the trust checks (plan.Pools): DescribeUserPool,
// ListIdentityProviders, and DescribeIdentityProvider for the SAML and OIDC providers, whose
// attribute mappings the checks need. Its calls go through Calls like every other call
// (paced in the PoolRead category, retried, classified): a refusal of the credentials or of
// the permission is fatal, and so is a Cognito that does not answer within the attempts
// (Unreachable), before any row is written.
type PoolReader struct {
	API   call.Cognito
	Calls *call.Caller
	// MaxAttempts and Timeout override the Caller's when positive (validate, which can do
	// without the reads, does not wait long for them).
	MaxAttempts int
	Timeout     time.Duration
}

// Pool reads one pool.
func (r *PoolReader) Pool(ctx context.Context, id string) (*plan.Pool, error) {
	p := &plan.Pool{ID: id, Providers: map[string]plan.Provider{}}
	region := input.PoolRegion(id)
	pool, err := poolRead(ctx, r, region, call.DescribePool, &cip.DescribeUserPoolInput{UserPoolId: aws.String(id)})
	if fe, ok := errors.AsType[*call.FatalError](err); ok && fe.Code == "ResourceNotFoundException" {
		return p, nil // the pool does not exist: an answer, not a failure
	}
	if err != nil {
		return nil, err
	}
	p.Exists = true
	p.EstimatedUsers = int64(pool.UserPool.EstimatedNumberOfUsers)
	if uc := pool.UserPool.UsernameConfiguration; uc != nil && uc.CaseSensitive != nil {
		p.CaseSensitive = *uc.CaseSensitive
	} else {
		p.CaseSensitive = true // pools made before usernames could be case-insensitive
	}
	var token *string
	for {
		page, err := poolRead(ctx, r, region, call.ListProviders, &cip.ListIdentityProvidersInput{UserPoolId: aws.String(id), MaxResults: aws.Int32(60), NextToken: token})
		if err != nil {
			return nil, err
		}
		for _, d := range page.Providers {
			name, typ := aws.ToString(d.ProviderName), string(d.ProviderType)
			p.Providers[name] = plan.Provider{Name: name, Type: typ}
		}
		if token = page.NextToken; token == nil || *token == "" {
			break
		}
	}
	for name, prov := range p.Providers {
		if prov.Type != "SAML" && prov.Type != "OIDC" {
			continue // a social provider links by Cognito_Subject alone
		}
		out, err := poolRead(ctx, r, region, call.DescribeProvider, &cip.DescribeIdentityProviderInput{UserPoolId: aws.String(id), ProviderName: aws.String(name)})
		if err != nil {
			return nil, err
		}
		prov.Mapping = out.IdentityProvider.AttributeMapping
		p.Providers[name] = prov
	}
	return p, nil
}

// poolRead makes one read of a pool. A fatal answer is a *FatalError; one that never comes,
// Unreachable; a refusal, an error. A cancellation is the context's cause.
func poolRead[In, Out any](ctx context.Context, r *PoolReader, region string, op *call.Op[call.Cognito, In, Out], in *In) (*Out, error) {
	out, res, err := call.Do(ctx, r.Calls, op, r.API, in, call.Opts{Region: region, MaxAttempts: r.MaxAttempts, Timeout: r.Timeout})
	switch {
	case errors.Is(err, call.ErrCancelled):
		return nil, context.Cause(ctx)
	case err != nil:
		return nil, err
	case res.OK():
		return out, nil
	case res.Exhausted:
		return nil, &FatalError{Code: schema.Unreachable, Err: res.Err, Message: fmt.Sprintf(
			"Cognito did not answer %s in %s: %s; nothing was written, run the same command once it answers",
			op.Name, plural(res.Attempts, "attempt"), res.Message)}
	}
	return nil, fmt.Errorf("%s: %s", op.Name, res.Message)
}
