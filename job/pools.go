package job

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"golang.org/x/time/rate"

	"github.com/bulklink/bulklink/plan"
	"github.com/bulklink/bulklink/schema"
)

// PoolAPI is the part of the Cognito client that reads pools; *cognitoidentityprovider.Client
// implements it.
type PoolAPI interface {
	DescribeUserPool(context.Context, *cip.DescribeUserPoolInput, ...func(*cip.Options)) (*cip.DescribeUserPoolOutput, error)
	ListIdentityProviders(context.Context, *cip.ListIdentityProvidersInput, ...func(*cip.Options)) (*cip.ListIdentityProvidersOutput, error)
	DescribeIdentityProvider(context.Context, *cip.DescribeIdentityProviderInput, ...func(*cip.Options)) (*cip.DescribeIdentityProviderOutput, error)
}

// PoolReader reads pools for the trust checks (plan.Pools): DescribeUserPool,
// ListIdentityProviders, and DescribeIdentityProvider for the SAML and OIDC providers, whose
// attribute mappings the checks need. Its calls are paced under the quota of those
// operations, retried with backoff, and classified like every other call: a refusal of the
// credentials or of the permission is fatal, and so is a Cognito that does not answer within
// the attempts (Unreachable), before any row is written.
type PoolReader struct {
	API         PoolAPI
	Rate        float64 // calls per second; ≤ 0 is DefaultPoolReadRate
	MaxAttempts int
	Timeout     time.Duration
	Backoff     Backoff
	Reads       atomic.Int64 // calls made

	once sync.Once
	lim  *rate.Limiter
}

// DefaultPoolReadRate paces pool reads well under their quota (15 per second).
const DefaultPoolReadRate = 5

func (r *PoolReader) init() {
	r.once.Do(func() {
		if r.Rate <= 0 {
			r.Rate = DefaultPoolReadRate
		}
		if r.MaxAttempts <= 0 {
			r.MaxAttempts = DefaultMaxAttempts
		}
		if r.Timeout <= 0 {
			r.Timeout = DefaultTimeout
		}
		if r.Backoff == (Backoff{}) {
			r.Backoff = DefaultBackoff
		}
		r.lim = rate.NewLimiter(rate.Limit(r.Rate), 1)
	})
}

// Pool reads one pool.
func (r *PoolReader) Pool(ctx context.Context, id string) (*plan.Pool, error) {
	r.init()
	p := &plan.Pool{ID: id, Providers: map[string]plan.Provider{}}
	var pool *cip.DescribeUserPoolOutput
	err := r.call(ctx, "DescribeUserPool", func(ctx context.Context) (err error) {
		pool, err = r.API.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: aws.String(id)})
		return err
	})
	if code(err) == "ResourceNotFoundException" {
		return p, nil
	}
	if err != nil {
		return nil, err
	}
	p.Exists = true
	if uc := pool.UserPool.UsernameConfiguration; uc != nil && uc.CaseSensitive != nil {
		p.CaseSensitive = *uc.CaseSensitive
	} else {
		p.CaseSensitive = true // pools made before usernames could be case-insensitive
	}
	var token *string
	for {
		var page *cip.ListIdentityProvidersOutput
		err := r.call(ctx, "ListIdentityProviders", func(ctx context.Context) (err error) {
			page, err = r.API.ListIdentityProviders(ctx, &cip.ListIdentityProvidersInput{UserPoolId: aws.String(id), MaxResults: aws.Int32(60), NextToken: token})
			return err
		})
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
		var out *cip.DescribeIdentityProviderOutput
		err := r.call(ctx, "DescribeIdentityProvider", func(ctx context.Context) (err error) {
			out, err = r.API.DescribeIdentityProvider(ctx, &cip.DescribeIdentityProviderInput{UserPoolId: aws.String(id), ProviderName: aws.String(name)})
			return err
		})
		if err != nil {
			return nil, err
		}
		prov.Mapping = out.IdentityProvider.AttributeMapping
		p.Providers[name] = prov
	}
	return p, nil
}

// call runs one read until it is answered: paced, timed out, retried with backoff on
// transient failures. A fatal answer is a *FatalError; one that never comes, Unreachable.
func (r *PoolReader) call(ctx context.Context, op string, f func(context.Context) error) error {
	var err error
	for attempt := 1; attempt <= r.MaxAttempts; attempt++ {
		if attempt > 1 && sleep(ctx, r.Backoff.Delay(attempt-1, rand.Float64())) != nil {
			return context.Cause(ctx)
		}
		if r.lim.Wait(ctx) != nil {
			return context.Cause(ctx)
		}
		r.Reads.Add(1)
		actx, cancel := context.WithTimeout(ctx, r.Timeout)
		err = f(actx)
		cancel()
		if err != nil && ctx.Err() != nil {
			return context.Cause(ctx)
		}
		switch c, code := classify(err); c {
		case classOK:
			return nil
		case classFatal:
			if code == "ResourceNotFoundException" {
				return err // the pool does not exist: an answer, not a failure
			}
			msg := message(err)
			if code == "AccessDeniedException" || code == "NotAuthorizedException" {
				msg += fmt.Sprintf(" (bulklink reads each pool before the first write: allow cognito-idp:%s)", op)
			}
			return &FatalError{Code: code, Message: msg, Err: err}
		case classPermanent:
			return err
		}
	}
	return &FatalError{Code: schema.Unreachable, Err: err, Message: fmt.Sprintf(
		"Cognito did not answer %s in %s: %s; nothing was written, run the same command once it answers",
		op, plural(r.MaxAttempts, "attempt"), message(err))}
}

// code returns the error code of an API error, or "".
func code(err error) string {
	if err == nil {
		return ""
	}
	_, c := classify(err)
	var fe *FatalError
	if errors.As(err, &fe) {
		return fe.Code
	}
	return c
}
