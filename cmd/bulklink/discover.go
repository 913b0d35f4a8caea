package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"go.uber.org/zap"

	"github.com/bulklink/bulklink/discover"
	"github.com/bulklink/bulklink/input"
	"github.com/bulklink/bulklink/job"
	"github.com/bulklink/bulklink/report"
	"github.com/bulklink/bulklink/schema"
)

// The groups of discover's flags.
const (
	groupPool  = "Pool"
	groupMatch = "What to match"
	groupFiles = "Output and resume"
)

// discoverOptions are the flags of `bulklink discover`.
type discoverOptions struct {
	aws    awsOptions
	engine engineOptions // --list-rate, --max-attempts, --timeout
	out    outputOptions

	userPoolID      string
	filter          string
	provider, by    string
	duplicates      bool
	emailDomain     string
	allowUnverified bool
	output, refused string
	restart         bool
}

func (o *discoverOptions) register(g *flagGroups) {
	fs := g.group(groupPool)
	fs.StringVar(&o.userPoolID, "user-pool-id", "", "read the pool `ID`; its region is the default region")
	fs.StringVar(&o.filter, "filter", "", "list only the users a ListUsers `FILTER` finds: one attribute, = or ^=, e.g. 'email ^= \"a\"'")
	m := g.group(groupMatch)
	m.StringVar(&o.provider, "provider", "", "with --by: link native users to the SAML or OIDC provider `NAME`; with --duplicates: only its profiles")
	m.StringVar(&o.by, "by", "", "match native users to --provider's identities by `ATTR`, a user-pool attribute of its attribute mapping, e.g. email")
	m.BoolVar(&o.duplicates, "duplicates", false, "link federated profiles (<Provider>_<id>) to the one native user with their email")
	m.StringVar(&o.emailDomain, "email-domain", "", "only users whose email is at `DOMAIN`, e.g. corp.example")
	m.BoolVar(&o.allowUnverified, "allow-unverified-email", false, "match emails that are not verified too (unsafe: whoever typed an email could be handed the account); such rows are marked unverified_email=true")
	f := g.group(groupFiles)
	f.StringVar(&o.output, "output", "", "write the links to `PATH`, .csv or .jsonl: an input of run and validate; the same command resumes")
	f.StringVar(&o.refused, "refused", "", "write the refused candidates to `PATH`, .csv or .jsonl (default: the output's name with .refused before its extension)")
	f.BoolVar(&o.restart, "restart", false, "list the pool again from the start instead of continuing")
	o.aws.register(g)
	p := g.group(groupPace)
	o.engine.listRate, o.engine.maxAttempts, o.engine.timeout = 10, job.DefaultMaxAttempts, job.DefaultTimeout
	p.Float64Var(&o.engine.listRate, "list-rate", o.engine.listRate, "send at most `N` ListUsers calls per second, 60 users each (0: unpaced); the account's quota is 30/s, shared with the application")
	p.IntVar(&o.engine.maxAttempts, "max-attempts", o.engine.maxAttempts, "try each call up to `N` times")
	p.DurationVar(&o.engine.timeout, "timeout", o.engine.timeout, "give up on an attempt after `DURATION`")
	o.out.register(g)
	g.lookup("metrics-file").Usage = "write Prometheus metrics to `PATH`, a *.prom file of node_exporter's textfile collector, when discover ends: its exit code and when it last succeeded"
}

// query is the discover the flags ask for.
func (o *discoverOptions) query() discover.Query {
	q := discover.Query{Provider: o.provider, Attribute: o.by, EmailDomain: o.emailDomain, Filter: o.filter, AllowUnverified: o.allowUnverified, Mode: discover.ByAttribute}
	if o.duplicates {
		q.Mode = discover.Duplicates
	}
	return q
}

