package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/term"

	"github.com/bulklink/bulklink/call"
	"github.com/bulklink/bulklink/input"
	"github.com/bulklink/bulklink/job"
	"github.com/bulklink/bulklink/quota"
	"github.com/bulklink/bulklink/report"
)

// inputOptions select and read the input file.
type inputOptions struct {
	path       string
	format     string
	userPoolID string
	// regular refuses a stream: an input that must be a file (undo's --report, beside its meta).
	regular bool
}

func (o *inputOptions) register(g *flagGroups) {
	fs := g.group(groupInput)
	fs.StringVar(&o.path, "input", "", "read the requests from `PATH`: .csv, .jsonl or .ndjson, optionally .gz; - reads stdin (with --format)")
	fs.StringVar(&o.format, "format", "", "read the input as `csv|jsonl` (default: by its extension; required for stdin)")
	fs.StringVar(&o.userPoolID, "user-pool-id", "", "the pool `ID` of rows that name none; its region is the default region")
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
	src, err := input.Open(ctx, o.path, e.stdin, input.Options{Format: input.Format(o.format), UserPoolID: o.userPoolID, RegularOnly: o.regular}, spoolDir)
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

func (o *awsOptions) register(g *flagGroups) {
	fs := g.group(groupAWS)
	fs.StringVar(&o.region, "region", "", "call Cognito in `REGION` (default: AWS_REGION, AWS_DEFAULT_REGION, the profile's, else the pool id's)")
	fs.StringVar(&o.profile, "profile", "", "use the shared AWS config's `PROFILE` (default: AWS_PROFILE, or the default profile)")
	fs.StringVar(&o.endpointURL, "endpoint-url", "", "call Cognito at `URL`, e.g. a local bulklink emulate (default: AWS's; AWS_ENDPOINT_URL works too)")
}

// engineOptions tune the pool of workers.
type engineOptions struct {
	rate        float64
	auto        bool    // --rate auto
	margin      float64 // --rate-margin
	readRate    float64
	listRate    float64 // --list-rate: discover's ListUsers calls per second
	concurrency int
	maxAttempts int
	timeout     time.Duration
	grace       time.Duration
	allow       string // --allow-providers, comma-separated
}

func (o *engineOptions) register(g *flagGroups) {
	fs := g.group(groupPace)
	o.rate, o.margin, o.listRate = job.DefaultRate, quota.DefaultMargin, call.DefaultRates[call.UserList]
	fs.Var(rateValue{&o.rate, &o.auto}, "rate", "send at most `N` write calls per second, adapting to throttling below that (0: no ceiling and no pacing, for emulators and benchmarks: throttled rows may fail); auto: the quota's headroom, read every minute")
	fs.Var(marginValue{&o.margin}, "rate-margin", "with --rate auto, leave this `share` of the headroom unused: 10% or 0.1")
	fs.Float64Var(&o.readRate, "read-rate", job.DefaultReadRate, "send at most `N` AdminGetUser calls per second, which settle ambiguous answers (0: unlimited)")
	fs.IntVar(&o.concurrency, "concurrency", job.DefaultConcurrency, "keep up to `N` requests in flight")
	fs.IntVar(&o.maxAttempts, "max-attempts", job.DefaultMaxAttempts, "try each row up to `N` times")
	fs.DurationVar(&o.timeout, "timeout", job.DefaultTimeout, "give up on an attempt after `DURATION`")
	fs.DurationVar(&o.grace, "grace", job.DefaultGrace, "after Ctrl-C or SIGTERM, give rows in flight `DURATION` to finish")
	g.group(groupTrust).StringVar(&o.allow, "allow-providers", "", "link only from the identity providers `NAME,...`: rows of others are invalid (default: any the pool has)")
}

// allowed returns --allow-providers as a list; nil when it is not given.
func (o *engineOptions) allowed() []string { return splitList(o.allow) }

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

// config is the engine's configuration, its calls made through calls.
func (o *engineOptions) config(calls *call.Caller, log *zap.Logger) job.Config {
	return job.Config{Calls: calls, Concurrency: o.concurrency, Grace: o.grace, Logger: log}
}

// caller is the one path to Cognito of a command: every call it makes, paced in its quota
// category (--rate for writes, --read-rate for AdminGetUser, --list-rate for ListUsers),
// retried up to --max-attempts, each attempt under --timeout, its messages scrubbed of
// secrets.
func (o *engineOptions) caller(log *zap.Logger, red *redactor) *call.Caller {
	return call.New(call.Config{Rates: map[call.Category]float64{call.UserUpdate: o.rate, call.UserRead: o.readRate, call.UserList: o.listRate},
		MaxAttempts: o.maxAttempts, Timeout: o.timeout, Logger: log, Redact: red.String})
}

// outputOptions shape what an operator sees on stderr.
type outputOptions struct {
	logFormat     string
	logLevel      string
	progress      string
	progressEvery time.Duration
	metricsPath   string

	metrics *metricsWriter // --metrics-file, once openMetrics opened it
	// Set by logger:
	json bool        // the log is JSON lines
	sink *swapWriter // where the log goes: stderr, or above the live bar
	enc  zapcore.Encoder
	red  *redactor
}

func (o *outputOptions) register(g *flagGroups) {
	fs := g.group(groupOutput)
	fs.StringVar(&o.logFormat, "log-format", "auto", "log as `auto|console|json`: auto is console on a terminal, JSON otherwise")
	fs.StringVar(&o.logLevel, "log-level", "info", "log at `debug|info|warn|error` and above")
	fs.StringVar(&o.progress, "progress", "auto", "show progress `auto|always|never`: auto draws a live bar on a terminal and logs a line every --progress-interval otherwise; always draws the bar even without a terminal")
	fs.DurationVar(&o.progressEvery, "progress-interval", 30*time.Second, "without a live bar, log progress every `DURATION`")
	fs.StringVar(&o.metricsPath, "metrics-file", "", "write Prometheus metrics to `PATH`, a *.prom file of node_exporter's textfile collector, when rows start, every minute and at the end")
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

// live reports whether progress is the live bar.
func (o *outputOptions) live(e env) bool {
	return o.progress == "always" || o.progress == "auto" && isTerminal(e.stderr)
}

// logger builds the operator's log: console lines on a terminal, JSON lines otherwise,
// every entry scrubbed of secrets by red, and inert (inertEncoder).
func (o *outputOptions) logger(e env, red *redactor) *zap.Logger {
	level, _ := zapcore.ParseLevel(o.logLevel)
	console := o.logFormat == "console" || o.logFormat == "auto" && isTerminal(e.stderr)
	o.json, o.red = !console, red
	o.sink = newSwapWriter(e.stderr)
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
	o.enc = inertEncoder{enc, console}
	return zap.New(red.core(zapcore.NewCore(o.enc, zapcore.AddSync(o.sink), level)))
}

func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// checkReportDir refuses a report whose folder does not exist, before anything is made
// beside it: the lock, the meta, the summary.
func checkReportDir(flag, path string) error {
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case err != nil:
		return usagef("%s %s: the folder %s does not exist: create it first (mkdir -p %s)", flag, path, dir, dir)
	case !fi.IsDir():
		return usagef("%s %s: %s is not a folder", flag, path, dir)
	}
	return nil
}

// terminalWidth returns the width of the terminal w writes to, 0 when it is none.
func terminalWidth(w any) int {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return 0
	}
	width, _, err := term.GetSize(int(f.Fd()))
	if err != nil {
		return 0
	}
	return width
}

