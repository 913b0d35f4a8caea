// Package emulator is an in-process Amazon Cognito user-pools endpoint for tests and rehearsals,
// in the spirit of net/http/httptest.
//
// An Emulator is an http.Handler that speaks the AWS JSON 1.1 protocol of the
// AWSCognitoIdentityProviderService, so the real aws-sdk-go-v2 client, the AWS CLI and the
// JavaScript SDK talk to it unmodified, SigV4 signing included (signatures are accepted, not
// checked). It serves the operations bulklink uses: AdminLinkProviderForUser,
// AdminDisableProviderForUser, AdminGetUser, AdminCreateUser, AdminDeleteUser,
// AdminUserGlobalSignOut, AdminListGroupsForUser, AdminAddUserToGroup, ListUsers,
// CreateUserPool, DescribeUserPool, CreateIdentityProvider, DescribeIdentityProvider and
// ListIdentityProviders, in case-sensitive and case-insensitive pools. Their outcomes — codes, messages and HTTP statuses — follow what
// docs/emulator.md records of the real service, each fact tagged as documented, seen or
// guessed; the messages are collected, with their provenance, in messages.go. Identities
// linked by a mapped attribute can sign in (SignIn), after which Cognito knows them by
// their subject.
//
// For bulklink's --rate auto it also answers, on the same listener, the Service Quotas
// calls that read the account's quotas (GetServiceQuota, ListServiceQuotas) and the
// CloudWatch calls that read its usage per minute (GetMetricData, ListMetrics on
// AWS/Usage), over the protocols the SDK clients speak, from its own quotas and counts.
//
// On top of the service's behaviour an Emulator adds what a rehearsal needs: account-wide
// quotas per call category and per user (TooManyRequestsException beyond them), added latency,
// faults on write calls (an InternalErrorException before or after the call is applied, a
// dropped connection, or a call applied whose answer is lost), simulated application traffic that shares the write quota
// (Options.BackgroundRate, Options.BackgroundSchedule), and a skewed clock
// (Options.ClockSkew). It counts every call by operation and outcome, link and unlink
// calls by identity (IdentityCalls) and calls that name a user by user (UserCalls), and
// lets tests inspect users, their linked identities and groups directly.
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
