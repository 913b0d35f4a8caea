// Package job runs an operation (Link, Unlink) on every row of an input against Cognito: one
// rate limiter paces every write call, a pool of workers sends them, each row retries with
// backoff, every answer is classified in one place, and answers that leave the outcome unknown
// are settled by reading the destination user.
//
// A row's outcome is a report.Record handed to one sink goroutine. A row stopped before its
// outcome is known (Ctrl-C, a fatal condition elsewhere) yields no record, so a resumed run
// sends it again and the read of the user settles it. Rows that repeat one another (the same
// identity for the same user, plan.Item.Repeat) run one after the other, in input order.
package job

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/bulklink/bulklink/call"
	"github.com/bulklink/bulklink/plan"
	"github.com/bulklink/bulklink/report"
)

// API is the part of the Cognito client the job calls (call.Cognito);
// *cognitoidentityprovider.Client implements it.
type API = call.Cognito

// Source yields the rows of an input as the plan judged them; io.EOF ends it. plan.Planned
// implements it.
type Source interface {
	Next() (plan.Item, error)
}

// Config tunes a Job. Zero values take the defaults.
type Config struct {
	// Op is what the job does to each row: Link (the default) or Unlink.
	Op Operation
	// Calls makes every call, paced, retried and counted (package call); nil is a Caller
	// with call's defaults. Share it with the other readers of a command (pool reads,
	// --rate auto), so that they draw from the same buckets and are counted together.
	Calls *call.Caller
	// Since is when the report began: links made since, by this report's runs, are told
	// apart from older ones (Link.Settle). Zero: none is.
	Since time.Time
	// Skew estimates the offset of Cognito's clock, to compare Since with its dates; nil
	// assumes the clocks agree within MaxSkew.
	Skew *Skew
	// Started, when set, is told of each row before its first write call, and says which
	// rows an earlier run of the report began (report.Started).
	Started Started

	Concurrency int // rows in flight
	// OneRowPerUser runs the rows of one destination user one after the other, in input
	// order (run --merge-signed-in: a merge's checks of its destination hold only while no
	// other row changes it).
	OneRowPerUser bool
	// Grace is how long rows in flight may take to finish once the run is told to stop.
	Grace time.Duration
	// MaxFailures stops the run (a *FatalError) when too many rows fail.
	MaxFailures Threshold
	// SyncEvery is how often the sink is synced while records arrive: a machine crash
	// loses at most this much of the report, and those rows are sent again on resume.
	SyncEvery time.Duration
	Logger    *zap.Logger
	Now       func() time.Time
}

// Started is the journal of the rows whose writes began, across runs of a report
// (report.Started): a row is noted before its first write call (Start), and before each
// later step of an operation that takes several (Step); a resumed run learns which rows an
// earlier one began (Before) and the last step each reached (Reached).
type Started interface {
	Start(line int) error
	Step(line int, step string) error
	Before(line int) bool
	Reached(line int) string
}

// Defaults used for zero Config fields.
const (
	DefaultRate        = 10
	DefaultReadRate    = 20
	DefaultConcurrency = 8
	DefaultMaxAttempts = call.DefaultMaxAttempts
	DefaultTimeout     = call.DefaultTimeout
	DefaultGrace       = 20 * time.Second
	DefaultSyncEvery   = time.Second
)

