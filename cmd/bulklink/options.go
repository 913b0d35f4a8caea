package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"strings"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/term"

	"github.com/bulklink/bulklink/input"
	"github.com/bulklink/bulklink/job"
	"github.com/bulklink/bulklink/quota"
)

// inputOptions select and read the input file.
type inputOptions struct {
	path       string
	format     string
	userPoolID string
}

func (o *inputOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&o.path, "input", "", "input file (.csv, .jsonl, .ndjson, optionally .gz), or - for stdin")
	fs.StringVar(&o.format, "format", "", "input format, csv or jsonl (default: from the extension; required for -)")
	fs.StringVar(&o.userPoolID, "user-pool-id", "", "user pool of rows that carry none")
}

// inputFormat is the input's format: --format, or else the file's extension.
func (o *inputOptions) inputFormat() input.Format {
	if o.format != "" {
		return input.Format(o.format)
	}
	f, _ := input.FormatOf(o.path)
	return f
}

// open opens the input once. A stream is spooled into spoolDir.
func (o *inputOptions) open(ctx context.Context, e env, spoolDir string) (*input.Source, error) {
	if o.path == "" {
		return nil, usagef("--input is required")
	}
	src, err := input.Open(ctx, o.path, e.stdin, input.Options{Format: input.Format(o.format), UserPoolID: o.userPoolID}, spoolDir)
	if err != nil {
		return nil, usageError{err}
	}
	return src, nil
}

// awsOptions reach Cognito: the SDK's default chain, with the AWS CLI's overrides.
type awsOptions struct {
	region, profile, endpointURL string
	// fallbackRegion is used when nothing else gives a region (undo: the run's).
	fallbackRegion string
}

func (o *awsOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&o.region, "region", "", "AWS region (default: from the environment or profile)")
	fs.StringVar(&o.profile, "profile", "", "named profile from the shared AWS config")
	fs.StringVar(&o.endpointURL, "endpoint-url", "", "Cognito `URL`, e.g. of a local bulklink emulate (default: AWS's; AWS_ENDPOINT_URL works too)")
}

// engineOptions tune the pool of workers.
type engineOptions struct {
	rate        float64
	auto        bool    // --rate auto
	margin      float64 // --rate-margin
	readRate    float64
	concurrency int
	maxAttempts int
	timeout     time.Duration
	grace       time.Duration
	allow       string // --allow-providers, comma-separated
}

func (o *engineOptions) register(fs *flag.FlagSet) {
	o.rate, o.margin = job.DefaultRate, quota.DefaultMargin
	fs.Var(rateValue{&o.rate, &o.auto}, "rate", "write calls per second, `N` or auto: a ceiling under which the pace adapts to throttling (0: no ceiling and no pacing, for emulators and benchmarks: throttled rows may fail); auto: the quota's headroom, read every minute")
	fs.Var(marginValue{&o.margin}, "rate-margin", "with --rate auto, the `share` of the headroom left unused: 10% or 0.1")
	fs.Float64Var(&o.readRate, "read-rate", job.DefaultReadRate, "AdminGetUser calls per second, used to settle ambiguous answers (0: unlimited)")
	fs.IntVar(&o.concurrency, "concurrency", job.DefaultConcurrency, "requests in flight")
	fs.IntVar(&o.maxAttempts, "max-attempts", job.DefaultMaxAttempts, "attempts per row")
	fs.DurationVar(&o.timeout, "timeout", job.DefaultTimeout, "timeout of one attempt")
	fs.DurationVar(&o.grace, "grace", job.DefaultGrace, "after Ctrl-C or SIGTERM, how long rows in flight may take to finish")
	fs.StringVar(&o.allow, "allow-providers", "", "comma-separated identity providers rows may link from; rows of others are invalid (default: any the pool has)")
}

