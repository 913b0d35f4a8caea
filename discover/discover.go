package discover

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"go.uber.org/zap"

	"github.com/bulklink/bulklink/call"
	"github.com/bulklink/bulklink/internal/extsort"
	"github.com/bulklink/bulklink/plan"
	"github.com/bulklink/bulklink/report"
	"github.com/bulklink/bulklink/schema"
)

// PageSize is the users a ListUsers page asks for: the API's maximum.
const PageSize = 60

// Defaults of a Config.
const (
	DefaultCommitEvery = time.Second
	DefaultSortBytes   = 4 << 20
)

// Config is one discover.
type Config struct {
	Query
	// Pool is the pool, as job.PoolReader read it: it exists, and has its providers, their
	// mappings and its case sensitivity.
	Pool  *plan.Pool
	API   call.Cognito
	Calls *call.Caller // ListUsers is paced in its UserList category (--list-rate)
	// Output and Refused are the files written: CSV or JSONL by their extensions.
	Output, Refused string
	Target          Target
	// Restart starts over whatever a state beside the output holds.
	Restart bool
	Version string
	Logger  *zap.Logger
	Now     func() time.Time
	// CommitEvery is how often the listing's position is committed: a crash re-reads at
	// most this much of the pool.
	CommitEvery time.Duration
	// SortBytes bounds the memory of the sort: records sorted at once.
	SortBytes int
	// Progress, when set, is kept up to date as the discover goes.
	Progress *Progress
	// Started, when set, is called once the files are checked and the state read, before
	// the first call: bulklink writes the summary there, marked running, so that a discover
	// killed later does not leave an older summary behind. Its error ends the discover.
	Started func(*Summary) error
}

// Progress is how far a discover is, for a progress display; its fields may be read while
// it runs.
type Progress struct {
	Users     atomic.Int64 // users listed, those of an earlier run included
	Pages     atomic.Int64
	Resumed   atomic.Int64 // users listed by an earlier run
	Estimated atomic.Int64 // the pool's estimated number of users (DescribeUserPool); 0 unknown
	Phase     atomic.Int32
}

// The phases of a discover.
const (
	PhaseListing int32 = iota
	PhaseMatching
	PhaseDone
)

// Summary is a discover's totals: printed at the end and written beside the output as
// <output>.summary.json.
type Summary struct {
	Command     string           `json:"command"` // discover
	UserPoolID  string           `json:"user_pool_id"`
	Query       Query            `json:"query"`
	Output      string           `json:"output"`
	Refused     string           `json:"refused"`
	StartedAt   time.Time        `json:"started_at"`
	FinishedAt  time.Time        `json:"finished_at,omitzero"`
	Seconds     float64          `json:"duration_seconds"`
	Users       int64            `json:"users_listed"`  // by the whole listing
	Resumed     int64            `json:"resumed_users"` // listed by earlier runs of this discover
	Pages       int64            `json:"pages"`
	UsersPerSec float64          `json:"users_per_second"` // listed by this run
	ByStatus    map[string]int64 `json:"by_status"`        // emitted, refused
	ByErrorCode map[string]int64 `json:"by_error_code"`    // the refusals
	Unverified  int64            `json:"rows_unverified_email,omitempty"`
	Calls       int64            `json:"calls"` // ListUsers calls this run, every attempt
	Throttles   int64            `json:"throttles"`
	Retries     int64            `json:"retries"`
	Warnings    []string         `json:"warnings,omitempty"`
	// AlreadyDone says that the discover had finished before: nothing was listed again.
	AlreadyDone bool   `json:"already_done,omitempty"`
	Aborted     string `json:"aborted,omitempty"`
	State       string `json:"state"`
	ExitCode    int    `json:"exit_code"`
}

// The statuses of Summary.ByStatus.
const (
	Emitted    = "emitted"
	RefusedKey = "refused"
)

// Refusals is how many candidates were refused.
func (s *Summary) Refusals() int64 { return s.ByStatus[RefusedKey] }

// WriteFile writes the summary beside its output, atomically.
func (s *Summary) WriteFile() error { return report.WriteJSON(SummaryPath(s.Output), s, summaryKind) }

