package job_test

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/bulklink/bulklink/call"
	"github.com/bulklink/bulklink/emulator"
	"github.com/bulklink/bulklink/job"
	"github.com/bulklink/bulklink/report"
)

// instant is a Cognito that links everything at once: it measures the engine alone. It is
// for benchmarks only; tests drive the real SDK client over HTTP.
type instant struct{ call.Cognito }

func (instant) AdminLinkProviderForUser(context.Context, *cip.AdminLinkProviderForUserInput, ...func(*cip.Options)) (*cip.AdminLinkProviderForUserOutput, error) {
	return &cip.AdminLinkProviderForUserOutput{}, nil
}

func (instant) AdminDisableProviderForUser(context.Context, *cip.AdminDisableProviderForUserInput, ...func(*cip.Options)) (*cip.AdminDisableProviderForUserOutput, error) {
	return &cip.AdminDisableProviderForUserOutput{}, nil
}

func (instant) AdminGetUser(context.Context, *cip.AdminGetUserInput, ...func(*cip.Options)) (*cip.AdminGetUserOutput, error) {
	return &cip.AdminGetUserOutput{}, nil
}

// reportSink encodes records as a real CSV report, to io.Discard.
type reportSink struct{ w *report.Writer }

func (s reportSink) Write(r *report.Record) error { return s.w.Write(r) }
func (s reportSink) Flush() error                 { return s.w.Flush() }
func (s reportSink) Sync() error                  { return s.w.Flush() }

func newReportSink(b *testing.B) reportSink {
	w, err := report.NewWriter(io.Discard, report.Layout{Format: report.CSV}, true)
	if err != nil {
		b.Fatal(err)
	}
	return reportSink{w}
}

// BenchmarkEngineInProcess: rows/s through source → pool → report with a zero-latency
// linker, rate unlimited.
func BenchmarkEngineInProcess(b *testing.B) {
	for _, c := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("concurrency=%d", c), func(b *testing.B) {
			j := job.New(instant{}, job.Config{Calls: calls(0), Concurrency: c})
			b.ReportAllocs()
			start := time.Now()
			if err := j.Run(context.Background(), &rows{pool: pool, n: b.N}, newReportSink(b)); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "rows/s")
		})
	}
}

// BenchmarkEngineSDK: rows/s through the real SDK client over loopback HTTP to the
// emulator, rate unlimited.
func BenchmarkEngineSDK(b *testing.B) {
	for _, c := range []int{8, 32} {
		b.Run(fmt.Sprintf("concurrency=%d", c), func(b *testing.B) {
			_, api := setup(b, emulator.Options{}, b.N)
			j := job.New(api, job.Config{Calls: calls(0), Concurrency: c})
			b.ResetTimer()
			start := time.Now()
			if err := j.Run(context.Background(), &rows{pool: pool, n: b.N}, newReportSink(b)); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "rows/s")
		})
	}
}
