package emulator

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// The usage metrics CloudWatch publishes for Cognito's quota categories (docs/emulator.md,
// CloudWatch): namespace AWS/Usage, CallCount and ThrottleCount, per minute.
const (
	usageNamespace      = "AWS/Usage"
	metricCallCount     = "CallCount"
	metricThrottleCount = "ThrottleCount"
	// usageService is the Service dimension of Cognito's usage metrics: a guess, which
	// clients should not hard-code but find with ListMetrics, or in the UsageMetric of the
	// category's quota in Service Quotas.
	usageService = "Cognito User Pools"
)

// usageDimensions are the dimensions of a category's usage metrics.
func usageDimensions(resource string) map[string]string {
	return map[string]string{"Service": usageService, "Type": "API", "Resource": resource, "Class": "None"}
}

// cloudWatchOps are the CloudWatch operations the emulator serves.
var cloudWatchOps = map[string]operation{
	"GetMetricData": op(classAdmin, (*Emulator).getMetricData),
	"ListMetrics":   op(classAdmin, (*Emulator).listMetrics),
}

// dimension is the API's Dimension, and DimensionFilter, whose Value may be absent.
type dimension struct {
	Name  *string `json:"Name"`
	Value *string `json:"Value,omitempty"`
}

// metric is the API's Metric.
type metric struct {
	Namespace  *string     `json:"Namespace"`
	MetricName *string     `json:"MetricName"`
	Dimensions []dimension `json:"Dimensions"`
}

type metricStat struct {
	Metric *metric
	Period *int32
	Stat   *string
	Unit   *string
}

type metricDataQuery struct {
	Id         *string
	MetricStat *metricStat
	Expression *string
	Label      *string
	ReturnData *bool
	Period     *int32
	AccountId  *string
}

type getMetricDataInput struct {
	MetricDataQueries []metricDataQuery
	StartTime         *float64 // epoch seconds, as the protocols carry timestamps
	EndTime           *float64
	NextToken         *string
	ScanBy            *string
	MaxDatapoints     *int32
}

func (in *getMetricDataInput) poolID() string { return "" }

// missing is CloudWatch's answer to a required parameter that is absent.
func missing(name string) error {
	return &apiError{codeMissingParameter, fmt.Sprintf("The parameter %s is required.", name)}
}

func invalidValue(format string, args ...any) error {
	return &apiError{codeInvalidParameterValue, fmt.Sprintf(format, args...)}
}

var queryIDPattern = regexp.MustCompile(`^[a-z][a-zA-Z0-9_]*$`)

// usageStats are the statistics the emulator computes of a count: every call is a sample
// of 1 (a guess, docs/emulator.md).
var usageStats = []string{"Sum", "SampleCount", "Average", "Minimum", "Maximum"}

func (in *getMetricDataInput) validate() error {
	switch {
	case len(in.MetricDataQueries) == 0:
		return missing("MetricDataQueries")
	case len(in.MetricDataQueries) > 500:
		return invalidValue("The collection MetricDataQueries must not have a size greater than 500.")
	case in.StartTime == nil:
		return missing("StartTime")
	case in.EndTime == nil:
		return missing("EndTime")
	case *in.StartTime >= *in.EndTime:
		return invalidValue("The parameter StartTime must be less than the parameter EndTime.")
	case in.ScanBy != nil && *in.ScanBy != "TimestampDescending" && *in.ScanBy != "TimestampAscending":
		return invalidValue("The parameter ScanBy must be TimestampDescending or TimestampAscending.")
	}
	for i, q := range in.MetricDataQueries {
		path := fmt.Sprintf("MetricDataQueries.member.%d", i+1)
		switch {
		case q.Id == nil:
			return missing(path + ".Id")
		case !queryIDPattern.MatchString(*q.Id):
			return invalidValue("The value %s for parameter %s.Id is invalid: it must start with a lower-case letter and hold letters, digits and underscores.", *q.Id, path)
		case q.Expression != nil:
			// Metric math is CloudWatch's own computation, which the emulator does not model.
			return invalidValue("The emulator does not evaluate metric math: %s.Expression is not supported; ask for the metrics themselves.", path)
		case q.MetricStat == nil:
			return missing(path + ".MetricStat")
		case q.MetricStat.Metric == nil || q.MetricStat.Metric.MetricName == nil:
			return missing(path + ".MetricStat.Metric.MetricName")
		case q.MetricStat.Period == nil:
			return missing(path + ".MetricStat.Period")
		case *q.MetricStat.Period <= 0 || *q.MetricStat.Period%60 != 0:
			return invalidValue("The parameter %s.MetricStat.Period must be a multiple of 60: the usage metrics are published per minute.", path)
		case q.MetricStat.Stat == nil:
			return missing(path + ".MetricStat.Stat")
		case !slices.Contains(usageStats, *q.MetricStat.Stat):
			return invalidValue("The parameter %s.MetricStat.Stat must be one of %v.", path, usageStats)
		}
	}
	return nil
}

// metricDataResult is the API's MetricDataResult.
type metricDataResult struct {
	Id         string      `json:"Id"`
	Label      string      `json:"Label"`
	Timestamps []epochTime `json:"Timestamps"`
	Values     []float64   `json:"Values"`
	StatusCode string      `json:"StatusCode"`
}