// Run runs a discover, or continues the one a state beside the output describes. It
// returns the summary (nil when it could not start) and what ended it: a *ConfigError or a
// *report.UnsafeFileError (exit 2), a *call.FatalError (exit 3), the cause of ctx (a stop:
// the position is committed, the same command continues).
func Run(ctx context.Context, cfg Config) (*Summary, error) {
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.CommitEvery <= 0 {
		cfg.CommitEvery = DefaultCommitEvery
	}
	if cfg.SortBytes <= 0 {
		cfg.SortBytes = DefaultSortBytes
	}
	if cfg.Progress == nil {
		cfg.Progress = new(Progress)
	}
	d := &run{Config: cfg, start: cfg.Now()}
	d.sum = &Summary{Command: "discover", UserPoolID: cfg.Pool.ID, Query: cfg.Query, Output: cfg.Output, Refused: cfg.Refused,
		StartedAt: d.start.UTC(), ByStatus: map[string]int64{}, ByErrorCode: map[string]int64{}}
	err := d.run(ctx)
	d.finish()
	return d.sum, err
}

type run struct {
	Config
	start   time.Time
	sum     *Summary
	st      *state
	resumed int64
}

func (d *run) run(ctx context.Context) error {
	if err := d.checkFiles(); err != nil {
		return err
	}
	st, err := d.open()
	if err != nil {
		return err
	}
	d.st = st
	if d.Started != nil {
		if err := d.Started(d.sum); err != nil {
			return err
		}
	}
	if st.Done {
		d.sum.AlreadyDone = true
		d.Logger.Info("this discover finished already: nothing to list; --restart reads the pool again",
			zap.String("output", d.Output), zap.Time("finished_at", st.FinishedAt))
		return nil
	}
	d.warn()
	var sp *spill
	if st.Pages > 0 || st.Listed {
		sp, err = openSpill(d.Output, st)
		if errors.Is(err, errShortSpill) {
			d.Logger.Warn("the spill beside the output holds less than its state says (a disk that lost writes?): listing the pool again from the start",
				zap.String("spill", SpillPath(d.Output)))
			st.Restarts++
			sp, err = d.fresh(st)
		}
	} else {
		sp, err = createSpill(d.Output)
	}
	if err != nil {
		return err
	}
	defer func() {
		if sp != nil {
			sp.Close()
		}
	}()
	d.resumed = st.Users
	d.Progress.Resumed.Store(st.Users)
	d.Progress.Users.Store(st.Users)
	d.Progress.Pages.Store(st.Pages)
	if st.Pages > 0 && !st.Listed {
		d.Logger.Info("resuming the listing", zap.Int64("users_listed", st.Users), zap.Int64("pages", st.Pages))
	}
	if !st.Listed {
		if sp, err = d.list(ctx, st, sp); err != nil {
			return err
		}
	}
	d.Progress.Phase.Store(PhaseMatching)
	counts, err := d.match(ctx, sp)
	if err != nil {
		return err
	}
	st.Done, st.FinishedAt, st.Counts = true, d.Now().UTC(), counts
	if err := st.write(d.Output); err != nil {
		return err
	}
	sp.Close()
	sp = nil
	if err := report.RemoveOwned(SpillPath(d.Output), spillKind); err != nil {
		d.Logger.Warn("could not remove the spill", zap.Error(err))
	} else {
		report.SyncDir(SpillPath(d.Output))
	}
	d.Progress.Phase.Store(PhaseDone)
	return nil
}

// warn says, in the log and the summary, what the query lets through that the defaults
// would not.
func (d *run) warn() {
	if d.AllowUnverified {
		msg := "--allow-unverified-email: rows whose emails are not verified are emitted (marked unverified_email=true): an unverified email may be anyone's, and linking by it can hand an account to whoever typed it"
		d.Logger.Warn(msg)
		d.sum.Warnings = append(d.sum.Warnings, msg)
	}
	if d.Mode == ByAttribute && !d.byEmail() {
		msg := fmt.Sprintf("--by %s: bulklink cannot tell whether users can change their own %s (an app client's write permissions); link by it only if they cannot, or anyone could claim another's identity at %s",
			d.Attribute, d.Attribute, d.Provider)
		d.Logger.Warn(msg)
		d.sum.Warnings = append(d.sum.Warnings, msg)
	}
}

// checkFiles refuses outputs bulklink will not write: an existing file that is not a
// discover's, or one with no state of a discover beside it.
func (d *run) checkFiles() error {
	for _, f := range []struct {
		path string
		kind report.Kind
	}{{d.Output, outputKind}, {d.Refused, refusedKind}} {
		if err := report.CheckOurs(f.path, f.kind); err != nil {
			return err
		}
		if exists(f.path) && !exists(StatePath(d.Output)) {
			return &report.UnsafeFileError{Path: f.path, Reason: fmt.Sprintf("exists, and no %s beside the output says a discover wrote it", filepath.Base(StatePath(d.Output)))}
		}
	}
	return nil
}

