package job_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/bulklink/bulklink/emulator"
	"github.com/bulklink/bulklink/job"
)

// TestSkewFromDateHeaders: answers of a Cognito whose clock runs 90 s ahead bound the offset
// within a second or so, through the SDK's own stack.
func TestSkewFromDateHeaders(t *testing.T) {
	srv := emulator.NewServer(emulator.Options{ClockSkew: 90 * time.Second})
	t.Cleanup(srv.Close)
	var skew job.Skew
	api := srv.Client(func(o *cip.Options) {
		o.Retryer = aws.NopRetryer{}
		o.APIOptions = append(o.APIOptions, skew.Middleware)
	})
	for range 5 {
		api.AdminGetUser(t.Context(), &cip.AdminGetUserInput{UserPoolId: aws.String("us-east-1_None1"), Username: aws.String("x")})
		time.Sleep(150 * time.Millisecond) // answers at other fractions of a second narrow the bounds
	}
	lo, hi := skew.Bounds()
	if lo > 90*time.Second || hi < 90*time.Second || hi-lo > 1500*time.Millisecond {
		t.Errorf("offset in [%v, %v], want a range of at most 1.5s around 90s", lo, hi)
	}
	var none *job.Skew
	if lo, hi := none.Bounds(); lo != -job.MaxSkew || hi != job.MaxSkew {
		t.Errorf("no answers: [%v, %v], want ±MaxSkew", lo, hi)
	}
}
