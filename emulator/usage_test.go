package emulator_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas"
	sqtypes "github.com/aws/aws-sdk-go-v2/service/servicequotas/types"

	"github.com/bulklink/bulklink/emulator"
)

// quotasClient and metricsClient are the real aws-sdk-go-v2 clients pointed at a server,
// without retries.
func quotasClient(srv *emulator.Server, key string) *servicequotas.Client {
	return servicequotas.New(servicequotas.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), Retryer: aws.NopRetryer{},
		Credentials: credentials.NewStaticCredentialsProvider(key, "secret", ""),
	})
}

func metricsClient(srv *emulator.Server, key string) *cloudwatch.Client {
	return cloudwatch.New(cloudwatch.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), Retryer: aws.NopRetryer{},
		Credentials: credentials.NewStaticCredentialsProvider(key, "secret", ""),
	})
}

func TestServiceQuotas(t *testing.T) {
	t.Parallel()
	srv, _ := start(t, emulator.Options{WriteQuota: 42, ReadQuota: 120, AuthErrors: map[string]string{"AKIADENIED": "AccessDeniedException"}})
	client := quotasClient(srv, emulator.TestAccessKeyID)

	// A pacer finds the quota by name, then reads it by code.
	var quotas []sqtypes.ServiceQuota
	pages := servicequotas.NewListServiceQuotasPaginator(client, &servicequotas.ListServiceQuotasInput{
		ServiceCode: aws.String("cognito-idp"), MaxResults: aws.Int32(2),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(t.Context())
		check(t, err, want{})
		quotas = append(quotas, page.Quotas...)
	}
	var names []string
	for _, q := range quotas {
		names = append(names, *q.QuotaName)
	}
	if want := []string{"Rate of UserUpdate requests", "Rate of UserRead requests", "Rate of UserList requests",
		"Rate of UserResourceRead requests", "Rate of UserCreation requests"}; !slices.Equal(names, want) {
		t.Fatalf("got quotas %v, want %v", names, want)
	}
	got, err := client.GetServiceQuota(t.Context(), &servicequotas.GetServiceQuotaInput{ServiceCode: aws.String("cognito-idp"), QuotaCode: quotas[0].QuotaCode})
	check(t, err, want{})
	q := got.Quota
	if *q.Value != 42 || *q.ServiceCode != "cognito-idp" || *q.QuotaName != "Rate of UserUpdate requests" || !q.Adjustable ||
		q.Period == nil || *q.Period.PeriodValue != 1 || q.Period.PeriodUnit != sqtypes.PeriodUnitSecond {
		t.Errorf("got %+v, want UserUpdate at the write quota, 42 per second", q)
	}
	if m := q.UsageMetric; m == nil || *m.MetricNamespace != "AWS/Usage" || *m.MetricName != "CallCount" ||
		fmt.Sprint(m.MetricDimensions) != "map[Class:None Resource:UserUpdate Service:Cognito User Pools Type:API]" {
		t.Errorf("got usage metric %+v, want AWS/Usage CallCount of UserUpdate", q.UsageMetric)
	}

	// The value follows the emulator's options; an unlimited quota is a large one.
	if err := srv.Reconfigure(func(o *emulator.Options) { o.WriteQuota = 0 }); err != nil {
		t.Fatal(err)
	}
	got, err = client.GetServiceQuota(t.Context(), &servicequotas.GetServiceQuotaInput{ServiceCode: aws.String("cognito-idp"), QuotaCode: quotas[0].QuotaCode})
	check(t, err, want{})
	if *got.Quota.Value != 1e6 {
		t.Errorf("unlimited: got %v, want 1e6", *got.Quota.Value)
	}

	for _, tc := range []struct {
		name string
		call func() error
		want want
	}{
		{"unknown service", func() error {
			_, err := client.GetServiceQuota(t.Context(), &servicequotas.GetServiceQuotaInput{ServiceCode: aws.String("cognito-sync"), QuotaCode: quotas[0].QuotaCode})
			return err
		}, want{"NoSuchResourceException", "The request failed because the specified service does not exist.", 400}},
		{"unknown quota", func() error {
			_, err := client.GetServiceQuota(t.Context(), &servicequotas.GetServiceQuotaInput{ServiceCode: aws.String("cognito-idp"), QuotaCode: aws.String("L-12345678")})
			return err
		}, want{"NoSuchResourceException", "The request failed because the specified quota does not exist.", 400}},
		{"access denied", func() error {
			_, err := quotasClient(srv, "AKIADENIED").ListServiceQuotas(t.Context(), &servicequotas.ListServiceQuotasInput{ServiceCode: aws.String("cognito-idp")})
			return err
		}, want{"AccessDeniedException", "User: arn:aws:iam::000000000000:user/AKIADENIED is not authorized to perform: servicequotas:ListServiceQuotas " +
			"on resource: * because no identity-based policy allows the servicequotas:ListServiceQuotas action", 400}},
	} {
		t.Run(tc.name, func(t *testing.T) { checkAny(t, tc.call(), tc.want) })
	}
	if got := srv.Calls("GetServiceQuota"); got != 4 {
		t.Errorf("got %d GetServiceQuota calls, want 4", got)
	}
}

// checkAny is check for the errors of other services than Cognito: their code, message and
// HTTP status.
func checkAny(t *testing.T, err error, w want) {
	t.Helper()
	if got := code(err); got != w.code {
		t.Fatalf("got %v (code %q), want %q", err, got, w.code)
	}
	if w.code == "" {
		return
	}
	if apiErr := asAPIError(err); w.msg != "" && apiErr.ErrorMessage() != w.msg {
		t.Errorf("got message %q, want %q", apiErr.ErrorMessage(), w.msg)
	}
	if got := status(err); got != w.status {
		t.Errorf("got HTTP status %d, want %d", got, w.status)
	}
}

// usageQuery asks for the account's per-minute UserUpdate usage.
func usageQuery(id, name, resource, stat string) cwtypes.MetricDataQuery {
	return cwtypes.MetricDataQuery{
		Id: aws.String(id),
		MetricStat: &cwtypes.MetricStat{
			Metric: &cwtypes.Metric{
				Namespace:  aws.String("AWS/Usage"),
				MetricName: aws.String(name),
				Dimensions: []cwtypes.Dimension{
					{Name: aws.String("Type"), Value: aws.String("API")},
					{Name: aws.String("Service"), Value: aws.String("Cognito User Pools")},
					{Name: aws.String("Resource"), Value: aws.String(resource)},
					{Name: aws.String("Class"), Value: aws.String("None")},
				},
			},
			Period: aws.Int32(60),
			Stat:   aws.String(stat),
		},
	}
}

// TestCloudWatchUsage checks the account's usage per minute through the real CloudWatch
// client (Smithy RPC v2 CBOR): the calls of clients and of the simulated application,
// throttled ones included, minute by minute on the emulator's clock.
func TestCloudWatchUsage(t *testing.T) {
	t.Parallel()
	clk := newClock() // 2026-01-01 00:00:00 UTC
	srv, cognito := serve(t, emulator.NewServerAt(emulator.Options{WriteQuota: 5, BackgroundRate: 2, Seed: 11}, clk.now))
	client := metricsClient(srv, emulator.TestAccessKeyID)
	start := clk.now().UTC()

	// Minute 0: 8 links at once, 5 admitted; and a read. Minute 2: 3 links, and 10 s of
	// background traffic. Minute 1 has nothing.
	for i := range 8 {
		cognito.AdminLinkProviderForUser(t.Context(), linkInput("Cognito", "alice", "Google", "Cognito_Subject", fmt.Sprint("m0-", i)))
	}
	cognito.AdminGetUser(t.Context(), getInput("alice"))
	clk.advance(2 * time.Minute)
	srv.AdvanceTraffic() // the background calls of minutes 0 and 1 come all at once now, in minute 2
	for i := range 3 {
		cognito.AdminLinkProviderForUser(t.Context(), linkInput("Cognito", "bob", "Google", "Cognito_Subject", fmt.Sprint("m2-", i)))
	}
	background := srv.Background()
	clk.advance(30 * time.Second)

	out, err := client.GetMetricData(t.Context(), &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(start.Add(-5 * time.Minute)),
		EndTime:   aws.Time(clk.now()),
		ScanBy:    cwtypes.ScanByTimestampAscending,
		MetricDataQueries: []cwtypes.MetricDataQuery{
			usageQuery("calls", "CallCount", "UserUpdate", "Sum"),
			usageQuery("throttles", "ThrottleCount", "UserUpdate", "Sum"),
			usageQuery("reads", "CallCount", "UserRead", "Sum"),
			usageQuery("other", "CallCount", "UserToken", "Sum"), // a category the emulator does not serve
		},
	})
	check(t, err, want{})
	type point struct {
		at time.Time
		n  float64
	}
	series := func(r cwtypes.MetricDataResult) []point {
		var ps []point
		for i := range r.Timestamps {
			ps = append(ps, point{r.Timestamps[i].UTC(), r.Values[i]})
		}
		return ps
	}
	results := out.MetricDataResults
	if len(results) != 4 {
		t.Fatalf("got %d results, want 4", len(results))
	}
	wantCalls := []point{{start, 8}, {start.Add(2 * time.Minute), float64(3 + background.Calls)}}
	if got := series(results[0]); fmt.Sprint(got) != fmt.Sprint(wantCalls) || *results[0].Label != "CallCount" || results[0].StatusCode != cwtypes.StatusCodeComplete {
		t.Errorf("CallCount: got %v (%s, %s), want %v", got, *results[0].Label, results[0].StatusCode, wantCalls)
	}
	if background.Calls == 0 {
		t.Error("no background calls in 2 minutes at 2/s")
	}
	// Minute 2 starts with a full bucket of 5 for the background and the links.
	throttled2 := float64(3+background.Calls) - 5
	wantThrottles := []point{{start, 3}, {start.Add(2 * time.Minute), throttled2}}
	if got := series(results[1]); fmt.Sprint(got) != fmt.Sprint(wantThrottles) {
		t.Errorf("ThrottleCount: got %v, want %v", got, wantThrottles)
	}
	if got := series(results[2]); fmt.Sprint(got) != fmt.Sprint([]point{{start, 1}}) {
		t.Errorf("UserRead: got %v, want one call in minute 0", got)
	}
	if got := series(results[3]); len(got) != 0 {
		t.Errorf("a metric the emulator does not have: got %v, want no data", got)
	}

	// Periods of several minutes, newest first by default.
	q := usageQuery("calls", "CallCount", "UserUpdate", "Sum")
	q.MetricStat.Period = aws.Int32(300)
	out, err = client.GetMetricData(t.Context(), &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(start.Add(-5 * time.Minute)), EndTime: aws.Time(clk.now()), MetricDataQueries: []cwtypes.MetricDataQuery{q},
	})
	check(t, err, want{})
	if got := series(out.MetricDataResults[0]); fmt.Sprint(got) != fmt.Sprint([]point{{start, float64(11 + background.Calls)}}) {
		t.Errorf("5-minute periods: got %v, want all calls at %v", got, start)
	}
}

