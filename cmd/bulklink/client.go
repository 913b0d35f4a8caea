package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/smithy-go/logging"
	"go.uber.org/zap"

	"github.com/bulklink/bulklink/input"
	"github.com/bulklink/bulklink/job"
	"github.com/bulklink/bulklink/schema"
)

// cognito is a Cognito client with what bulklink learns of its answers.
type cognito struct {
	*cip.Client
	skew     *job.Skew
	endpoint string // --endpoint-url without its user info, "" for AWS's own
}

// client builds the Cognito client. The SDK's retries are off: the job paces, retries and
// classifies every call itself, and the SDK's standard retryer would fight it (its retry
// quota fails calls with "retry quota exceeded" under sustained throttling, and it retries
// the permanent five-identity LimitExceededException as a throttle). Every answer's Date
// header feeds the clock skew estimate (job.Skew). The credentials are resolved once, here:
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
		config.WithHTTPClient(skew.Observing(httpClient)),
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
	cfg.Credentials = aws.NewCredentialsCache(job.CredentialsProvider(cfg.Credentials))
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		err = red.Error(err)
		log.Debug("credentials", zap.Error(err))
		return nil, &job.FatalError{Code: schema.CredentialsError, Err: err, Message: "no usable AWS credentials: " + credentialHint(err)}
	}
	red.Add(creds.SecretAccessKey, creds.SessionToken)
	c := &cognito{skew: skew, endpoint: redactURL(o.endpointURL)}
	log.Debug("aws configuration", zap.String("region", cfg.Region), zap.String("endpoint", c.endpoint))
	c.Client = cip.NewFromConfig(cfg, func(co *cip.Options) {
		if o.endpointURL != "" {
			co.BaseEndpoint = aws.String(o.endpointURL)
		}
	})
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
