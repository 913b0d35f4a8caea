package main

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas"
	"go.uber.org/zap"

	"github.com/bulklink/bulklink/call"
	"github.com/bulklink/bulklink/input"
	"github.com/bulklink/bulklink/job"
	"github.com/bulklink/bulklink/quota"
)

// autoRate is --rate auto's part of a run or an undo: what it reads the quota and the usage
// with.
type autoRate struct {
	margin   float64
	api      *cognito // its configuration, copied per region, and its clock skew
	endpoint string   // --endpoint-url, for every service; "" for AWS's own
}

// autoRate returns --rate auto's part for a run whose Cognito is api; nil when --rate is a
// number.
func (o *engineOptions) autoRate(a *awsOptions, api *cognito) *autoRate {
	if !o.auto {
		return nil
	}
	return &autoRate{margin: o.margin, api: api, endpoint: a.endpointURL}
}

// clients builds the Service Quotas and CloudWatch clients of a region from Cognito's
// configuration (cognito.regionConfig): the same credentials, HTTP client and endpoint.
// Their calls go through the command's Caller, like Cognito's, with the SDK's retries off.
func (a *autoRate) clients(region string) quota.Clients {
	cfg := a.api.regionConfig(region)
	return quota.Clients{
		Quotas: servicequotas.NewFromConfig(cfg, func(o *servicequotas.Options) {
			if a.endpoint != "" {
				o.BaseEndpoint = aws.String(a.endpoint)
			}
		}),
		Metrics: cloudwatch.NewFromConfig(cfg, func(o *cloudwatch.Options) {
			if a.endpoint != "" {
				o.BaseEndpoint = aws.String(a.endpoint)
			}
		}),
	}
}

// start sets the ceiling of every region the pools are in from a first read, then keeps it
// at the headroom, read every minute, until ctx ends or stop is called.
func (a *autoRate) start(ctx context.Context, j *job.Job, calls *call.Caller, pools map[string]int64, log *zap.Logger) (stop func()) {
	clients := map[string]quota.Clients{}
	for pool := range pools {
		if r := input.PoolRegion(pool); r != "" {
			if _, ok := clients[r]; !ok {
				clients[r] = a.clients(r)
			}
		}
	}
	auto := quota.New(j, clients, quota.Config{Margin: a.margin, Logger: log, Offset: a.api.skew.Offset, Calls: calls})
	auto.Read(ctx)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { auto.Run(ctx) })
	return func() { cancel(); wg.Wait() }
}
