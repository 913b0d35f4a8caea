package call

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// CredentialsProvider wraps p so that its failures reach the job as a *CredentialsError,
// which stops the run: an expired session or a refused role would otherwise fail every
// remaining row, one by one.
func CredentialsProvider(p aws.CredentialsProvider) aws.CredentialsProvider {
	return credentialsProvider{p}
}

type credentialsProvider struct{ aws.CredentialsProvider }

func (p credentialsProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	c, err := p.CredentialsProvider.Retrieve(ctx)
	if err != nil {
		return c, &CredentialsError{Err: err}
	}
	return c, nil
}

// CredentialsError wraps a failure to obtain AWS credentials. Wrap the client's
// credentials provider with CredentialsProvider so that such a failure stops the run
// instead of failing rows.
type CredentialsError struct{ Err error }

func (e *CredentialsError) Error() string { return "get AWS credentials: " + e.Err.Error() }
func (e *CredentialsError) Unwrap() error { return e.Err }