// open reads the state beside the output, or starts one.
func (d *run) open() (*state, error) {
	now := &state{Command: "discover", Version: d.Version, CreatedAt: d.Now().UTC(), Target: d.Target, Query: d.Query}
	old, err := readState(d.Output)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return now, d.restart(now)
	case err != nil:
		return nil, err
	case d.Restart:
		d.Logger.Info("--restart: listing the pool again from the start", zap.String("output", d.Output))
		return now, d.restart(now)
	}
	if why := old.differs(now); why != "" {
		if old.Pages == 0 && !old.Listed {
			d.Logger.Info("started over: the discover beside the output had listed nothing yet", zap.String("was", why))
			return now, d.restart(now)
		}
		return nil, &ConfigError{Message: fmt.Sprintf("cannot continue the discover of %s: %s; use --restart to start it over, or another --output", d.Output, why)}
	}
	if old.Done && (!exists(d.Output) || !exists(d.Refused)) {
		return nil, &ConfigError{Message: fmt.Sprintf("the discover of %s finished on %s, and its output or refused file is gone: use --restart to read the pool again",
			d.Output, old.FinishedAt.Format(time.RFC3339))}
	}
	return old, nil
}

// restart makes a new state's files, in an order that survives a crash at any step: the
// old state goes first (a spill without one is never resumed), then the new one is written,
// with nothing listed. The spill is made when the listing starts.
func (d *run) restart(st *state) error {
	if err := report.RemoveOwned(StatePath(d.Output), stateKind); err != nil {
		return err
	}
	if err := report.SyncDir(d.Output); err != nil {
		return err
	}
	for _, p := range []struct {
		path string
		kind report.Kind
	}{{partialPath(d.Output), outputKind}, {partialPath(d.Refused), refusedKind}} {
		if err := report.RemoveOwned(p.path, p.kind); err != nil {
			return err
		}
	}
	return st.write(d.Output)
}

// fresh starts the listing over in st: an empty spill, no token.
func (d *run) fresh(st *state) (*spill, error) {
	st.Token, st.SpillBytes, st.SpillRecords, st.Users, st.Pages, st.Listed = "", 0, 0, 0, 0, false
	sp, err := createSpill(d.Output)
	if err != nil {
		return nil, err
	}
	if err := st.write(d.Output); err != nil {
		sp.Close()
		return nil, err
	}
	d.Progress.Users.Store(0)
	d.Progress.Pages.Store(0)
	d.Progress.Resumed.Store(0)
	d.resumed = 0
	return sp, nil
}

// commit makes the listing's position durable: the spill synced, then the state replaced.
func (d *run) commit(st *state, sp *spill) error {
	if err := sp.Sync(); err != nil {
		return fmt.Errorf("sync the spill: %w", err)
	}
	return st.write(d.Output)
}

