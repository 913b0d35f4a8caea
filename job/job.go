// Package job runs link requests against Cognito: one rate limiter paces every write call,
// a pool of workers sends them, each row retries with backoff, every answer is classified
// in one place, and ambiguous answers are settled by reading the destination user.
//
// A row's outcome is a report.Record handed to one sink goroutine. A row stopped before its
// outcome is known (Ctrl-C, a fatal condition elsewhere) yields no record, so a resumed run
// sends it again and the AdminGetUser check settles it.
package job

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"github.com/bulklink/bulklink/input"
	"github.com/bulklink/bulklink/report"
)

// API is the part of the Cognito client the job calls; *cognitoidentityprovider.Client
// implements it.
type API interface {
	AdminLinkProviderForUser(context.Context, *cip.AdminLinkProviderForUserInput, ...func(*cip.Options)) (*cip.AdminLinkProviderForUserOutput, error)
	AdminGetUser(context.Context, *cip.AdminGetUserInput, ...func(*cip.Options)) (*cip.AdminGetUserOutput, error)
}

// Source yields input rows; io.EOF ends it. input.Reader implements it.
type Source interface {
	Next() (input.Row, error)
}

// Config tunes a Job. Zero values take the defaults.
type Config struct {
	Rate        float64       // write calls per second, a ceiling; ≤ 0 is unlimited
	ReadRate    float64       // AdminGetUser calls per second; ≤ 0 is unlimited
	Concurrency int           // calls in flight
	MaxAttempts int           // link attempts per row
	Timeout     time.Duration // per attempt
	Backoff     Backoff
	// Grace is how long rows in flight may take to finish once the run is told to stop.
	Grace  time.Duration
	Logger *zap.Logger
	Now    func() time.Time
	Rand   func() float64 // uniform in [0,1), for jitter
}

// Defaults used for zero Config fields.
const (
	DefaultRate        = 10
	DefaultReadRate    = 20
	DefaultConcurrency = 8
	DefaultMaxAttempts = 8
	DefaultTimeout     = 10 * time.Second
	DefaultGrace       = 30 * time.Second
)

func (c *Config) setDefaults() {
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Backoff == (Backoff{}) {
		c.Backoff = DefaultBackoff
	}
	if c.Grace <= 0 {
		c.Grace = DefaultGrace
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Rand == nil {
		c.Rand = rand.Float64
	}
}

// Stats are a run's live counters, safe to read while it runs.
type Stats struct {
	Rows      atomic.Int64 // records handed to the sink
	OK        atomic.Int64 // linked or already linked
	Failed    atomic.Int64 // failed or invalid
	Calls     atomic.Int64 // link attempts sent
	Throttles atomic.Int64 // attempts answered TooManyRequestsException
	Retries   atomic.Int64 // attempts after a row's first
	Checks    atomic.Int64 // AdminGetUser calls made to settle a row
}

// Job links rows. Build one with New; it runs once.
type Job struct {
	api   API
	cfg   Config
	pace  *pacer
	reads *rate.Limiter
	Stats Stats
}

// New returns a Job that calls api.
func New(api API, cfg Config) *Job {
	cfg.setDefaults()
	reads := rate.NewLimiter(rate.Inf, 1)
	if cfg.ReadRate > 0 {
		reads = rate.NewLimiter(rate.Limit(cfg.ReadRate), 1)
	}
	return &Job{api: api, cfg: cfg, pace: newPacer(cfg.Rate, cfg.Logger, cfg.Now), reads: reads}
}

// Rate is the current pace of write calls per second (+Inf when unlimited).
func (j *Job) Rate() float64 { return j.pace.Rate() }

// FatalError stops a run: a condition no row can succeed under, such as a missing pool or
// credentials that are refused. The report stays consistent and the run can be resumed.
type FatalError struct {
	Line    int    // the row whose call revealed it
	Code    string // Cognito's error code, or CredentialsError/ConfigError
	Message string
	Err     error
}

func (e *FatalError) Error() string {
	return fmt.Sprintf("fatal: %s: %s (row at line %d)", e.Code, e.Message, e.Line)
}

func (e *FatalError) Unwrap() error { return e.Err }

// ErrStopped reports that the run was told to stop before every row was done.
var ErrStopped = errors.New("stopped before the input was done")

// errCancelled marks a row given up without an outcome; it yields no record.
var errCancelled = errors.New("row cancelled")

// Run links every row of src and hands each outcome to sink, from one goroutine. When ctx
// is done it stops taking rows, lets rows in flight finish within the grace period, and
// returns ErrStopped. A fatal condition stops it the same way with a *FatalError. Rows
// that were not finished have no record.
func (j *Job) Run(ctx context.Context, src Source, sink func(*report.Record) error) error {
	// intake ends when the run is told to stop or hits a fatal condition: no new row, no new
	// attempt. hard ends calls in flight: after the grace period, or when the sink fails.
	intake, stopIntake := context.WithCancelCause(ctx)
	defer stopIntake(nil)
	hard, abort := context.WithCancel(context.WithoutCancel(ctx))
	defer abort()
	stopGrace := context.AfterFunc(intake, func() {
		t := time.AfterFunc(j.cfg.Grace, abort)
		context.AfterFunc(hard, func() { t.Stop() })
	})
	defer stopGrace()

	work := make(chan input.Row, j.cfg.Concurrency)
	results := make(chan *report.Record, 2*j.cfg.Concurrency)
	var (
		wg       sync.WaitGroup
		fatalMu  sync.Mutex
		fatal    error
		readErr  error
		sinkErr  error
		setFatal = func(err error) {
			fatalMu.Lock()
			if fatal == nil {
				fatal = err
			}
			fatalMu.Unlock()
			stopIntake(err)
		}
	)

	wg.Go(func() {
		defer close(work)
		for intake.Err() == nil {
			row, err := src.Next()
			if err == io.EOF {
				return
			}
			if err != nil {
				readErr = fmt.Errorf("read input: %w", err)
				stopIntake(readErr)
				return
			}
			if !row.Valid() {
				select {
				case results <- j.invalid(&row):
				case <-intake.Done():
				}
				continue
			}
			select {
			case work <- row:
			case <-intake.Done():
				return
			}
		}
	})
	for range j.cfg.Concurrency {
		wg.Go(func() {
			for row := range work {
				rec, err := j.link(intake, hard, &row)
				var fe *FatalError
				switch {
				case errors.As(err, &fe):
					setFatal(fe)
				case err != nil:
					// cancelled: no outcome, no record
				default:
					results <- rec
				}
			}
		})
	}
	go func() { wg.Wait(); close(results) }()

	for rec := range results {
		if sinkErr != nil {
			continue // drain so the workers can finish
		}
		if err := sink(rec); err != nil {
			sinkErr = fmt.Errorf("write report: %w", err)
			stopIntake(sinkErr)
			abort()
			continue
		}
		j.Stats.Rows.Add(1)
		if rec.Status.OK() {
			j.Stats.OK.Add(1)
		} else {
			j.Stats.Failed.Add(1)
		}
	}
	switch {
	case sinkErr != nil:
		return sinkErr
	case readErr != nil:
		return readErr
	case fatal != nil:
		return fatal
	case ctx.Err() != nil:
		return ErrStopped
	}
	return nil
}

func (j *Job) invalid(row *input.Row) *report.Record {
	return &report.Record{
		Line:         row.Line,
		Status:       report.Invalid,
		ErrorMessage: row.Invalid,
		Request:      row.Request,
		Extra:        row.Extra,
		FinishedAt:   j.cfg.Now(),
	}
}

// sleep waits d unless ctx ends first.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
