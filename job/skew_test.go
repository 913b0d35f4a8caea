package job_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/smithy-go/middleware"

	"github.com/bulklink/bulklink/emulator"
	"github.com/bulklink/bulklink/job"
)

// TestSkewFromDateHeaders: answers of a Cognito whose clock runs 90 s ahead bound the offset
// tightly around 90 s, through the SDK's own stack. It runs on a fake clock (testing/synctest)
// against the emulator in process, so that the bounds are exact: the clock starts on a whole
// second, each answer takes the emulator's latency of 100 ms, and its Date header is the
// second of the emulator's clock when the call arrived. Calls are sent 250 ms apart, at
// 0, 0.25, 0.5, 0.75 and 1 s: each bounds the offset to
// [Date − received, Date + 1 s − sent], and the tightest bounds of all are
// [90 s − 100 ms (the first and last answers), 90 s + 250 ms (the fourth)].
func TestSkewFromDateHeaders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		emu := emulator.New(emulator.Options{ClockSkew: 90 * time.Second, Latency: 100 * time.Millisecond})
		var skew job.Skew
		api := cip.New(cip.Options{Region: "us-east-1", HTTPClient: emu.Local(ctx), BaseEndpoint: aws.String("http://cognito.local"),
			Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""), Retryer: aws.NopRetryer{},
			APIOptions: []func(*middleware.Stack) error{skew.Middleware}})
		if start := time.Now(); start.Truncate(time.Second) != start {
			t.Fatalf("the fake clock starts at %v, not on a whole second: the bounds below assume it does", start)
		}
		for range 5 {
			api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: aws.String("us-east-1_None1"), Username: aws.String("x")})
			time.Sleep(150 * time.Millisecond) // answers at other fractions of a second narrow the bounds
		}
		lo, hi := skew.Bounds()
		if wantLo, wantHi := 90*time.Second-100*time.Millisecond, 90*time.Second+250*time.Millisecond; lo != wantLo || hi != wantHi {
			t.Errorf("offset in [%v, %v], want [%v, %v]", lo, hi, wantLo, wantHi)
		}
		if off := skew.Offset(); off != 90*time.Second+75*time.Millisecond {
			t.Errorf("offset %v, want the middle of the bounds, 1m30.075s", off)
		}
	})
	var none *job.Skew
	if lo, hi := none.Bounds(); lo != -job.MaxSkew || hi != job.MaxSkew {
		t.Errorf("no answers: [%v, %v], want ±MaxSkew", lo, hi)
	}
}
