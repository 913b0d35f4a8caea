package call

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
		wantClass Class
		wantCode  string
	}{
		{"success", nil, OK, ""},
		{"throttled", sdkErr(429, &types.TooManyRequestsException{Message: msg("Rate exceeded")}), Throttled, "TooManyRequestsException"},
		{"internal error", sdkErr(500, &types.InternalErrorException{}), Transient, "InternalErrorException"},
		{"unknown code on 503", sdkErr(503, &smithy.GenericAPIError{Code: "ServiceUnavailable"}), Transient, "ServiceUnavailable"},
		{"5xx without a code", sdkErr(502, errors.New("bad gateway")), Transient, codeUnknown},
		{"five-identity limit is permanent", sdkErr(400, &types.LimitExceededException{}), Permanent, "LimitExceededException"},
		{"user not found", sdkErr(404, &types.UserNotFoundException{}), Permanent, "UserNotFoundException"},
		{"alias exists", sdkErr(400, &types.AliasExistsException{}), Permanent, "AliasExistsException"},
		{"source signed in", sdkErr(400, &types.InvalidParameterException{Message: msg("Merging is not currently supported, provide a SourceUser that has not been signed up in order to link")}), Permanent, "InvalidParameterException"},
		{"already linked", sdkErr(400, &types.InvalidParameterException{Message: msg("SourceUser is already linked to DestinationUser")}), Permanent, "InvalidParameterException"},
		{"legacy repeat answer", sdkErr(400, &types.InvalidParameterException{Message: msg("Invalid SourceUser: Cognito users with a username/password may not be passed in as a SourceUser, only as a DestinationUser")}), Permanent, "InvalidParameterException"},
		{"pool not found", sdkErr(404, &types.ResourceNotFoundException{Message: msg("User pool us-east-1_X does not exist.")}), Fatal, "ResourceNotFoundException"},
		{"not authorized", sdkErr(403, &types.NotAuthorizedException{}), Fatal, "NotAuthorizedException"},
		{"access denied", sdkErr(400, &smithy.GenericAPIError{Code: "AccessDeniedException"}), Fatal, "AccessDeniedException"},
		{"expired token", sdkErr(400, &smithy.GenericAPIError{Code: "ExpiredTokenException"}), Fatal, "ExpiredTokenException"},
		{"unrecognized client", sdkErr(400, &smithy.GenericAPIError{Code: "UnrecognizedClientException"}), Fatal, "UnrecognizedClientException"},
		{"no credentials", &smithy.OperationError{Err: &v4.SigningError{Err: errors.New("failed to retrieve credentials")}}, Fatal, "CredentialsError"},
		{"attempt timeout", &smithy.OperationError{Err: &smithyhttp.RequestSendError{Err: fmt.Errorf("post: %w", context.DeadlineExceeded)}}, Transient, codeTimeout},
		{"connection refused: never sent", &smithy.OperationError{Err: &smithyhttp.RequestSendError{Err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}}}, Unsent, codeConnection},
		{"no such host: never sent", &smithy.OperationError{Err: &smithyhttp.RequestSendError{Err: &net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "x"}}}}, Unsent, codeConnection},
		{"connection reset after sending", &smithy.OperationError{Err: &smithyhttp.RequestSendError{Err: &net.OpError{Op: "read", Err: errors.New("connection reset by peer")}}}, Transient, codeConnection},
		{"another throttle code", sdkErr(400, &smithy.GenericAPIError{Code: "SlowDown"}), Throttled, "SlowDown"},
		{"any code answered with 429", sdkErr(429, &smithy.GenericAPIError{Code: "SomethingNew"}), Throttled, "SomethingNew"},
		{"request timeout code", sdkErr(408, &smithy.GenericAPIError{Code: "RequestTimeoutException"}), Transient, "RequestTimeoutException"},
		{"credentials wrapped by bulklink", &smithy.OperationError{Err: fmt.Errorf("get identity: %w", &CredentialsError{Err: errors.New("token expired")})}, Fatal, "CredentialsError"},
		{"credentials refresh failed inside another service", &smithy.OperationError{ServiceID: "Cognito Identity Provider",
			Err: fmt.Errorf("get identity: get credentials: failed to refresh cached credentials, %w",
				&smithy.OperationError{ServiceID: "SSO", OperationName: "GetRoleCredentials", Err: sdkErr(401, &smithy.GenericAPIError{Code: "UnauthorizedException"})})}, Fatal, "CredentialsError"},
		{"connection dropped", &smithy.OperationError{Err: &smithyhttp.RequestSendError{Err: io.EOF}}, Transient, codeConnection},
		{"unreadable answer", &smithy.OperationError{Err: &smithy.DeserializationError{Err: io.ErrUnexpectedEOF}}, Transient, codeConnection},
		{"invalid params", &smithy.OperationError{Err: smithy.InvalidParamsError{Context: "x"}}, Permanent, "InvalidParameterException"},
		{"credentials refresh out of the attempt's time", &smithy.OperationError{Err: &v4.SigningError{
			Err: fmt.Errorf("failed to retrieve credentials: %w", &CredentialsError{Err: fmt.Errorf("operation error STS: AssumeRole: %w", context.DeadlineExceeded)})}}, Unsent, codeTimeout},
		{"local configuration", &smithy.OperationError{Err: errors.New("failed to resolve service endpoint")}, Fatal, codeConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, code := Classify(tt.err)
			if c != tt.wantClass || code != tt.wantCode {
				t.Errorf("Classify(%v) = %v, %q; want %v, %q", tt.err, c, code, tt.wantClass, tt.wantCode)
			}
		})
	}
}

// TestMaybeDone: which refusals of each kind may mean that its effect is in place.
func TestMaybeDone(t *testing.T) {
	tests := []struct {
		kind *Kind
		code string
		msg  string
		want bool
	}{
		{KindLink, "InvalidParameterException", "SourceUser is already linked to DestinationUser", true},
		{KindLink, "InvalidParameterException", "Invalid SourceUser: Cognito users with a username/password may not be passed in as a SourceUser, only as a DestinationUser", true},
		{KindLink, "InvalidParameterException", "Merging is not currently supported, provide a SourceUser that has not been signed up in order to link", true},
		{KindLink, "LimitExceededException", "already linked", false},
		{KindLink, "InvalidParameterException", "Account isn't linked to anyone else, verify that the account has been linked", false},
		{KindUnlink, "InvalidParameterException", "Account isn't linked to anyone else, verify that the account has been linked", true},
		{KindUnlink, "InvalidParameterException", "SourceUser is already linked to DestinationUser", false},
		{KindDelete, "InvalidParameterException", "already linked", false},
	}
	for _, tt := range tests {
		if got := tt.kind.MaybeDone(tt.code, tt.msg); got != tt.want {
			t.Errorf("%s.MaybeDone(%s, %q) = %v, want %v", tt.kind, tt.code, tt.msg, got, tt.want)
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
