package emulator_test

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"

	"github.com/bulklink/bulklink/emulator"
)

// poolID is the pool of testdata/seed.json.
const poolID = "us-east-1_Example1"

// start starts an emulator with opt, loaded with testdata/seed.json and pools, and returns
// it with a client that does not retry, so that every outcome reaches the test.
func start(t *testing.T, opt emulator.Options, pools ...emulator.SeedPool) (*emulator.Server, *cip.Client) {
	t.Helper()
	srv, client := serve(t, emulator.NewServer(opt))
	load(t, srv, pools...)
	return srv, client
}

// load adds pools to srv.
func load(t *testing.T, srv *emulator.Server, pools ...emulator.SeedPool) {
	t.Helper()
	if err := srv.Load(emulator.Seed{UserPools: pools}); err != nil {
		t.Fatal(err)
	}
}

// serve is start for a server already made.
func serve(t *testing.T, srv *emulator.Server) (*emulator.Server, *cip.Client) {
	t.Helper()
	t.Cleanup(srv.Close)
	seed, err := emulator.LoadSeedFile("testdata/seed.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Load(seed); err != nil {
		t.Fatal(err)
	}
	return srv, srv.Client(noRetries)
}

func noRetries(o *cip.Options) { o.Retryer = aws.NopRetryer{} }

// linkInput is an AdminLinkProviderForUser request in the test pool.
func linkInput(destProvider, destValue, srcProvider, srcAttribute, srcValue string) *cip.AdminLinkProviderForUserInput {
	return &cip.AdminLinkProviderForUserInput{
		UserPoolId: aws.String(poolID),
		DestinationUser: &types.ProviderUserIdentifierType{
			ProviderName:           aws.String(destProvider),
			ProviderAttributeValue: aws.String(destValue),
		},
		SourceUser: &types.ProviderUserIdentifierType{
			ProviderName:           aws.String(srcProvider),
			ProviderAttributeName:  aws.String(srcAttribute),
			ProviderAttributeValue: aws.String(srcValue),
		},
	}
}

// want is the expected outcome of a call: success when code is "".
type want struct {
	code   string
	msg    string // checked when not ""
	status int
}

// typed tells, for each Cognito error code, whether an error is the SDK's type for it.
var typed = map[string]func(error) bool{
	"InvalidParameterException":  is[*types.InvalidParameterException],
	"UserNotFoundException":      is[*types.UserNotFoundException],
	"ResourceNotFoundException":  is[*types.ResourceNotFoundException],
	"LimitExceededException":     is[*types.LimitExceededException],
	"TooManyRequestsException":   is[*types.TooManyRequestsException],
	"InternalErrorException":     is[*types.InternalErrorException],
	"NotAuthorizedException":     is[*types.NotAuthorizedException],
	"UsernameExistsException":    is[*types.UsernameExistsException],
	"DuplicateProviderException": is[*types.DuplicateProviderException],
}

func is[T error](err error) bool {
	_, ok := errors.AsType[T](err)
	return ok
}

// check checks that err is the outcome w: the SDK's typed error for a Cognito code (a
// generic API error for the others), with w's message and HTTP status.
func check(t *testing.T, err error, w want) {
	t.Helper()
	if w.code == "" {
		if err != nil {
			t.Fatalf("got error %v, want success", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("got success, want %s", w.code)
	}
	apiErr, ok := errors.AsType[smithy.APIError](err)
	if !ok {
		t.Fatalf("got %v, want API error %s", err, w.code)
	}
	if got := apiErr.ErrorCode(); got != w.code {
		t.Errorf("got code %s (%v), want %s", got, err, w.code)
	}
	if isTyped, ok := typed[w.code]; ok && !isTyped(err) {
		t.Errorf("got %T, want the SDK's type for %s", apiErr, w.code)
	} else if !ok && !is[*smithy.GenericAPIError](err) {
		t.Errorf("got %T, want *smithy.GenericAPIError", apiErr)
	}
	if w.msg != "" && apiErr.ErrorMessage() != w.msg {
		t.Errorf("got message %q, want %q", apiErr.ErrorMessage(), w.msg)
	}
	if got := status(err); got != w.status {
		t.Errorf("got HTTP status %d, want %d", got, w.status)
	}
}

// status returns the HTTP status of an SDK error, or 0.
func status(err error) int {
	if re, ok := errors.AsType[*awshttp.ResponseError](err); ok {
		return re.HTTPStatusCode()
	}
	return 0
}

// code returns the error code of an SDK error: "" for nil, "?" for an error without one.
func code(err error) string {
	if err == nil {
		return ""
	}
	if apiErr, ok := errors.AsType[smithy.APIError](err); ok {
		return apiErr.ErrorCode()
	}
	return "?"
}

// asAPIError returns err as a smithy.APIError; the caller knows it is one.
func asAPIError(err error) smithy.APIError {
	apiErr, _ := errors.AsType[smithy.APIError](err)
	return apiErr
}

// getInput is an AdminGetUser request in the test pool.
func getInput(username string) *cip.AdminGetUserInput {
	return &cip.AdminGetUserInput{UserPoolId: aws.String(poolID), Username: aws.String(username)}
}