func (o *discoverOptions) validate() error {
	switch {
	case o.userPoolID == "":
		return usagef("--user-pool-id is required")
	case input.PoolRegion(o.userPoolID) == "":
		return usagef("--user-pool-id %q: want <region>_<id>, like us-east-1_AbCdEf123", o.userPoolID)
	case o.output == "":
		return usagef("--output is required")
	case o.duplicates && o.by != "":
		return usagef("--by matches native users to a provider: not with --duplicates, which matches profiles by email")
	case !o.duplicates && o.provider == "" && o.by == "":
		return usagef("say what to match: --provider NAME --by ATTR, or --duplicates")
	case !o.duplicates && o.provider == "":
		return usagef("--by needs --provider NAME: the SAML or OIDC provider to link the users to")
	case !o.duplicates && o.by == "":
		return usagef("--provider %s needs --by ATTR: the attribute of its mapping to match users by, e.g. --by email (or --duplicates for its profiles)", o.provider)
	case o.emailDomain != "" && strings.ContainsAny(strings.TrimPrefix(o.emailDomain, "@"), "@ \t"):
		return usagef("--email-domain %q: want a domain, e.g. corp.example", o.emailDomain)
	case math.IsNaN(o.engine.listRate) || math.IsInf(o.engine.listRate, 0) || o.engine.listRate < 0:
		return usagef("--list-rate must be a number, 0 or more (0: unpaced)")
	case o.engine.maxAttempts < 1:
		return usagef("--max-attempts must be at least 1")
	case o.engine.timeout <= 0:
		return usagef("--timeout must be positive")
	}
	if _, _, _, err := discover.ParseFilter(o.filter); err != nil {
		return usageError{err}
	}
	if o.refused == "" {
		o.refused = discover.RefusedPath(o.output)
	}
	for _, p := range []struct{ flag, path string }{{"--output", o.output}, {"--refused", o.refused}} {
		if _, err := report.FormatOf(p.path); err != nil {
			return usagef("%s %s: name it .csv or .jsonl", p.flag, p.path)
		}
		if err := checkReportDir(p.flag, p.path); err != nil {
			return err
		}
	}
	for _, side := range []string{o.output, discover.StatePath(o.output), discover.SpillPath(o.output), discover.SummaryPath(o.output), report.LockPath(o.output)} {
		if o.refused == side {
			return usagef("--refused %s is the output or one of the files beside it: choose another path", o.refused)
		}
	}
	return o.out.validate()
}

// discoverExitCodes is discover's list in its help.
const discoverExitCodes = `  0        the pool was read, and every candidate is in the output
  1        the pool was read, and some candidates were refused (see the refused file)
  2        usage or configuration error: bad flags, a provider or attribute run would refuse,
           a file bulklink will not write, a discover of another pool, query or filter
  3        aborted by a fatal condition (pool not found, access denied, credentials, Cognito
           unreachable); run the same command to continue
  75       another discover holds the output's lock
  130/143  stopped by SIGINT (Ctrl-C) / SIGTERM; run the same command to continue`

// runDiscover is `bulklink discover`.
func runDiscover() *command {
	var o discoverOptions
	return &command{
		name:     "discover",
		synopsis: "--user-pool-id ID --output PATH (--provider NAME --by ATTR | --duplicates) [flags]",
		short:    "write the links file of a migration from the pool itself",
		long: `Read the pool with ListUsers and write the input a migration needs, which run and
validate take unchanged, and beside it the refused candidates, one row each with a code.
--provider --by links every native user to a SAML or OIDC provider's identity by a mapped
attribute; --duplicates links each federated profile (<Provider>_<id>, an identity that
signed in before it was linked) to the one native user with its email. Matching is safe
by default: verified emails on both sides, exactly one native user per email, an enabled
destination that can sign in, room for the link under Cognito's five identities.
ListUsers is eventually consistent: run re-checks every row. Memory does not grow with
the pool, and the same command continues a discover that was stopped or killed.`,
		examples: `# link every corp.example user to Okta by email, then check and run the links
bulklink discover --user-pool-id us-east-1_AbCdEf123 --provider Okta --by email --email-domain corp.example --output links.csv
bulklink validate --input links.csv
bulklink run --input links.csv --report links.report.csv

# the Google users who signed in before they were linked, and the native users they are
bulklink discover --user-pool-id us-east-1_AbCdEf123 --duplicates --provider Google --output dups.jsonl

# only users whose email starts with a, resumed with the same command after a stop
bulklink discover --user-pool-id us-east-1_AbCdEf123 --duplicates --filter 'email ^= "a"' --output a.csv`,
		flags:  func(g *flagGroups) { o.register(g) },
		groups: newDiscoverGroups(),
		run: func(ctx context.Context, _ []string, e env) int {
			return o.out.serve(ctx, e, "discover", o.validate, func(stop, _ context.Context, log *zap.Logger) (*report.Summary, int, []zap.Field) {
				sum, code := discoverPool(stop, &o, e, log)
				return nil, code, discoverFields(sum)
			})
		},
	}
}

