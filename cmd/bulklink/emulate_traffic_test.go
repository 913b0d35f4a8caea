package main

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas"

	"github.com/bulklink/bulklink/emulator"
)

// TestEmulateTrafficAndClock runs `bulklink emulate` with application traffic and a skewed
// clock, and reads what --rate auto reads: the quota from Service Quotas and the usage from
// CloudWatch, with the real SDK clients; then the counts it prints when it stops.
func TestEmulateTrafficAndClock(t *testing.T) {
	t.Parallel()
	emu := startEmulate(t, cliSeed, "--quota", "30", "--background-rate", "50", "--background-schedule", "0s:100,10m:5",
		"--fault-seed", "9", "--clock-skew", "-1h")
	// The traffic runs on the real clock: at 100/s into a bucket of 30 refilled at 30/s, the
	// first throttle comes about half a second in, sooner or later as the arrivals fall. Ask
	// until it has come, rather than sleep a guess.
	var bg emulator.BackgroundStats
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get(emu.url + emulator.BackgroundPath)
		if err != nil {
			t.Fatal(err)
		}
		bg = emulator.BackgroundStats{}
		err = json.NewDecoder(resp.Body).Decode(&bg)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("GET %s: %v", emulator.BackgroundPath, err)
		}
		if bg.Throttled > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: got %+v after 30s, want some calls throttled by the quota of 30", emulator.BackgroundPath, bg)
		}
	}
	if bg.Rate != 100 {
		t.Errorf("GET %s: got %+v, want calls at 100/s", emulator.BackgroundPath, bg)
	}

	// The answers carry the emulator's clock, an hour behind.
	out, err := emu.client().AdminGetUser(t.Context(), &cip.AdminGetUserInput{UserPoolId: aws.String(cliPool), Username: aws.String("alice")})
	if err != nil {
		t.Fatal(err)
	}
	server, ok := awsmiddleware.GetServerTime(out.ResultMetadata)
	if skew := time.Until(server); !ok || skew > -time.Hour+5*time.Second || skew < -time.Hour-5*time.Second {
		t.Errorf("the server's time is %v from the machine's (%t), want an hour behind", skew, ok)
	}

	creds := credentials.NewStaticCredentialsProvider("AKIATEST", "secret", "")
	quotas := servicequotas.New(servicequotas.Options{Region: "us-east-1", BaseEndpoint: aws.String(emu.url), Credentials: creds})
	list, err := quotas.ListServiceQuotas(t.Context(), &servicequotas.ListServiceQuotasInput{ServiceCode: aws.String("cognito-idp")})
	if err != nil || len(list.Quotas) == 0 || *list.Quotas[0].QuotaName != "Rate of UserUpdate requests" || *list.Quotas[0].Value != 30 {
		t.Errorf("list-service-quotas: got %+v, %v; want UserUpdate at 30", list, err)
	}

	metrics := cloudwatch.New(cloudwatch.Options{Region: "us-east-1", BaseEndpoint: aws.String(emu.url), Credentials: creds})
	usage, err := metrics.GetMetricData(t.Context(), &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(server.Add(-5 * time.Minute)), EndTime: aws.Time(server.Add(time.Minute)),
		MetricDataQueries: []cwtypes.MetricDataQuery{{
			Id: aws.String("calls"),
			MetricStat: &cwtypes.MetricStat{
				Metric: &cwtypes.Metric{Namespace: aws.String("AWS/Usage"), MetricName: aws.String("CallCount"), Dimensions: []cwtypes.Dimension{
					{Name: aws.String("Service"), Value: aws.String("Cognito User Pools")}, {Name: aws.String("Type"), Value: aws.String("API")},
					{Name: aws.String("Resource"), Value: aws.String("UserUpdate")}, {Name: aws.String("Class"), Value: aws.String("None")},
				}},
				Period: aws.Int32(60), Stat: aws.String("Sum"),
			},
		}},
	})
	var calls float64
	if err == nil {
		for _, v := range usage.MetricDataResults[0].Values {
			calls += v
		}
	}
	if err != nil || calls < float64(bg.Calls) {
		t.Errorf("get-metric-data: got %v calls (%v), want at least the %d background calls", calls, err, bg.Calls)
	}

	logs := emu.stop(t)
	stdout := emu.stdout.String()
	if !strings.Contains(stdout, "application traffic: 50 calls/s, then 0s:100,10m0s:5; counts at "+emu.url+emulator.BackgroundPath) {
		t.Errorf("the startup lines do not tell the traffic:\n%s", stdout)
	}
	m := regexp.MustCompile(`bulklink emulate: background traffic: (\d+) calls, (\d+) throttled \(\d+\.\d%\)`).FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("no background counts printed on exit:\n%s", stdout)
	}
	if n, _ := strconv.ParseInt(m[1], 10, 64); n < bg.Calls {
		t.Errorf("printed %s calls on exit, fewer than the %d seen before", m[1], bg.Calls)
	}
	if !strings.Contains(logs, `"background_rate":50`) || !strings.Contains(logs, `"background_schedule":"0s:100,10m0s:5"`) || !strings.Contains(logs, `"clock_skew":"-1h0m0s"`) {
		t.Errorf("the start log does not tell the new options:\n%s", tail(logs, 2000))
	}
}