// errorf prints a command's error for the operator, on one line, scrubbed of secrets and
// inert: an error may quote a file's name, or what an input or a report holds.
func errorf(e env, cmd string, err error) {
	var fe *job.FatalError
	if errors.As(err, &fe) && fe.Line == 0 {
		fmt.Fprintf(e.stderr, "bulklink %s: fatal: %s\n", cmd, e.line(fe.Message))
		return
	}
	fmt.Fprintf(e.stderr, "bulklink %s: %s\n", cmd, e.line(err.Error()))
}

// serve is the frame of a command that writes a report (run, undo, validate): its flags
// checked, its metrics file opened, its logger and signals set up, then body, whose summary
// and exit code finish tells. It returns the exit code.
func (o *outputOptions) serve(ctx context.Context, e env, name string, check func() error,
	body func(stop, kill context.Context, log *zap.Logger) (sum *report.Summary, code int, more []zap.Field)) int {
	if err := check(); err != nil {
		errorf(e, name, err)
		return exitUsage
	}
	if err := o.openMetrics(name); err != nil {
		errorf(e, name, err)
		return exitUsage
	}
	log := o.logger(e, e.red)
	defer log.Sync()
	stop, kill, release := withSignals(ctx, e.signals)
	defer release()
	sum, code, more := body(stop, kill, log)
	o.finish(e, log, sum, code, more...)
	return code
}

// finish tells the operator how a command ended: its summary, for a person, or when logs
// are JSON, as the last record of the log, with the exit code, whatever --log-level says.
// sum is nil when the command could not start.
func (o *outputOptions) finish(e env, log *zap.Logger, sum *report.Summary, code int, more ...zap.Field) {
	if o.metrics != nil {
		o.metrics.final(sum, code, log)
	}
	if !o.json {
		if sum != nil {
			// The summary quotes the run's error codes (a Cognito endpoint's, or a resumed
			// report's, which anyone can edit) and the message it was aborted with.
			var b strings.Builder
			sum.Print(&b)
			fmt.Fprint(e.stderr, e.text(b.String()))
		}
		return
	}
	_ = log.Sync()
	level := zapcore.InfoLevel
	switch code {
	case exitOK:
	case exitRows:
		level = zapcore.WarnLevel
	default:
		level = zapcore.ErrorLevel
	}
	always := zap.New(o.red.core(zapcore.NewCore(o.enc, zapcore.AddSync(o.sink), zapcore.DebugLevel)))
	fields := []zap.Field{zap.Int("exit_code", code), zap.String("state", stateOf(code))}
	if sum != nil {
		rows, byStatus, byCode := sum.Counts()
		fields = append(fields, zap.String("command", sum.Command), zap.String("input", sum.Input),
			zap.String("report", sum.Report), zap.Int64("rows", rows-sum.Resumed), zap.Int64("rows_in_report", rows),
			zap.Any("by_status", byStatus), zap.Any("by_error_code", byCode),
			zap.Float64("seconds", math.Round(sum.Seconds*1000)/1000), zap.Float64("rows_per_sec", math.Round(sum.RowsPerSec*10)/10),
			zap.Int64("calls", sum.Calls), zap.Int64("retries", sum.Retries), zap.Int64("throttles", sum.Throttles),
			zap.Int64("verifications", sum.Checks), zap.Int64("resumed", sum.Resumed), zap.Int64("skipped", sum.Skipped))
		if sum.PoolChecks != "" {
			fields = append(fields, zap.String("pool_checks", sum.PoolChecks))
		}
		if sum.Aborted != "" {
			fields = append(fields, zap.String("aborted", sum.Aborted))
		}
	}
	always.Check(level, "summary").Write(append(fields, more...)...)
	_ = always.Sync()
}
