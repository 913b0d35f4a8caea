package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/smithy-go/logging"
	"go.uber.org/zap"

	"github.com/bulklink/bulklink/call"
	"github.com/bulklink/bulklink/input"
	"github.com/bulklink/bulklink/job"
	"github.com/bulklink/bulklink/schema"
)

// cognito is bulklink's Cognito: a client per region, each pool's calls sent to the region
// its id starts with (us-east-1_AbC...), the configured region for anything else; and what
// bulklink learns of the answers. It implements call.Cognito.
type cognito struct {
	region   string // the configured region
	skew     *job.Skew
	endpoint string // the endpoint the SDK resolves, without its user info; "" for AWS's own

	cfg  aws.Config
	opts func(*cip.Options)
	mu   sync.Mutex
	by   map[string]*cip.Client // by region
}

// client returns the client of a pool's region.
func (c *cognito) client(pool *string) *cip.Client {
	region := input.PoolRegion(aws.ToString(pool))
	if region == "" {
		region = c.region
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.by[region]; ok {
		return cl
	}
	cl := cip.NewFromConfig(c.regionConfig(region), c.opts)
	c.by[region] = cl
	return cl
}

// regionConfig is the configuration of a region's clients, Cognito's and --rate auto's: the
// same credentials and HTTP client, in that region.
func (c *cognito) regionConfig(region string) aws.Config {
	cfg := c.cfg.Copy()
	cfg.Region = region
	return cfg
}

func (c *cognito) AdminLinkProviderForUser(ctx context.Context, in *cip.AdminLinkProviderForUserInput, o ...func(*cip.Options)) (*cip.AdminLinkProviderForUserOutput, error) {
	return c.client(in.UserPoolId).AdminLinkProviderForUser(ctx, in, o...)
}

func (c *cognito) AdminDisableProviderForUser(ctx context.Context, in *cip.AdminDisableProviderForUserInput, o ...func(*cip.Options)) (*cip.AdminDisableProviderForUserOutput, error) {
	return c.client(in.UserPoolId).AdminDisableProviderForUser(ctx, in, o...)
}

func (c *cognito) AdminGetUser(ctx context.Context, in *cip.AdminGetUserInput, o ...func(*cip.Options)) (*cip.AdminGetUserOutput, error) {
	return c.client(in.UserPoolId).AdminGetUser(ctx, in, o...)
}

func (c *cognito) AdminUserGlobalSignOut(ctx context.Context, in *cip.AdminUserGlobalSignOutInput, o ...func(*cip.Options)) (*cip.AdminUserGlobalSignOutOutput, error) {
	return c.client(in.UserPoolId).AdminUserGlobalSignOut(ctx, in, o...)
}

func (c *cognito) AdminDeleteUser(ctx context.Context, in *cip.AdminDeleteUserInput, o ...func(*cip.Options)) (*cip.AdminDeleteUserOutput, error) {
	return c.client(in.UserPoolId).AdminDeleteUser(ctx, in, o...)
}

func (c *cognito) ListUsers(ctx context.Context, in *cip.ListUsersInput, o ...func(*cip.Options)) (*cip.ListUsersOutput, error) {
	return c.client(in.UserPoolId).ListUsers(ctx, in, o...)
}

func (c *cognito) AdminListGroupsForUser(ctx context.Context, in *cip.AdminListGroupsForUserInput, o ...func(*cip.Options)) (*cip.AdminListGroupsForUserOutput, error) {
	return c.client(in.UserPoolId).AdminListGroupsForUser(ctx, in, o...)
}

func (c *cognito) DescribeUserPool(ctx context.Context, in *cip.DescribeUserPoolInput, o ...func(*cip.Options)) (*cip.DescribeUserPoolOutput, error) {
	return c.client(in.UserPoolId).DescribeUserPool(ctx, in, o...)
}

func (c *cognito) ListIdentityProviders(ctx context.Context, in *cip.ListIdentityProvidersInput, o ...func(*cip.Options)) (*cip.ListIdentityProvidersOutput, error) {
	return c.client(in.UserPoolId).ListIdentityProviders(ctx, in, o...)
}

func (c *cognito) DescribeIdentityProvider(ctx context.Context, in *cip.DescribeIdentityProviderInput, o ...func(*cip.Options)) (*cip.DescribeIdentityProviderOutput, error) {
	return c.client(in.UserPoolId).DescribeIdentityProvider(ctx, in, o...)
}

// client builds the Cognito client. The SDK's retries are off: the job paces, retries and
// classifies every call itself, and the SDK's standard retryer would fight it (its retry
// quota fails calls with "retry quota exceeded" under sustained throttling, and it retries
// the permanent five-identity LimitExceededException as a throttle). Every answer's Date
// header feeds the clock skew estimate (job.Skew, a step of the client's stack). The credentials are resolved once, here:
// a missing or refused one stops the command before any row, and their secrets are handed
// to the redactor, which keeps them out of every output.
func (o *awsOptions) client(ctx context.Context, conns int, defaultPool string, log *zap.Logger, red *redactor) (*cognito, error) {
	skew := new(job.Skew)
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns = conns + 4
		t.MaxIdleConnsPerHost = conns + 4 // one kept-alive connection per worker
	})
	opts := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer { return aws.NopRetryer{} }),
		config.WithHTTPClient(httpClient),
	}
	if o.region != "" {
		opts = append(opts, config.WithRegion(o.region))
	}
	if o.profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(o.profile))
	}
	if o.endpointURL != "" {
		u, err := url.Parse(o.endpointURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, usagef("--endpoint-url %q: want an http or https URL, e.g. http://127.0.0.1:9229", redactURL(o.endpointURL))
		}
	}
	// The SDK's own log lines (an IMDS fallback, say) go through the operator's log, and so
	// through its redaction.
	opts = append(opts, config.WithLogger(logging.LoggerFunc(func(c logging.Classification, format string, v ...any) {
		log.Debug("aws sdk: " + fmt.Sprintf(format, v...))
	})))
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, configError(err, o.profile, red)
	}
	if cfg.Region == "" && o.fallbackRegion != "" {
		cfg.Region = o.fallbackRegion
	}
	if cfg.Region == "" {
		// A pool id starts with its region: use it when nothing else gives one.
		if r := input.PoolRegion(defaultPool); r != "" {
			cfg.Region = r
			log.Info("region taken from --user-pool-id", zap.String("region", r))
		} else {
			return nil, usagef("no AWS region: set --region, AWS_REGION or AWS_DEFAULT_REGION, or a region in the profile (a --user-pool-id carries one too)")
		}
	}
	if cfg.Credentials == nil {
		return nil, &job.FatalError{Code: schema.CredentialsError, Message: "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, choose a --profile, or run aws sso login"}
	}
	cfg.Credentials = aws.NewCredentialsCache(call.CredentialsProvider(cfg.Credentials))
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		err = red.Error(err)
		log.Debug("credentials", zap.Error(err))
		return nil, &job.FatalError{Code: schema.CredentialsError, Err: err, Message: "no usable AWS credentials: " + credentialHint(err)}
	}
	red.Add(creds.SecretAccessKey, creds.SessionToken)
	c := &cognito{region: cfg.Region, skew: skew, cfg: cfg, by: map[string]*cip.Client{}}
	c.opts = func(co *cip.Options) {
		if o.endpointURL != "" {
			co.BaseEndpoint = aws.String(o.endpointURL)
		}
		co.APIOptions = append(co.APIOptions, skew.Middleware)
	}
	// The endpoint a report's meta records is the one the SDK goes to, as a client resolves
	// it: --endpoint-url, or the environment's and the profile's (AWS_ENDPOINT_URL...,
	// a [services] section's endpoint_url), so that a rehearsal's report is never taken for
	// production's.
	c.endpoint = redactURL(aws.ToString(cip.NewFromConfig(cfg, c.opts).Options().BaseEndpoint))
	log.Debug("aws configuration", zap.String("region", cfg.Region), zap.String("endpoint", c.endpoint))
	return c, nil
}

// configError says what is wrong with the AWS configuration in the operator's words: a
// profile that is not there is named, with where it was looked for.
func configError(err error, profile string, red *redactor) error {
	var pe config.SharedConfigProfileNotExistError
	if errors.As(err, &pe) {
		from := "--profile " + pe.Profile
		if profile == "" {
			from = "the profile " + strconv.Quote(pe.Profile) + " (from AWS_PROFILE)"
		}
		where := "~/.aws/config and ~/.aws/credentials"
		if f := os.Getenv("AWS_CONFIG_FILE"); f != "" {
			where = f + " (AWS_CONFIG_FILE)"
		}
		return usagef("%s: no such profile in %s; aws configure list-profiles lists those there are", from, where)
	}
	return usagef("load the AWS configuration: %w", red.Error(err))
}

// credentialHint says what to do about credentials that could not be had, from what the SDK
// said (already redacted).
func credentialHint(err error) string {
	return "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, choose a --profile, or run aws sso login (the SDK said: " + err.Error() + ")"
}
