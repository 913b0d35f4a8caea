package quota

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas"
	sqtypes "github.com/aws/aws-sdk-go-v2/service/servicequotas/types"

	"github.com/bulklink/bulklink/call"
)

// QuotasAPI is the part of the Service Quotas client Auto calls (call.Quotas).
type QuotasAPI = call.Quotas

// MetricsAPI is the part of the CloudWatch client Auto calls (call.Metrics).
type MetricsAPI = call.Metrics

// get makes one read of r through the Auto's Caller (the UsageRead category of r's region:
// paced, retried a few times, classified). A refusal is a *refusal, with its code.
func get[C, In, Out any](ctx context.Context, a *Auto, r *region, op *call.Op[C, In, Out], client C, in *In) (*Out, error) {
	out, res, err := call.Do(ctx, a.cfg.Calls, op, client, in, call.Opts{Region: r.name, MaxAttempts: readAttempts})
	switch {
	case err != nil:
		return nil, err
	case !res.OK():
		return nil, &refusal{res}
	}
	return out, nil
}

// readAttempts is how many times one read is tried: a read that fails leaves the ceiling as
// it was until the next minute's.
const readAttempts = 3

// refusal is a read answered with an error, or that ran out of attempts.
type refusal struct{ res call.Result }

func (e *refusal) Error() string {
	if e.res.Exhausted {
		return fmt.Sprintf("%s (after %d attempts)", e.res.Message, e.res.Attempts)
	}
	return e.res.Message
}

// What Auto reads (docs/cognito.md, Quotas): the quota of Cognito's UserUpdate category,
// found by name, and its usage metric in AWS/Usage, whose Service dimension is found with
// ListMetrics.
const (
	serviceCode    = "cognito-idp"
	category       = "UserUpdate"
	usageNamespace = "AWS/Usage"
	callCount      = "CallCount"
	// usageService is the Service dimension's value we expect (a guess): among several
	// metrics, the one whose Service names Cognito is taken.
	usageService = "Cognito"
)

// errNoQuota is a Service Quotas that lists no UserUpdate quota for Cognito.
var errNoQuota = errors.New("no " + category + " quota listed for " + serviceCode + " in Service Quotas")

// quota reads r's UserUpdate quota, calls per second: found by name with ListServiceQuotas
// the first time, then read by its code with GetServiceQuota, the applied value.
func (a *Auto) quota(ctx context.Context, r *region) (float64, error) {
	if r.code == "" {
		in := &servicequotas.ListServiceQuotasInput{ServiceCode: aws.String(serviceCode)}
		for r.code == "" {
			page, err := get(ctx, a, r, call.ListServiceQuotas, r.clients.Quotas, in)
			if err != nil {
				return 0, fmt.Errorf("list the quotas of %s: %w", serviceCode, err)
			}
			for _, q := range page.Quotas {
				if isUserUpdate(q) {
					r.code, r.usage = aws.ToString(q.QuotaCode), q.UsageMetric
					break
				}
			}
			if in.NextToken = page.NextToken; aws.ToString(in.NextToken) == "" {
				break
			}
		}
		if r.code == "" {
			return 0, errNoQuota
		}
	}
	out, err := get(ctx, a, r, call.GetServiceQuota, r.clients.Quotas, &servicequotas.GetServiceQuotaInput{ServiceCode: aws.String(serviceCode), QuotaCode: aws.String(r.code)})
	if err != nil {
		return 0, fmt.Errorf("get the %s quota (%s): %w", category, r.code, err)
	}
	if out.Quota == nil || out.Quota.Value == nil {
		return 0, fmt.Errorf("get the %s quota (%s): no value", category, r.code)
	}
	return perSecond(*out.Quota.Value, out.Quota.Period)
}

// isUserUpdate reports whether q is the UserUpdate category's rate quota, named like "Rate
// of UserUpdate requests" (the exact name is a guess: docs/cognito.md).
func isUserUpdate(q sqtypes.ServiceQuota) bool {
	return strings.Contains(strings.ToLower(aws.ToString(q.QuotaName)), strings.ToLower(category))
}