func TestCloudWatchErrors(t *testing.T) {
	t.Parallel()
	srv, _ := start(t, emulator.Options{AuthErrors: map[string]string{"AKIADENIED": "AccessDeniedException"}})
	client := metricsClient(srv, emulator.TestAccessKeyID)
	now := time.Now()
	get := func(client *cloudwatch.Client, from, to time.Time, q cwtypes.MetricDataQuery) func() error {
		return func() error {
			_, err := client.GetMetricData(t.Context(), &cloudwatch.GetMetricDataInput{
				StartTime: aws.Time(from), EndTime: aws.Time(to), MetricDataQueries: []cwtypes.MetricDataQuery{q},
			})
			return err
		}
	}
	odd := usageQuery("calls", "CallCount", "UserUpdate", "Sum")
	odd.MetricStat.Period = aws.Int32(90)
	p99 := usageQuery("calls", "CallCount", "UserUpdate", "p99")
	math := cwtypes.MetricDataQuery{Id: aws.String("rate"), Expression: aws.String("calls/60")}
	for _, tc := range []struct {
		name string
		call func() error
		want want
	}{
		{"start after end", get(client, now, now.Add(-time.Hour), usageQuery("calls", "CallCount", "UserUpdate", "Sum")),
			want{"InvalidParameterValue", "The parameter StartTime must be less than the parameter EndTime.", 400}},
		{"period not in minutes", get(client, now.Add(-time.Hour), now, odd), want{"InvalidParameterValue", "", 400}},
		{"percentile", get(client, now.Add(-time.Hour), now, p99), want{"InvalidParameterValue", "", 400}},
		{"metric math", get(client, now.Add(-time.Hour), now, math), want{"InvalidParameterValue", "", 400}},
		{"access denied", get(metricsClient(srv, "AKIADENIED"), now.Add(-time.Hour), now, usageQuery("calls", "CallCount", "UserUpdate", "Sum")),
			want{"AccessDenied", "User: arn:aws:iam::000000000000:user/AKIADENIED is not authorized to perform: cloudwatch:GetMetricData " +
				"on resource: * because no identity-based policy allows the cloudwatch:GetMetricData action", 400}},
	} {
		t.Run(tc.name, func(t *testing.T) { checkAny(t, tc.call(), tc.want) })
	}
}