// allowed returns --allow-providers as a list; nil when it is not given.
func (o *engineOptions) allowed() []string {
	if strings.TrimSpace(o.allow) == "" {
		return nil
	}
	var names []string
	for _, n := range strings.Split(o.allow, ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	return names
}

func (o *engineOptions) validate() error {
	switch {
	case math.IsNaN(o.rate) || math.IsInf(o.rate, 0) || math.IsNaN(o.readRate) || math.IsInf(o.readRate, 0):
		return usagef("--rate and --read-rate must be numbers (0: unlimited)")
	case o.rate < 0:
		return usagef("--rate must not be negative")
	case o.readRate < 0:
		return usagef("--read-rate must not be negative")
	case o.concurrency < 1 || o.concurrency > 1024:
		return usagef("--concurrency must be between 1 and 1024")
	case o.maxAttempts < 1:
		return usagef("--max-attempts must be at least 1")
	case o.timeout <= 0:
		return usagef("--timeout must be positive")
	case o.grace <= 0:
		return usagef("--grace must be positive")
	case strings.TrimSpace(o.allow) != "" && len(o.allowed()) == 0:
		return usagef("--allow-providers names no provider")
	}
	return nil
}

func (o *engineOptions) config(log *zap.Logger) job.Config {
	return job.Config{
		Rate: o.rate, ReadRate: o.readRate, Concurrency: o.concurrency,
		MaxAttempts: o.maxAttempts, Timeout: o.timeout, Grace: o.grace, Logger: log,
	}
}

// outputOptions shape what an operator sees on stderr.
type outputOptions struct {
	logFormat     string
	logLevel      string
	progress      string
	progressEvery time.Duration
}

func (o *outputOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&o.logFormat, "log-format", "auto", "log format: auto (console on a terminal, JSON otherwise), console or json")
	fs.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&o.progress, "progress", "auto", "progress: auto (a live line on a terminal, log lines otherwise), always (the live line) or never")
	fs.DurationVar(&o.progressEvery, "progress-interval", 30*time.Second, "how often progress is logged when it is not shown live")
}

func (o *outputOptions) validate() error {
	switch o.logFormat {
	case "auto", "console", "json":
	default:
		return usagef("--log-format must be auto, console or json")
	}
	switch o.progress {
	case "auto", "always", "never":
	default:
		return usagef("--progress must be auto, always or never")
	}
	if o.progressEvery <= 0 {
		return usagef("--progress-interval must be positive")
	}
	if _, err := zapcore.ParseLevel(o.logLevel); err != nil {
		return usagef("--log-level: %w", err)
	}
	return nil
}

// logger builds the operator's log: console lines on a terminal, JSON lines otherwise,
// every entry scrubbed of secrets by red.
func (o *outputOptions) logger(e env, red *redactor) *zap.Logger {
	level, _ := zapcore.ParseLevel(o.logLevel)
	console := o.logFormat == "console" || o.logFormat == "auto" && isTerminal(e.stderr)
	var enc zapcore.Encoder
	if console {
		ec := zap.NewDevelopmentEncoderConfig()
		ec.EncodeTime = zapcore.TimeEncoderOfLayout("15:04:05.000")
		ec.EncodeLevel = zapcore.CapitalColorLevelEncoder
		if !isTerminal(e.stderr) {
			ec.EncodeLevel = zapcore.CapitalLevelEncoder
		}
		enc = zapcore.NewConsoleEncoder(ec)
	} else {
		ec := zap.NewProductionEncoderConfig()
		ec.EncodeTime = zapcore.RFC3339NanoTimeEncoder
		ec.EncodeDuration = zapcore.StringDurationEncoder
		enc = zapcore.NewJSONEncoder(ec)
	}
	return zap.New(red.core(zapcore.NewCore(enc, zapcore.AddSync(e.stderr), level)))
}

func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// errorf prints a command's error for the operator, scrubbed of secrets.
func errorf(e env, cmd string, err error) {
	var fe *job.FatalError
	if errors.As(err, &fe) && fe.Line == 0 {
		fmt.Fprintf(e.stderr, "bulklink %s: fatal: %s\n", cmd, e.red.String(fe.Message))
		return
	}
	fmt.Fprintf(e.stderr, "bulklink %s: %s\n", cmd, e.red.String(err.Error()))
}
