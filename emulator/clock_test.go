package emulator_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/bulklink/bulklink/emulator"
)

// TestClockSkew checks that a skewed emulator is consistent: the dates it records and the
// Date header of its answers, which the SDK reads as the server's time, all follow its
// clock.
func TestClockSkew(t *testing.T) {
	t.Parallel()
	for _, skew := range []time.Duration{0, -90 * time.Minute, 7 * time.Minute} {
		t.Run(skew.String(), func(t *testing.T) {
			t.Parallel()
			srv, client := start(t, emulator.Options{ClockSkew: skew})
			// near reports whether a time is the machine's clock plus skew, give or take the
			// test's duration and the Date header's whole seconds.
			begin := time.Now()
			near := func(got time.Time) bool {
				return !got.Before(begin.Add(skew-time.Second)) && !got.After(time.Now().Add(skew+time.Second))
			}

			out, err := client.AdminLinkProviderForUser(t.Context(), linkInput("Cognito", "alice", "Google", "Cognito_Subject", "g-skew"))
			check(t, err, want{})
			if server, ok := awsmiddleware.GetServerTime(out.ResultMetadata); !ok || !near(server) {
				t.Errorf("the SDK read the server's time %v (%t), want the machine's %v plus %v", server, ok, time.Now(), skew)
			}
			got, err := client.AdminGetUser(t.Context(), &cip.AdminGetUserInput{UserPoolId: aws.String(poolID), Username: aws.String("alice")})
			check(t, err, want{})
			var ids []wireIdentity
			if err := json.Unmarshal([]byte(attributes(got.UserAttributes)["identities"]), &ids); err != nil {
				t.Fatal(err)
			}
			if len(ids) != 1 || !near(time.UnixMilli(ids[0].DateCreated)) || !near(*got.UserLastModifiedDate) {
				t.Errorf("got identities %+v, user modified %v; want dateCreated and the modification at the machine's time plus %v", ids, got.UserLastModifiedDate, skew)
			}

			// Errors, and calls outside the protocol, carry the skewed Date too.
			for _, contentType := range []string{"application/x-amz-json-1.1", "text/plain"} {
				_, header, _ := send(t, http.MethodPost, srv.URL, contentType, "AWSCognitoIdentityProviderService.AdminGetUser", `{}`)
				date, err := http.ParseTime(header.Get("Date"))
				if err != nil || !near(date) {
					t.Errorf("%s: got Date %q, want the machine's time plus %v", contentType, header.Get("Date"), skew)
				}
			}
		})
	}
}