func newDiscoverGroups() *flagGroups {
	return newFlagGroups(groupPool, groupMatch, groupFiles, groupAWS, groupPace, groupOutput)
}

// discoverPool runs the discover with the locks of its files held, and returns its summary
// (nil when it could not start), written beside the output, and its exit code.
func discoverPool(stop context.Context, o *discoverOptions, e env, log *zap.Logger) (*discover.Summary, int) {
	unlock, err := lockAll(o.output, o.refused)
	if err != nil {
		errorf(e, "discover", err)
		return nil, exitCode(stop, err, false)
	}
	defer unlock()
	sum, began, err := discoverLocked(stop, o, e, log)
	if err != nil {
		errorf(e, "discover", err)
	}
	code := exitCode(stop, err, sum != nil && err == nil && sum.Refusals() > 0)
	if sum == nil {
		return nil, code
	}
	sum.ExitCode, sum.State = code, stateOf(code)
	if err != nil {
		sum.Aborted = e.red.String(err.Error())
	}
	if !began {
		return sum, code // its files were refused: nothing is written beside them
	}
	if werr := sum.WriteFile(); werr != nil {
		log.Error("write summary", zap.Error(werr))
	}
	if !o.out.json {
		var b strings.Builder
		printDiscoverSummary(&b, sum)
		fmt.Fprint(e.stderr, e.text(b.String()))
	}
	return sum, code
}

// discoverLocked reads the pool, checks the query against it and runs the discover. began
// says whether the discover got as far as its first call (its summary is then written).
func discoverLocked(stop context.Context, o *discoverOptions, e env, log *zap.Logger) (sum *discover.Summary, began bool, err error) {
	api, err := o.aws.client(stop, 2, o.userPoolID, log, e.red)
	if err != nil {
		return nil, false, err
	}
	calls := o.engine.caller(log, e.red)
	pool, err := (&job.PoolReader{API: api, Calls: calls}).Pool(stop, o.userPoolID)
	if err != nil {
		return nil, false, err
	}
	if !pool.Exists {
		return nil, false, &job.FatalError{Code: "ResourceNotFoundException", Message: fmt.Sprintf("user pool %s does not exist (check --user-pool-id and --region)", o.userPoolID)}
	}
	q := o.query()
	if err := q.Check(pool); err != nil {
		return nil, false, usageError{err}
	}
	prog := new(discover.Progress)
	prog.Estimated.Store(pool.EstimatedUsers)
	if q.Filter != "" {
		prog.Estimated.Store(0) // a filter lists an unknown share of the pool
	}
	started := time.Now()
	log.Info("discover started", zap.String("user_pool_id", pool.ID), zap.String("mode", string(q.Mode)), zap.String("output", o.output),
		zap.String("refused", o.refused), zap.Int64("estimated_users", pool.EstimatedUsers), zap.Float64("list_rate", o.engine.listRate))
	log.Info("ListUsers is eventually consistent: a user changed in the last moments may be listed as it was; run re-checks every row")
	hide := startDiscoverProgress(&o.out, e, log, prog, started)
	sum, err = discover.Run(stop, discover.Config{
		Query: q, Pool: pool, API: api, Calls: calls, Output: o.output, Refused: o.refused,
		Target:  discover.Target{Region: input.PoolRegion(pool.ID), Endpoint: api.endpoint, UserPoolID: pool.ID},
		Restart: o.restart, Version: version, Logger: log, Progress: prog,
		Started: func(s *discover.Summary) error {
			began, s.State = true, report.StateRunning
			return s.WriteFile()
		},
	})
	hide()
	var ce *discover.ConfigError
	var ue *report.UnsafeFileError
	switch {
	case errors.As(err, &ce), errors.As(err, &ue):
		err = usageError{err}
	case err != nil && errors.Is(err, context.Cause(stop)):
		err = fmt.Errorf("%w: run the same command to continue", err)
	}
	return sum, began, err
}

