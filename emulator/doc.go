// Package emulator is an in-process Amazon Cognito user-pools endpoint for tests and rehearsals,
// in the spirit of net/http/httptest.
//
// An Emulator is an http.Handler that speaks the AWS JSON 1.1 protocol of the
// AWSCognitoIdentityProviderService, so the real aws-sdk-go-v2 client and the AWS CLI talk to
// it unmodified, SigV4 signing included (signatures are accepted, not checked). It serves the
// operations bulklink uses: AdminLinkProviderForUser, AdminDisableProviderForUser, AdminGetUser,
// AdminCreateUser, AdminDeleteUser, ListUsers, CreateUserPool, DescribeUserPool,
// CreateIdentityProvider, DescribeIdentityProvider and ListIdentityProviders. Their outcomes —
// codes, messages and HTTP statuses — follow COGNITO.md; the messages are collected, with
// their provenance, in messages.go.
//
// On top of the service's behaviour an Emulator adds what a rehearsal needs: account-wide
// quotas per call category and per user (TooManyRequestsException beyond them), added latency,
// and faults on write calls (an InternalErrorException, a dropped connection, or a call applied
// whose answer is lost). It counts every call by operation and outcome, and lets tests inspect
// users and their linked identities directly.
//
// NewServer starts one on a loopback port for a test; Serve runs one on any listener until a
// context ends, as `bulklink emulate` does:
//
//	srv := emulator.NewServer(emulator.Options{WriteQuota: 20})
//	defer srv.Close()
//	if err := srv.Load(seed); err != nil { ... }
//	client := srv.Client(func(o *cognitoidentityprovider.Options) { o.Retryer = aws.NopRetryer{} })
//
// State lives in memory only.
package emulator
