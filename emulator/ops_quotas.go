package emulator

// category is a quota category of Cognito's user-pool API, as Service Quotas and
// CloudWatch name it (docs/emulator.md, Service Quotas).
type category struct {
	name  string // e.g. UserUpdate
	class class
	code  string // the emulator's quota code: Cognito's own are not known
	quota func(*Options) float64
}

// categories are those of the emulator's quota classes that Cognito has a category for.
// The class of pools and identity providers spans several of Cognito's categories, and
// is left out.
var categories = []category{
	{"UserUpdate", classWrite, "L-E0000001", func(o *Options) float64 { return o.WriteQuota }},
	{"UserRead", classRead, "L-E0000002", func(o *Options) float64 { return o.ReadQuota }},
	{"UserList", classList, "L-E0000003", func(o *Options) float64 { return o.ListQuota }},
	{"UserResourceRead", classResourceRead, "L-E0000004", func(o *Options) float64 { return o.ResourceReadQuota }},
	{"UserCreation", classCreate, "L-E0000005", func(o *Options) float64 { return o.CreateQuota }},
}

const (
	cognitoServiceCode = "cognito-idp"
	cognitoServiceName = "Amazon Cognito User Pools"
	// unlimitedQuota is the Value of a category without a quota (0 in Options): Service
	// Quotas has no word for unlimited, and a large number keeps a pacer's arithmetic sane.
	unlimitedQuota = 1_000_000
)

// quotaName is the name Service Quotas gives a category's rate quota.
func quotaName(c category) string { return "Rate of " + c.name + " requests" }

// serviceQuotasOps are the Service Quotas operations the emulator serves.
var serviceQuotasOps = map[string]operation{
	"GetServiceQuota":   op(classAdmin, (*Emulator).getServiceQuota),
	"ListServiceQuotas": op(classAdmin, (*Emulator).listServiceQuotas),
}

// serviceQuota is the API's ServiceQuota.
type serviceQuota struct {
	ServiceCode         string      `json:"ServiceCode"`
	ServiceName         string      `json:"ServiceName"`
	QuotaArn            string      `json:"QuotaArn"`
	QuotaCode           string      `json:"QuotaCode"`
	QuotaName           string      `json:"QuotaName"`
	Value               float64     `json:"Value"`
	Unit                string      `json:"Unit"`
	Adjustable          bool        `json:"Adjustable"`
	GlobalQuota         bool        `json:"GlobalQuota"`
	UsageMetric         metricInfo  `json:"UsageMetric"`
	Period              quotaPeriod `json:"Period"`
	QuotaAppliedAtLevel string      `json:"QuotaAppliedAtLevel"`
	Description         string      `json:"Description,omitempty"`
}

// metricInfo is the API's MetricInfo: the CloudWatch metric of a quota's usage.
type metricInfo struct {
	MetricNamespace               string            `json:"MetricNamespace"`
	MetricName                    string            `json:"MetricName"`
	MetricDimensions              map[string]string `json:"MetricDimensions"`
	MetricStatisticRecommendation string            `json:"MetricStatisticRecommendation"`
}

type quotaPeriod struct {
	PeriodValue int    `json:"PeriodValue"`
	PeriodUnit  string `json:"PeriodUnit"`
}

// serviceQuota describes a category's quota as it applies now.
func (e *Emulator) serviceQuota(c category) serviceQuota {
	opt := e.opt.Load()
	value := c.quota(opt)
	if value == 0 {
		value = unlimitedQuota
	}
	return serviceQuota{
		ServiceCode: cognitoServiceCode,
		ServiceName: cognitoServiceName,
		QuotaArn:    "arn:aws:servicequotas:" + opt.Region + ":" + accountID + ":" + cognitoServiceCode + "/" + c.code,
		QuotaCode:   c.code,
		QuotaName:   quotaName(c),
		Value:       value,
		Unit:        "None",
		Adjustable:  true,
		UsageMetric: metricInfo{
			MetricNamespace:               usageNamespace,
			MetricName:                    metricCallCount,
			MetricDimensions:              usageDimensions(c.name),
			MetricStatisticRecommendation: "Sum",
		},
		Period:              quotaPeriod{PeriodValue: 1, PeriodUnit: "SECOND"},
		QuotaAppliedAtLevel: "ACCOUNT",
		Description:         "The rate of " + c.name + " API calls across the user pools of the account and region, in requests per second.",
	}
}

type getServiceQuotaInput struct {
	ServiceCode *string
	QuotaCode   *string
	ContextId   *string
}

func (in *getServiceQuotaInput) poolID() string { return "" }

func (in *getServiceQuotaInput) validate() error {
	var v validation
	v.requiredString("serviceCode", in.ServiceCode, shape(1, 63, `[a-zA-Z][a-zA-Z0-9-]{1,128}`))
	v.requiredString("quotaCode", in.QuotaCode, shape(1, 128, `[a-zA-Z][a-zA-Z0-9-]{1,128}`))
	return illegalArgument(v.err())
}

// illegalArgument answers a validation error as Service Quotas does.
func illegalArgument(err error) error {
	if ae, ok := err.(*apiError); ok {
		return &apiError{codeIllegalArgument, ae.message}
	}
	return err
}

type serviceQuotaOutput struct {
	Quota serviceQuota `json:"Quota"`
}

func (e *Emulator) getServiceQuota(in *getServiceQuotaInput) (*serviceQuotaOutput, error) {
	if *in.ServiceCode != cognitoServiceCode {
		return nil, &apiError{codeNoSuchResource, msgNoSuchService}
	}
	for _, c := range categories {
		if c.code == *in.QuotaCode {
			return &serviceQuotaOutput{Quota: e.serviceQuota(c)}, nil
		}
	}
	return nil, &apiError{codeNoSuchResource, msgNoSuchQuota}
}

type listServiceQuotasInput struct {
	ServiceCode         *string
	QuotaCode           *string
	QuotaAppliedAtLevel *string
	MaxResults          *int32
	NextToken           *string
}

func (in *listServiceQuotasInput) poolID() string { return "" }

func (in *listServiceQuotasInput) validate() error {
	var v validation
	v.requiredString("serviceCode", in.ServiceCode, shape(1, 63, `[a-zA-Z][a-zA-Z0-9-]{1,128}`))
	v.int("maxResults", in.MaxResults, 1, 100)
	return illegalArgument(v.err())
}

type listServiceQuotasOutput struct {
	Quotas    []serviceQuota `json:"Quotas"`
	NextToken *string        `json:"NextToken,omitempty"`
}

// listServiceQuotas pages through the categories' quotas in the order of their codes.
func (e *Emulator) listServiceQuotas(in *listServiceQuotasInput) (*listServiceQuotasOutput, error) {
	if *in.ServiceCode != cognitoServiceCode {
		return nil, &apiError{codeNoSuchResource, msgNoSuchService}
	}
	after, err := pageAfter(in.NextToken)
	if err != nil {
		return nil, &apiError{"InvalidPaginationTokenException", "Invalid pagination token."}
	}
	limit := 100
	if in.MaxResults != nil {
		limit = int(*in.MaxResults)
	}
	out := &listServiceQuotasOutput{Quotas: []serviceQuota{}}
	for _, c := range categories {
		if c.code <= after || in.QuotaCode != nil && *in.QuotaCode != c.code {
			continue
		}
		if len(out.Quotas) == limit {
			out.NextToken = pageToken(out.Quotas[limit-1].QuotaCode)
			break
		}
		out.Quotas = append(out.Quotas, e.serviceQuota(c))
	}
	return out, nil
}
