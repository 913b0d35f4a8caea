package job

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// sdkErr wraps err the way aws-sdk-go-v2 hands it back: an OperationError around an HTTP
// ResponseError around the modelled error.
func sdkErr(status int, err error) error {
	return &smithy.OperationError{ServiceID: "Cognito Identity Provider", OperationName: "AdminLinkProviderForUser",
		Err: &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: err}}}
}

func TestClassify(t *testing.T) {
	msg := func(s string) *string { return &s }
	tests := []struct {
		name      string
		err       error
		wantClass class
		wantCode  string
	}{
		{"success", nil, classOK, ""},
		{"throttled", sdkErr(429, &types.TooManyRequestsException{Message: msg("Rate exceeded")}), classThrottled, "TooManyRequestsException"},
		{"internal error", sdkErr(500, &types.InternalErrorException{}), classRetry, "InternalErrorException"},
		{"unknown code on 503", sdkErr(503, &smithy.GenericAPIError{Code: "ServiceUnavailable"}), classRetry, "ServiceUnavailable"},
		{"5xx without a code", sdkErr(502, errors.New("bad gateway")), classRetry, codeUnknown},
		{"five-identity limit is permanent", sdkErr(400, &types.LimitExceededException{}), classPermanent, "LimitExceededException"},
		{"user not found", sdkErr(404, &types.UserNotFoundException{}), classPermanent, "UserNotFoundException"},
		{"alias exists", sdkErr(400, &types.AliasExistsException{}), classPermanent, "AliasExistsException"},
		{"source signed in", sdkErr(400, &types.InvalidParameterException{Message: msg("Merging is not currently supported, provide a SourceUser that has not been signed up in order to link")}), classPermanent, "InvalidParameterException"},
		{"already linked", sdkErr(400, &types.InvalidParameterException{Message: msg("SourceUser is already linked to DestinationUser")}), classPermanent, "InvalidParameterException"},
		{"legacy repeat answer", sdkErr(400, &types.InvalidParameterException{Message: msg("Invalid SourceUser: Cognito users with a username/password may not be passed in as a SourceUser, only as a DestinationUser")}), classPermanent, "InvalidParameterException"},
		{"pool not found", sdkErr(404, &types.ResourceNotFoundException{Message: msg("User pool us-east-1_X does not exist.")}), classFatal, "ResourceNotFoundException"},
		{"not authorized", sdkErr(403, &types.NotAuthorizedException{}), classFatal, "NotAuthorizedException"},
		{"access denied", sdkErr(400, &smithy.GenericAPIError{Code: "AccessDeniedException"}), classFatal, "AccessDeniedException"},
		{"expired token", sdkErr(400, &smithy.GenericAPIError{Code: "ExpiredTokenException"}), classFatal, "ExpiredTokenException"},
		{"unrecognized client", sdkErr(400, &smithy.GenericAPIError{Code: "UnrecognizedClientException"}), classFatal, "UnrecognizedClientException"},
		{"no credentials", &smithy.OperationError{Err: &v4.SigningError{Err: errors.New("failed to retrieve credentials")}}, classFatal, "CredentialsError"},
		{"attempt timeout", &smithy.OperationError{Err: &smithyhttp.RequestSendError{Err: fmt.Errorf("post: %w", context.DeadlineExceeded)}}, classRetry, codeTimeout},
		{"connection refused: never sent", &smithy.OperationError{Err: &smithyhttp.RequestSendError{Err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}}}, classUnsent, codeConnection},
		{"no such host: never sent", &smithy.OperationError{Err: &smithyhttp.RequestSendError{Err: &net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "x"}}}}, classUnsent, codeConnection},
		{"connection reset after sending", &smithy.OperationError{Err: &smithyhttp.RequestSendError{Err: &net.OpError{Op: "read", Err: errors.New("connection reset by peer")}}}, classRetry, codeConnection},
		{"another throttle code", sdkErr(400, &smithy.GenericAPIError{Code: "SlowDown"}), classThrottled, "SlowDown"},
		{"any code answered with 429", sdkErr(429, &smithy.GenericAPIError{Code: "SomethingNew"}), classThrottled, "SomethingNew"},
		{"request timeout code", sdkErr(408, &smithy.GenericAPIError{Code: "RequestTimeoutException"}), classRetry, "RequestTimeoutException"},
		{"credentials wrapped by bulklink", &smithy.OperationError{Err: fmt.Errorf("get identity: %w", &CredentialsError{Err: errors.New("token expired")})}, classFatal, "CredentialsError"},
		{"credentials refresh failed inside another service", &smithy.OperationError{ServiceID: "Cognito Identity Provider",
			Err: fmt.Errorf("get identity: get credentials: failed to refresh cached credentials, %w",
				&smithy.OperationError{ServiceID: "SSO", OperationName: "GetRoleCredentials", Err: sdkErr(401, &smithy.GenericAPIError{Code: "UnauthorizedException"})})}, classFatal, "CredentialsError"},
		{"connection dropped", &smithy.OperationError{Err: &smithyhttp.RequestSendError{Err: io.EOF}}, classRetry, codeConnection},
		{"unreadable answer", &smithy.OperationError{Err: &smithy.DeserializationError{Err: io.ErrUnexpectedEOF}}, classRetry, codeConnection},
		{"invalid params", &smithy.OperationError{Err: smithy.InvalidParamsError{Context: "x"}}, classPermanent, "InvalidParameterException"},
		{"credentials refresh out of the attempt's time", &smithy.OperationError{Err: &v4.SigningError{
			Err: fmt.Errorf("failed to retrieve credentials: %w", &CredentialsError{Err: fmt.Errorf("operation error STS: AssumeRole: %w", context.DeadlineExceeded)})}}, classUnsent, codeTimeout},
		{"local configuration", &smithy.OperationError{Err: errors.New("failed to resolve service endpoint")}, classFatal, codeConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, code := classify(tt.err)
			if c != tt.wantClass || code != tt.wantCode {
				t.Errorf("classify(%v) = %v, %q; want %v, %q", tt.err, c, code, tt.wantClass, tt.wantCode)
			}
		})
	}
}