type getMetricDataOutput struct {
	MetricDataResults []metricDataResult `json:"MetricDataResults"`
}

// getMetricData answers the usage metrics of the account, per period from the start time
// rounded down to the minute, from the emulator's counts of the last few hours. A period
// without calls has no data point, as CloudWatch publishes none; other metrics have none
// at all.
func (e *Emulator) getMetricData(in *getMetricDataInput) (*getMetricDataOutput, error) {
	start := time.UnixMilli(int64(math.Round(*in.StartTime * 1000))).Truncate(time.Minute)
	end := time.UnixMilli(int64(math.Round(*in.EndTime * 1000)))
	// Minutes before the oldest one kept are empty: do not walk them.
	oldest := e.clock().Truncate(time.Minute).Add(-(usageMinutes - 1) * time.Minute)
	out := &getMetricDataOutput{MetricDataResults: []metricDataResult{}}
	for _, q := range in.MetricDataQueries {
		if q.ReturnData != nil && !*q.ReturnData {
			continue
		}
		ms := q.MetricStat
		res := metricDataResult{
			Id:         *q.Id,
			Label:      cmp.Or(aws.ToString(q.Label), *ms.Metric.MetricName),
			Timestamps: []epochTime{},
			Values:     []float64{},
			StatusCode: "Complete",
		}
		c, throttles, ok := usageMetric(ms.Metric)
		period := time.Duration(*ms.Period) * time.Second
		for t := start; ok && t.Before(end); t = t.Add(period) {
			var n int64
			m := t
			if m.Before(oldest) {
				m = oldest
			}
			for ; m.Before(t.Add(period)) && m.Before(end); m = m.Add(time.Minute) {
				calls, throttled := e.usage.at(c, m)
				if throttles {
					n += throttled
				} else {
					n += calls
				}
			}
			if n == 0 {
				continue
			}
			v := float64(n)
			if s := *ms.Stat; s == "Average" || s == "Minimum" || s == "Maximum" {
				v = 1
			}
			res.Timestamps = append(res.Timestamps, epochTime(t))
			res.Values = append(res.Values, v)
		}
		if aws.ToString(in.ScanBy) != "TimestampAscending" {
			slices.Reverse(res.Timestamps)
			slices.Reverse(res.Values)
		}
		out.MetricDataResults = append(out.MetricDataResults, res)
	}
	return out, nil
}

// usageMetric returns the category class a metric counts, and whether it counts the
// throttled calls; ok is false if the emulator has no such metric. The dimensions must be
// exactly a category's, in any order, as CloudWatch matches them.
func usageMetric(m *metric) (c class, throttles, ok bool) {
	if aws.ToString(m.Namespace) != usageNamespace {
		return 0, false, false
	}
	switch aws.ToString(m.MetricName) {
	case metricCallCount:
	case metricThrottleCount:
		throttles = true
	default:
		return 0, false, false
	}
	dims := make(map[string]string, len(m.Dimensions))
	for _, d := range m.Dimensions {
		dims[aws.ToString(d.Name)] = aws.ToString(d.Value)
	}
	for _, cat := range categories {
		if maps.Equal(dims, usageDimensions(cat.name)) {
			return cat.class, throttles, true
		}
	}
	return 0, false, false
}

type listMetricsInput struct {
	Namespace      *string
	MetricName     *string
	Dimensions     []dimension
	NextToken      *string
	RecentlyActive *string
}

func (in *listMetricsInput) poolID() string { return "" }

func (in *listMetricsInput) validate() error {
	if len(in.Dimensions) > 10 {
		return invalidValue("The collection Dimensions must not have a size greater than 10.")
	}
	for i, d := range in.Dimensions {
		if d.Name == nil {
			return missing(fmt.Sprintf("Dimensions.member.%d.Name", i+1))
		}
	}
	return nil
}

type listMetricsOutput struct {
	Metrics []metric `json:"Metrics"`
}

// listMetrics lists the usage metrics that match the filters: all of them, whether they
// have data or not (docs/emulator.md), in one page.
func (e *Emulator) listMetrics(in *listMetricsInput) (*listMetricsOutput, error) {
	out := &listMetricsOutput{Metrics: []metric{}}
	for _, name := range []string{metricCallCount, metricThrottleCount} {
		for _, cat := range categories {
			dims := usageDimensions(cat.name)
			if in.Namespace != nil && *in.Namespace != usageNamespace || in.MetricName != nil && *in.MetricName != name {
				continue
			}
			match := true
			for _, f := range in.Dimensions {
				v, ok := dims[*f.Name]
				match = match && ok && (f.Value == nil || *f.Value == v)
			}
			if !match {
				continue
			}
			m := metric{Namespace: aws.String(usageNamespace), MetricName: aws.String(name)}
			for _, k := range []string{"Service", "Type", "Resource", "Class"} {
				m.Dimensions = append(m.Dimensions, dimension{Name: aws.String(k), Value: aws.String(dims[k])})
			}
			out.Metrics = append(out.Metrics, m)
		}
	}
	return out, nil
}