// perSecond turns a quota's value into calls per second by its period: a second when it
// has none.
func perSecond(v float64, p *sqtypes.QuotaPeriod) (float64, error) {
	if p == nil || p.PeriodValue == nil {
		return v, nil
	}
	unit := map[sqtypes.PeriodUnit]time.Duration{
		sqtypes.PeriodUnitMillisecond: time.Millisecond, sqtypes.PeriodUnitSecond: time.Second,
		sqtypes.PeriodUnitMinute: time.Minute, sqtypes.PeriodUnitHour: time.Hour, sqtypes.PeriodUnitDay: 24 * time.Hour,
	}[p.PeriodUnit]
	if unit == 0 || *p.PeriodValue <= 0 {
		return 0, fmt.Errorf("the %s quota's period is %d %s: want seconds, minutes, hours or days", category, aws.ToInt32(p.PeriodValue), p.PeriodUnit)
	}
	return v / (time.Duration(*p.PeriodValue) * unit).Seconds(), nil
}

// metric finds the dimensions of r's UserUpdate CallCount metric: with ListMetrics, or else
// as the quota's UsageMetric names them. nil: CloudWatch has no such metric yet (it lists
// a metric only once it has had data in the last two weeks).
func (a *Auto) metric(ctx context.Context, r *region) ([]cwtypes.Dimension, error) {
	if r.dims != nil {
		return r.dims, nil
	}
	in := &cloudwatch.ListMetricsInput{
		Namespace:  aws.String(usageNamespace),
		MetricName: aws.String(callCount),
		Dimensions: []cwtypes.DimensionFilter{
			{Name: aws.String("Type"), Value: aws.String("API")},
			{Name: aws.String("Resource"), Value: aws.String(category)},
			{Name: aws.String("Class"), Value: aws.String("None")},
			{Name: aws.String("Service")},
		},
	}
	var found [][]cwtypes.Dimension
	for {
		page, err := get(ctx, a, r, call.ListMetrics, r.clients.Metrics, in)
		if err != nil {
			return nil, fmt.Errorf("list the %s metrics: %w", usageNamespace, err)
		}
		for _, m := range page.Metrics {
			found = append(found, m.Dimensions)
		}
		if in.NextToken = page.NextToken; aws.ToString(in.NextToken) == "" {
			break
		}
	}
	r.dims = pick(found)
	if r.dims == nil && r.usage != nil && aws.ToString(r.usage.MetricNamespace) == usageNamespace && aws.ToString(r.usage.MetricName) == callCount {
		for _, k := range slices.Sorted(maps.Keys(r.usage.MetricDimensions)) {
			r.dims = append(r.dims, cwtypes.Dimension{Name: aws.String(k), Value: aws.String(r.usage.MetricDimensions[k])})
		}
	}
	return r.dims, nil
}

// pick chooses among the metrics ListMetrics found: the only one, or the one whose Service
// names Cognito.
func pick(found [][]cwtypes.Dimension) []cwtypes.Dimension {
	if len(found) == 1 {
		return found[0]
	}
	for _, dims := range found {
		for _, d := range dims {
			if aws.ToString(d.Name) == "Service" && strings.Contains(strings.ToLower(aws.ToString(d.Value)), strings.ToLower(usageService)) {
				return dims
			}
		}
	}
	return nil
}

// usage reads r's account-wide UserUpdate calls per minute over [from, to), on the
// services' clock, and returns the newest minute that has a count, and the count; a zero
// minute when no minute has one (no calls, or none published yet).
func (a *Auto) usage(ctx context.Context, r *region, from, to time.Time) (time.Time, float64, error) {
	dims, err := a.metric(ctx, r)
	if err != nil || dims == nil {
		return time.Time{}, 0, err
	}
	out, err := get(ctx, a, r, call.GetMetricData, r.clients.Metrics, &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(from),
		EndTime:   aws.Time(to),
		MetricDataQueries: []cwtypes.MetricDataQuery{{
			Id: aws.String("calls"),
			MetricStat: &cwtypes.MetricStat{
				Metric: &cwtypes.Metric{Namespace: aws.String(usageNamespace), MetricName: aws.String(callCount), Dimensions: dims},
				Period: aws.Int32(60),
				Stat:   aws.String("Sum"),
			},
		}},
	})
	if err != nil {
		return time.Time{}, 0, fmt.Errorf("get the %s usage: %w", category, err)
	}
	var newest time.Time
	var calls float64
	for _, res := range out.MetricDataResults {
		for i, ts := range res.Timestamps {
			if i < len(res.Values) && ts.After(newest) {
				newest, calls = ts, res.Values[i]
			}
		}
	}
	return newest, calls, nil
}