// TestAmbiguousAnswers: which refusals each operation reads the user to settle.
func TestAmbiguousAnswers(t *testing.T) {
	tests := []struct {
		op   Operation
		code string
		msg  string
		want bool
	}{
		{Link{}, "InvalidParameterException", "SourceUser is already linked to DestinationUser", true},
		{Link{}, "InvalidParameterException", "Invalid SourceUser: Cognito users with a username/password may not be passed in as a SourceUser, only as a DestinationUser", true},
		{Link{}, "InvalidParameterException", "Merging is not currently supported, provide a SourceUser that has not been signed up in order to link", true},
		{Link{}, "LimitExceededException", "already linked", false},
	}
	for _, tt := range tests {
		if got := tt.op.Ambiguous(tt.code, tt.msg); got != tt.want {
			t.Errorf("%s.Ambiguous(%s, %q) = %v, want %v", tt.op.Name(), tt.code, tt.msg, got, tt.want)
		}
	}
}

func TestBackoffDelay(t *testing.T) {
	b := Backoff{Base: 100 * 1e6, Max: 1e9} // 100ms, 1s
	tests := []struct {
		n    int
		u    float64
		want int64
	}{
		{1, 0.999999, 99_999_900}, // just under Base
		{1, 0.5, 50e6},
		{2, 0.5, 100e6},
		{4, 0.5, 400e6},
		{5, 0.5, 500e6}, // 1.6s capped to 1s
		{100, 0.5, 500e6},
		{0, 0.5, 50e6}, // treated as the first
		{3, 0, 0},
	}
	for _, tt := range tests {
		if got := b.Delay(tt.n, tt.u); int64(got) != tt.want {
			t.Errorf("Delay(%d, %v) = %v, want %v", tt.n, tt.u, got, tt.want)
		}
	}
}