// list reads the pool's pages from st's token on, spilling each user's entry, and
// commits as it goes; it returns the spill, which a refused token may have started anew.
func (d *run) list(ctx context.Context, st *state, sp *spill) (*spill, error) {
	id := d.Pool.ID
	var filter *string
	if d.Filter != "" {
		filter = aws.String(d.Filter)
	}
	resumedToken := st.Token != ""
	last := d.Now()
	for {
		in := &cip.ListUsersInput{UserPoolId: aws.String(id), Limit: aws.Int32(PageSize), Filter: filter}
		if st.Token != "" {
			in.PaginationToken = aws.String(st.Token)
		}
		out, res, err := call.Do(ctx, d.Calls, call.ListUsers, d.API, in, call.Opts{Region: d.Target.Region})
		switch {
		case errors.Is(err, call.ErrCancelled):
			return sp, errors.Join(context.Cause(ctx), d.commit(st, sp))
		case err != nil:
			return sp, errors.Join(err, d.commit(st, sp))
		case !res.OK() && resumedToken && res.Code == "InvalidParameterException" && st.Restarts < 3:
			// A token from an earlier run, refused: it may have expired. The listing
			// starts over, from an empty spill.
			d.Logger.Warn("Cognito refused the pagination token the last run stopped at (it may have expired): listing the pool again from the start",
				zap.String("error", res.Message))
			st.Restarts++
			sp.Close()
			if sp, err = d.fresh(st); err != nil {
				return nil, err
			}
			resumedToken = false
			continue
		case !res.OK():
			cerr := d.commit(st, sp)
			if res.Exhausted {
				return sp, errors.Join(&call.FatalError{Code: schema.Unreachable, Err: res.Err, Message: fmt.Sprintf(
					"Cognito did not answer ListUsers in %d attempts: %s; run the same command to continue", res.Attempts, res.Message)}, cerr)
			}
			if filter != nil && st.Pages == 0 && res.Code == "InvalidParameterException" {
				return sp, errors.Join(&ConfigError{Code: res.Code, Message: fmt.Sprintf("Cognito refused --filter %q: %s", d.Filter, res.Message)}, cerr)
			}
			return sp, errors.Join(&call.FatalError{Code: res.Code, Err: res.Err, Message: "ListUsers: " + res.Message}, cerr)
		}
		resumedToken = false
		for i := range out.Users {
			if e, keep := d.toEntry(&out.Users[i]); keep {
				if err := sp.Add(e); err != nil {
					return sp, fmt.Errorf("write the spill: %w", err)
				}
			}
		}
		next := aws.ToString(out.PaginationToken)
		if next != "" && next == st.Token {
			return sp, errors.Join(&call.FatalError{Code: schema.UnknownError, Message: "ListUsers answered the pagination token it was given: the listing would not end"}, d.commit(st, sp))
		}
		st.Users += int64(len(out.Users))
		st.Pages++
		st.Token, st.SpillBytes, st.SpillRecords = next, sp.Size(), sp.Len()
		d.Progress.Users.Store(st.Users)
		d.Progress.Pages.Store(st.Pages)
		if next == "" {
			st.Listed = true
			return sp, d.commit(st, sp)
		}
		if now := d.Now(); now.Sub(last) >= d.CommitEvery {
			if err := d.commit(st, sp); err != nil {
				return sp, err
			}
			last = now
		}
	}
}

// match sorts the spill and writes the output and the refused file from it, through
// .partial files renamed into place once synced.
func (d *run) match(ctx context.Context, sp *spill) (Counts, error) {
	dir := filepath.Dir(d.Output)
	if err := sp.Flush(); err != nil {
		return Counts{}, err
	}
	sorted, err := extsort.Sort(ctx, sp.File, order(d.Pool), nil, extsort.Options{Dir: dir, MaxBytes: d.SortBytes})
	if err != nil {
		return Counts{}, err
	}
	defer sorted.Close()
	out, err := createTable(d.Output, outputKind, d.Columns())
	if err != nil {
		return Counts{}, err
	}
	ref, err := createTable(d.Refused, refusedKind, RefusedColumns)
	if err != nil {
		out.f.Close()
		return Counts{}, err
	}
	w := &files{q: &d.Query, pool: d.Pool.ID, out: out, refusedTo: ref}
	m := &matcher{q: &d.Query, pool: d.Pool, out: w}
	err = m.run(ctx, sorted)
	err = errors.Join(err, out.close(), ref.close())
	if err == nil {
		err = report.ReplaceWith(partialPath(d.Output), d.Output, outputKind)
	}
	if err == nil {
		err = report.ReplaceWith(partialPath(d.Refused), d.Refused, refusedKind)
	}
	if err != nil {
		report.RemoveOwned(partialPath(d.Output), outputKind)
		report.RemoveOwned(partialPath(d.Refused), refusedKind)
		return Counts{}, err
	}
	return w.counts, nil
}

// finish fills in the summary's totals.
func (d *run) finish() {
	s := d.sum
	end := d.Now()
	s.FinishedAt = end.UTC()
	s.Seconds = end.Sub(d.start).Seconds()
	if st := d.st; st != nil {
		s.Users, s.Pages, s.Resumed = st.Users, st.Pages, d.resumed
		if st.Done {
			s.ByStatus[Emitted] = st.Counts.Rows
			s.ByStatus[RefusedKey] = st.Counts.Refused
			for c, n := range st.Counts.ByCode {
				s.ByErrorCode[c] = n
			}
			s.Unverified = st.Counts.Unverified
		}
	}
	if s.Seconds > 0 && !s.AlreadyDone {
		s.UsersPerSec = float64(s.Users-s.Resumed) / s.Seconds
	}
	if d.Calls != nil {
		c := d.Calls.Count(call.KindListUsers)
		s.Calls, s.Throttles, s.Retries = c.Calls.Load(), c.Throttles.Load(), c.Retries.Load()
	}
}
