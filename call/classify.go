package call

import (
	"context"
	"errors"
	"io"
	"net"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/bulklink/bulklink/schema"
)

// Class is what an answer means for the call and for the run. Every answer is classified
// here, once (Classify); string matching is left to Kind.MaybeDone, which only decides
// whether to read.
type Class int

const (
	OK        Class = iota // the call did what was asked
	Throttled              // over the quota: back off, slow down, try again
	Transient              // transient, and the call may or may not have been applied
	Unsent                 // transient, and the request never left (dial, DNS)
	Permanent              // Cognito refused the call for good (the operation may find it ambiguous)
	Fatal                  // no call can succeed: stop the run
)

func (c Class) String() string {
	return [...]string{"ok", "throttled", "retry", "unsent", "permanent", "fatal"}[c]
}

// answered reports whether Cognito itself answered, and the answer says nothing about
// its load: the pacer may speed up.
func (c Class) answered() bool {
	return c == OK || c == Permanent
}

// Error codes bulklink reports for failures that carry no Cognito error code.
const (
	codeTimeout     = schema.Timeout
	codeConnection  = schema.ConnectionError
	codeUnknown     = schema.UnknownError
	codeConfig      = schema.ConfigError
	codeCredentials = schema.CredentialsError
	codeOutage      = schema.Outage
)

// throttleCodes are the SDK's throttle codes less LimitExceededException, which for a link
// is the five-identity cap of one user: a property of the row, never a reason to slow down.
var throttleCodes = func() map[string]bool {
	m := map[string]bool{}
	for c := range retry.DefaultThrottleErrorCodes {
		m[c] = true
	}
	delete(m, "LimitExceededException")
	return m
}()

var (
	// fatalCodes mean no row of this run can succeed: the pool is wrong or the caller
	// may not call.
	fatalCodes = map[string]bool{
		"ResourceNotFoundException":   true, // the user pool does not exist
		"NotAuthorizedException":      true,
		"AccessDeniedException":       true,
		"AccessDenied":                true,
		"UnrecognizedClientException": true,
		"InvalidClientTokenId":        true,
		"ExpiredTokenException":       true,
		"ExpiredToken":                true,
		"InvalidSignatureException":   true,
		"SignatureDoesNotMatch":       true,
		"IncompleteSignature":         true,
		"MissingAuthenticationToken":  true,
	}
	transientCodes = map[string]bool{
		"InternalErrorException":  true,
		"InternalFailure":         true,
		"ServiceUnavailable":      true,
		"RequestTimeout":          true,
		"RequestTimeoutException": true,
	}
)

// Classify reads one attempt's error. code is the Cognito error code, or one of bulklink's
// own codes for failures that have none.
func Classify(err error) (c Class, code string) {
	if err == nil {
		return OK, ""
	}
	if credentialsFailed(err) {
		if errors.Is(err, context.DeadlineExceeded) {
			// A refresh that ran out of the attempt's time (a slow STS or instance
			// metadata service): the call never left, and the next attempt tries again.
			return Unsent, codeTimeout
		}
		// Credentials could not be loaded, refreshed or signed with: every call would fail.
		return Fatal, codeCredentials
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
		st := status(err)
		switch {
		case throttleCodes[code] || st == 429:
			return Throttled, code
		case fatalCodes[code]:
			return Fatal, code
		case transientCodes[code] || st >= 500:
			return Transient, code
		}
		return Permanent, code
	}
	if s := status(err); s >= 500 {
		return Transient, codeUnknown
	} else if s == 429 {
		return Throttled, codeUnknown
	}
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return Transient, codeTimeout
	case unsent(err):
		return Unsent, codeConnection
	case sent(err):
		// The request left, and its answer was lost or unreadable: the call may have
		// been applied. Retrying is safe; the final check settles the row.
		return Transient, codeConnection
	}
	var ipe smithy.InvalidParamsError
	if errors.As(err, &ipe) {
		return Permanent, "InvalidParameterException"
	}
	// Anything else failed before a request could be sent (no region, no endpoint, a
	// broken configuration): every row would fail the same way.
	return Fatal, codeConfig
}

// credentialsFailed reports whether err is a failure to get credentials: bulklink's own
// wrapper, the signer's, or another service's operation (STS, SSO) inside a Cognito one.
func credentialsFailed(err error) bool {
	var ce *CredentialsError
	var se *v4.SigningError
	if errors.As(err, &ce) || errors.As(err, &se) {
		return true
	}
	var op *smithy.OperationError
	if errors.As(err, &op) {
		var inner *smithy.OperationError
		return errors.As(op.Err, &inner)
	}
	return false
}

// unsent reports whether err shows that the request never reached the network.
func unsent(err error) bool {
	var oe *net.OpError
	var de *net.DNSError
	return errors.As(err, &de) || errors.As(err, &oe) && oe.Op == "dial"
}

// sent reports whether err arose after the request was handed to the network.
func sent(err error) bool {
	var rse *smithyhttp.RequestSendError
	var de *smithy.DeserializationError
	var oe *net.OpError
	return errors.As(err, &rse) || errors.As(err, &de) || errors.As(err, &oe) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || status(err) != 0
}

// status returns the HTTP status of the response behind err, or 0 when there was none.
func status(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		return re.HTTPStatusCode()
	}
	return 0
}

// Message returns err's message without the SDK's operation and request-id decoration.
func Message(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		if m := ae.ErrorMessage(); m != "" {
			return m
		}
		return ae.ErrorCode()
	}
	return err.Error()
}