func (c *Config) setDefaults() {
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.Grace <= 0 {
		c.Grace = DefaultGrace
	}
	if c.SyncEvery <= 0 {
		c.SyncEvery = DefaultSyncEvery
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Op == nil {
		c.Op = Link{}
	}
	if c.Calls == nil {
		c.Calls = call.New(call.Config{Logger: c.Logger, Now: c.Now})
	}
}

// Stats are a run's live counters, safe to read while it runs.
type Stats struct {
	Read    atomic.Int64 // rows taken from the input
	Rows    atomic.Int64 // records handed to the sink
	OK      atomic.Int64 // linked or already linked
	Failed  atomic.Int64 // failed
	Invalid atomic.Int64 // invalid
	calls   *call.Caller
}

// Calls is the number of write calls sent (every attempt counted).
func (s *Stats) Calls() int64 { return s.sum(func(c *call.Count) int64 { return c.Calls.Load() }) }

// Throttles is the number of write calls answered TooManyRequestsException.
func (s *Stats) Throttles() int64 {
	return s.sum(func(c *call.Count) int64 { return c.Throttles.Load() })
}

// Retries is the number of write attempts after a call's first.
func (s *Stats) Retries() int64 { return s.sum(func(c *call.Count) int64 { return c.Retries.Load() }) }

// Checks is the number of AdminGetUser calls made: to settle a row, or to read it first.
func (s *Stats) Checks() int64 {
	if s.calls == nil {
		return 0
	}
	return s.calls.Count(call.KindGetUser).Calls.Load()
}

// sum adds f of every write kind's counts; the zero Stats has none.
func (s *Stats) sum(f func(*call.Count) int64) int64 {
	var n int64
	if s.calls == nil {
		return 0
	}
	for _, k := range call.Kinds {
		if k.Write {
			n += f(s.calls.Count(k))
		}
	}
	return n
}

// Job runs an operation on rows. Build one with New; it runs once.
type Job struct {
	api      API
	op       Operation
	cfg      Config
	calls    *call.Caller
	stopped  chan struct{}
	stopOnce sync.Once
	breaker  breaker
	Stats    Stats
}

// New returns a Job that calls api.
func New(api API, cfg Config) *Job {
	cfg.setDefaults()
	return &Job{api: api, op: cfg.Op, cfg: cfg, calls: cfg.Calls, stopped: make(chan struct{}),
		breaker: breaker{limit: max(10, cfg.Concurrency)}, Stats: Stats{calls: cfg.Calls}}
}

// Rate is the current pace of write calls per second, over every region (+Inf when
// unlimited).
func (j *Job) Rate() float64 { return j.calls.Rate() }

// SetCeiling sets the ceiling of a region's write calls per second, under which the pace
// still adapts to throttling: --rate auto sets it from the quota's headroom, again and again.
// Safe to call while the job runs.
func (j *Job) SetCeiling(region string, perSecond float64) { j.calls.SetCeiling(region, perSecond) }

// Calls is the number of write calls sent so far to the pools of a region, throttled ones
// included: the account's usage less these is the application's (--rate auto). Safe to
// call while the job runs.
func (j *Job) Calls(region string) int64 { return j.calls.Writes(region) }

// FatalError stops a run (call.FatalError).
type FatalError = call.FatalError

// ErrStopped reports that the run was told to stop before every row was done.
var ErrStopped = errors.New("stopped before the input was done: run the same command to resume")

// errCancelled marks a row given up without an outcome; it yields no record.
var errCancelled = call.ErrCancelled

// Sink receives every record of a run, from one goroutine.
type Sink interface {
	Write(*report.Record) error
	// Flush hands the records written so far to the operating system, where they survive
	// the process (kill -9). Run calls it whenever no other record is waiting.
	Flush() error
	// Sync puts them on stable storage, where they survive the machine. Run calls it every
	// SyncEvery while records arrive, and before it returns.
	Sync() error
}

// Stop tells a running job to take no more rows: rows in flight get the grace period to
// finish, then Run returns ErrStopped. Safe to call more than once, from any goroutine.
func (j *Job) Stop() { j.stopOnce.Do(func() { close(j.stopped) }) }

// Run links every row of src and hands each outcome to sink. Cancelling ctx ends
// everything at once, calls in flight included; Stop ends it gently. A fatal condition
// stops it like Stop and returns a *FatalError. Rows not finished have no record: a resumed
// run sends them again.
func (j *Job) Run(ctx context.Context, src Source, sink Sink) error {
	// intake ends on Stop or a fatal condition: no new row, no new attempt. hard ends calls
	// in flight: with ctx, the grace period after intake ends, or a sink failure.
	hard, abort := context.WithCancel(ctx)
	defer abort()
	intake, stopIntake := context.WithCancelCause(hard)
	defer stopIntake(nil)
	go func() {
		select {
		case <-j.stopped:
			stopIntake(ErrStopped)
		case <-intake.Done():
		}
	}()
	stopGrace := context.AfterFunc(intake, func() {
		t := time.AfterFunc(j.cfg.Grace, abort)
		context.AfterFunc(hard, func() { t.Stop() })
	})
	defer stopGrace()

	type item struct {
		row  plan.Item
		wait <-chan struct{} // a row it repeats, still in flight
		done func()
	}
	var (
		work    = make(chan item, j.cfg.Concurrency)
		results = make(chan *report.Record, 2*j.cfg.Concurrency)
		errMu   sync.Mutex
		runErr  error // the first of: a fatal condition, a read error
		eof     atomic.Bool
		reps    = repeats{byUser: j.cfg.OneRowPerUser}
	)
	fail := func(err error) {
		errMu.Lock()
		if runErr == nil {
			runErr = err
		}
		errMu.Unlock()
		stopIntake(err)
	}
	broken := func(err error) { fail(err); abort() } // the report cannot be written: cut calls too

	// The reader is not waited for: it may be blocked in a read (a quiet pipe) when the run
	// stops. It never blocks on a send once intake has ended.
	go func() {
		defer close(work)
		for intake.Err() == nil {
			row, err := src.Next()
			if err == io.EOF {
				eof.Store(true)
				return
			}
			if err != nil {
				fail(&ReadError{err})
				return
			}
			j.Stats.Read.Add(1)
			it := item{row: row}
			it.wait, it.done = reps.register(&row)
			select {
			case work <- it:
			case <-intake.Done():
				it.done()
				return
			}
		}
	}()
	var workers sync.WaitGroup
	for range j.cfg.Concurrency {
		workers.Go(func() {
			for {
				var it item
				var ok bool
				select {
				case it, ok = <-work:
				case <-intake.Done():
				}
				if !ok {
					return
				}
				rec, err := j.afterRepeat(intake, hard, &it.row, it.wait)
				it.done()
				var fe *FatalError
				var se *sinkError
				switch {
				case errors.As(err, &fe):
					fail(fe)
				case errors.As(err, &se):
					broken(se.err) // the report's files cannot be written: stop at once
				case err == nil:
					results <- rec // the loop below drains results until it is closed
				case !errors.Is(err, errCancelled):
					// An error no case above knows would leave the row with no record and the
					// run none the wiser: it stops the run, naming the row.
					fail(&FatalError{Line: it.row.Line, Code: "InternalError", Err: err, Message: fmt.Sprintf(
						"the row could not be done: %v; run the same command to resume", err)})
				}
			}
		})
	}
	go func() { workers.Wait(); close(results) }()

	sinkErr := j.drain(results, sink, broken, fail)
	errMu.Lock()
	defer errMu.Unlock()
	finished := eof.Load() && j.Stats.Rows.Load() == j.Stats.Read.Load()
	switch {
	case sinkErr != nil:
		return sinkErr
	case finished:
		return nil // whatever stopped the run came after the last row: nothing is left to do
	case runErr != nil:
		return runErr
	case intake.Err() != nil:
		return ErrStopped
	}
	return nil
}

// drain hands every result to sink: flushed whenever no other record waits, so that a
// killed process loses none it wrote, and synced every SyncEvery and at the end. A sink
// failure cuts the run at once (broken), calls in flight included: their records could not
// be kept; drain goes on taking results, so that workers can finish. A record past the
// failure threshold stops the run gently (stop).
func (j *Job) drain(results <-chan *report.Record, sink Sink, broken, stop func(error)) error {
	tick := time.NewTicker(j.cfg.SyncEvery)
	defer tick.Stop()
	var err error
	unsynced := false
	for {
		select {
		case rec, ok := <-results:
			if !ok {
				if err == nil && unsynced {
					err = wrapSink(sink.Sync())
				}
				return err
			}
			if err != nil {
				continue
			}
			if err = wrapSink(sink.Write(rec)); err == nil && len(results) == 0 {
				err = wrapSink(sink.Flush())
			}
			if err != nil {
				broken(err)
				continue
			}
			unsynced = true
			j.count(rec, stop)
		case <-tick.C:
			if err == nil && unsynced {
				unsynced = false
				if err = wrapSink(sink.Sync()); err != nil {
					broken(err)
				}
			}
		}
	}
}

// count adds a record to the run's stats and stops the run past the failure threshold.
func (j *Job) count(rec *report.Record, stop func(error)) {
	j.Stats.Rows.Add(1)
	switch {
	case rec.Status.OK():
		j.Stats.OK.Add(1)
	case rec.Status == report.Failed:
		j.Stats.Failed.Add(1)
		if fe := j.cfg.MaxFailures.exceeded(j.Stats.Failed.Load(), j.Stats.Rows.Load()); fe != nil {
			stop(fe)
		}
	default:
		j.Stats.Invalid.Add(1)
	}
}

// sinkError is a failure to write the report's files from a worker.
type sinkError struct{ err error }

func (e *sinkError) Error() string { return e.err.Error() }

func wrapSink(err error) error {
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// ReadError is a failure to read the input (not a bad row: those are reported as invalid).
type ReadError struct{ Err error }

func (e *ReadError) Error() string { return "read input: " + e.Err.Error() }
func (e *ReadError) Unwrap() error { return e.Err }

// row settles one row: invalid rows at once, valid ones by the operation.
func (j *Job) row(intake, hard context.Context, row *plan.Item) (*report.Record, error) {
	if !row.Valid() {
		return &report.Record{
			Line:         row.Line,
			Status:       report.Invalid,
			ErrorCode:    row.Code,
			ErrorMessage: row.Invalid,
			Request:      row.Request,
			Extra:        row.Extra,
			FinishedAt:   j.cfg.Now(),
		}, nil
	}
	return j.process(intake, hard, row)
}

// afterRepeat waits for the row this one repeats, if it is still in flight, then settles
// the row.
func (j *Job) afterRepeat(intake, hard context.Context, row *plan.Item, wait <-chan struct{}) (*report.Record, error) {
	if wait != nil {
		select {
		case <-wait:
		case <-intake.Done():
			return nil, errCancelled
		}
	}
	return j.row(intake, hard, row)
}