// TestListMetrics checks that a client finds the usage metrics, and the Service dimension's
// value, without knowing it.
func TestListMetrics(t *testing.T) {
	t.Parallel()
	srv, _ := start(t, emulator.Options{})
	client := metricsClient(srv, emulator.TestAccessKeyID)
	out, err := client.ListMetrics(t.Context(), &cloudwatch.ListMetricsInput{
		Namespace:  aws.String("AWS/Usage"),
		MetricName: aws.String("CallCount"),
		Dimensions: []cwtypes.DimensionFilter{{Name: aws.String("Resource"), Value: aws.String("UserUpdate")}, {Name: aws.String("Service")}},
	})
	check(t, err, want{})
	if len(out.Metrics) != 1 {
		t.Fatalf("got %d metrics, want 1", len(out.Metrics))
	}
	dims := map[string]string{}
	for _, d := range out.Metrics[0].Dimensions {
		dims[*d.Name] = *d.Value
	}
	if fmt.Sprint(dims) != "map[Class:None Resource:UserUpdate Service:Cognito User Pools Type:API]" {
		t.Errorf("got dimensions %v", dims)
	}
	all, err := client.ListMetrics(t.Context(), &cloudwatch.ListMetricsInput{})
	check(t, err, want{})
	if len(all.Metrics) != 10 {
		t.Errorf("got %d metrics, want CallCount and ThrottleCount of 5 categories", len(all.Metrics))
	}
	none, err := client.ListMetrics(t.Context(), &cloudwatch.ListMetricsInput{Namespace: aws.String("AWS/Cognito")})
	check(t, err, want{})
	if len(none.Metrics) != 0 {
		t.Errorf("AWS/Cognito: got %v, want none", none.Metrics)
	}
}