// discoverFields are the summary's figures in the last record of a JSON log.
func discoverFields(s *discover.Summary) []zap.Field {
	if s == nil {
		return nil
	}
	f := []zap.Field{zap.String("command", "discover"), zap.String("user_pool_id", s.UserPoolID),
		zap.String("output", s.Output), zap.String("refused", s.Refused),
		zap.Int64("users", s.Users), zap.Int64("resumed_users", s.Resumed), zap.Int64("pages", s.Pages),
		zap.Any("by_status", s.ByStatus), zap.Any("by_error_code", s.ByErrorCode),
		zap.Float64("seconds", math.Round(s.Seconds*1000)/1000), zap.Float64("users_per_sec", math.Round(s.UsersPerSec*10)/10),
		zap.Int64("calls", s.Calls), zap.Int64("retries", s.Retries), zap.Int64("throttles", s.Throttles)}
	if s.Unverified > 0 {
		f = append(f, zap.Int64("rows_unverified_email", s.Unverified))
	}
	if len(s.Warnings) > 0 {
		f = append(f, zap.Strings("warnings", s.Warnings))
	}
	if s.AlreadyDone {
		f = append(f, zap.Bool("already_done", true))
	}
	if s.Aborted != "" {
		f = append(f, zap.String("aborted", s.Aborted))
	}
	return f
}

// printDiscoverSummary writes the summary for a person: what was read, what was written,
// what to do next.
func printDiscoverSummary(w *strings.Builder, s *discover.Summary) {
	rows, refused := s.ByStatus[discover.Emitted], s.ByStatus[discover.RefusedKey]
	if s.AlreadyDone {
		fmt.Fprintf(w, "discover: finished already, nothing listed again (--restart reads the pool again)\n")
	} else {
		fmt.Fprintf(w, "discover: %s users listed in %s", commas(s.Users-s.Resumed), report.HumanDuration(s.Seconds))
		if s.Seconds >= 1 && s.Users > s.Resumed {
			fmt.Fprintf(w, " (%.1f users/s)", s.UsersPerSec)
		}
		fmt.Fprintln(w)
		if s.Resumed > 0 {
			fmt.Fprintf(w, "  continued a listing of %s users: %s in all\n", commas(s.Resumed), commas(s.Users))
		}
	}
	done := s.State == report.StateFinished
	if done {
		fmt.Fprintf(w, "  %-15s %s  %s\n", "rows", commas(rows), s.Output)
		fmt.Fprintf(w, "  %-15s %s  %s\n", "refused", commas(refused), s.Refused)
		if len(s.ByErrorCode) > 0 {
			fmt.Fprintf(w, "  refused by code:\n")
			for _, r := range schema.Refusals {
				if n := s.ByErrorCode[r.Code]; n > 0 {
					fmt.Fprintf(w, "    %-32s %s\n", r.Code, commas(n))
				}
			}
		}
		if s.Unverified > 0 {
			fmt.Fprintf(w, "  %s rows with an unverified email (--allow-unverified-email): unverified_email=true\n", commas(s.Unverified))
		}
	}
	if s.Calls > 0 {
		fmt.Fprintf(w, "  ListUsers calls %d, retries %d, throttled %d\n", s.Calls, s.Retries, s.Throttles)
	}
	for _, warning := range s.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", warning)
	}
	switch {
	case s.Aborted != "" && s.State == report.StateStopped:
		fmt.Fprintf(w, "  %s (exit %d)\n", s.Aborted, s.ExitCode)
	case s.Aborted != "":
		fmt.Fprintf(w, "  aborted (exit %d): %s\n", s.ExitCode, s.Aborted)
	case done && rows > 0:
		fmt.Fprintf(w, "  next: bulklink validate --input %s, then bulklink run --input %s --report REPORT\n", s.Output, s.Output)
	}
}

// discoverProgress measures how far the listing is, for showProgress: a live bar on a
// terminal, a log record every --progress-interval otherwise. The total is the pool's
// estimated number of users (unknown with a filter).
type discoverProgress struct {
	p     *discover.Progress
	start time.Time

	mu    sync.Mutex
	rates rateWindow
}

type discoverSnap struct {
	users, total, pages int64
	rate                float64
	fraction            float64       // -1 unknown
	eta                 time.Duration // -1 unknown
	phase               int32
	elapsed             time.Duration
	finished            bool
}

// startDiscoverProgress shows progress until the returned stop is called.
func startDiscoverProgress(o *outputOptions, e env, log *zap.Logger, p *discover.Progress, start time.Time) (stop func()) {
	d := &discoverProgress{p: p, start: start, rates: newRateWindow(start)}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	showProgress(ctx, &wg, o, e, log, d)
	return func() { cancel(); wg.Wait() }
}

func (d *discoverProgress) snap(now time.Time) discoverSnap {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := discoverSnap{users: d.p.Users.Load(), total: d.p.Estimated.Load(), pages: d.p.Pages.Load(), phase: d.p.Phase.Load(),
		fraction: -1, eta: -1, elapsed: now.Sub(d.start)}
	s.rate = d.rates.rate(now, s.users-d.p.Resumed.Load())
	if s.total > 0 {
		s.fraction = math.Min(1, float64(s.users)/float64(s.total))
		if s.rate > 0 {
			s.eta = timeFor(float64(max(0, s.total-s.users)), s.rate)
		}
	}
	if s.phase != discover.PhaseListing {
		s.fraction, s.eta = 1, -1
	}
	return s
}

func (s discoverSnap) phaseName() string {
	switch s.phase {
	case discover.PhaseListing:
		return "listing"
	case discover.PhaseMatching:
		return "matching"
	}
	return "done"
}

func (d *discoverProgress) blank() discoverSnap { return discoverSnap{fraction: -1, eta: -1} }

func (d *discoverProgress) finished(s discoverSnap) discoverSnap {
	s.finished = true
	return s
}

func (d *discoverProgress) fraction(s discoverSnap) float64 { return s.fraction }

// left: users listed of the estimate, and the share of it.
func (d *discoverProgress) left(s discoverSnap) string {
	text := commas(s.users)
	if s.total > 0 {
		text += "/~" + commas(s.total)
	}
	text += " users"
	if s.fraction >= 0 {
		text += fmt.Sprintf(" %3.0f%%", 100*s.fraction)
	}
	return text
}

// right: the rate, then the ETA, the phase after listing, or the time it took once
// finished; only the last of those where both do not fit in width.
func (d *discoverProgress) right(s discoverSnap, width int) string {
	parts := []string{fmt.Sprintf("%.0f users/s", s.rate)}
	switch {
	case s.finished:
		parts = append(parts, "took "+roundETA(s.elapsed).String())
	case s.phase != discover.PhaseListing:
		parts = append(parts, s.phaseName())
	case s.eta >= 0:
		parts = append(parts, "ETA "+roundETA(s.eta).String())
	}
	text := strings.Join(parts, " · ")
	if utf8.RuneCountInString(text) > width && width > 0 {
		text = parts[len(parts)-1]
	}
	return text
}

func (d *discoverProgress) fields(s discoverSnap) []zap.Field {
	fields := []zap.Field{zap.String("phase", s.phaseName()), zap.Int64("users", s.users), zap.Int64("pages", s.pages),
		zap.Int64("resumed", d.p.Resumed.Load()), zap.Float64("users_per_sec", math.Round(s.rate*10)/10),
		zap.Duration("elapsed", s.elapsed.Round(time.Second))}
	if s.total > 0 {
		fields = append(fields, zap.Int64("estimated", s.total))
	}
	if s.fraction >= 0 {
		fields = append(fields, zap.Float64("pct", math.Round(1000*s.fraction)/10))
	}
	if s.eta >= 0 {
		fields = append(fields, zap.Duration("eta", roundETA(s.eta)))
	}
	return fields
}
