package job

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/bulklink/bulklink/call"
	"github.com/bulklink/bulklink/input"
	"github.com/bulklink/bulklink/plan"
	"github.com/bulklink/bulklink/report"
)

// A row is sent in layers, as restic's retry backend wraps a backend: call.Do makes one call
// with its pacing, retries and classification; an Operation makes the row's calls, one step
// after another, and decides what each answer means for the row; process runs the
// operation for a row and makes its record. Each is tested alone.

// Task is one row on its way through its operation: the row, the request its calls send,
// and what the engine knows of it. An Operation makes its calls through the task (write,
// read, Destination), which paces, journals and counts them.
type Task struct {
	Target
	j *Job
	// intake ends on a stop: no new call starts. hard outlives it by the grace period: calls
	// in flight run under it.
	intake, hard context.Context
	region       string
	user         string // the destination user, for the per-user spacing of writes
	writeUser    string // when set, the user the next writes change, for their spacing
	noted        bool   // the row is in the started list
	begun        bool   // an earlier run of the report began to send it
	wrote        bool   // a write of this run was sent (or may have been)
	attempts     int    // write attempts
	// committed says the row passed a point of no return (a merge deleted the profile): its
	// remaining writes start under hard, so that a stop lets them finish within the grace
	// period rather than leave the identity with no user.
	committed bool
}

// Begun says that an earlier run of the report began to send the row and stopped before it
// recorded the outcome (kill -9, a crash): its calls may have taken effect.
func (t *Task) Begun() bool { return t.begun }

// Reached is the last step of the row an earlier run of the report journalled: "" for its
// first write, or none.
func (t *Task) Reached() string {
	if !t.begun || t.j.cfg.Started == nil {
		return ""
	}
	return t.j.cfg.Started.Reached(t.Row.Line)
}

// History is what the engine knows of the row so far, for Settle: Begun, and Since.
func (t *Task) History() History { return History{Since: t.j.since(), Begun: t.begun} }

// write makes a write call for the task: journalled in the started list before its first
// attempt is sent, paced in the region's write bucket and spaced per user, retried by
// call.Do. Attempts start only while intake is open; they run under hard. A run of rows that
// exhaust their retries without an answer trips the breaker (Outage).
func write[In, Out any](t *Task, op *call.Op[call.Cognito, In, Out], in *In) (*Out, call.Result, error) {
	return writeStep(t, "", op, in)
}

// writeStep is write for a named step of an operation that takes several (a merge's
// signout, delete, link): the journal notes the step, on stable storage, before each send of
// it, so that a resumed run knows which step the row reached. The writes to another user
// than the row's destination (the profile a merge deletes) are spaced as that user's.
func writeStep[In, Out any](t *Task, step string, op *call.Op[call.Cognito, In, Out], in *In) (*Out, call.Result, error) {
	before, user := t.note, t.user
	if step != "" {
		before = func() error {
			if err := t.note(); err != nil || t.j.cfg.Started == nil {
				return err
			}
			if err := t.j.cfg.Started.Step(t.Row.Line, step); err != nil {
				return &sinkError{fmt.Errorf("note the row's step %s: %w", step, err)}
			}
			return nil
		}
	}
	if t.writeUser != "" {
		user = t.writeUser
	}
	start := t.intake
	if t.committed {
		start = t.hard
	}
	out, res, err := call.Do(t.hard, t.j.calls, op, t.j.api, in, call.Opts{
		Region: t.region, User: user, Start: start, Before: before})
	t.attempts += res.Attempts
	if res.Attempts > 0 {
		t.wrote = true
	}
	if err != nil {
		return nil, res, t.j.fatal(t, err)
	}
	switch {
	case res.Exhausted && t.j.breaker.exhausted():
		return nil, res, &FatalError{Line: t.Row.Line, Code: codeOutage, Err: res.Err, Message: fmt.Sprintf(
			"%d rows in a row ran out of retries, the last with %q: Cognito is unreachable or saturated. "+
				"Once it answers, run the same command to resume, then re-run the rows recorded failed with --only failed",
			t.j.breaker.limit, res.Message)}
	case !res.Exhausted:
		t.j.breaker.answered()
	}
	return out, res, nil
}

// codeOutage is the code of a run stopped because rows in a row ran out of retries.
const codeOutage = "Outage"

// note puts the row in the started list, before its first write of this run.
func (t *Task) note() error {
	if t.noted || t.j.cfg.Started == nil {
		return nil
	}
	if err := t.j.cfg.Started.Start(t.Row.Line); err != nil {
		return &sinkError{fmt.Errorf("note the row's start: %w", err)}
	}
	t.noted = true
	return nil
}

// fatal names the row in a fatal error, and says where to look for a missing pool.
func (j *Job) fatal(t *Task, err error) error {
	err = withLine(err, t.Row.Line)
	if fe, ok := errors.AsType[*FatalError](err); ok && fe.Code == "ResourceNotFoundException" {
		fe.Message += " (check --user-pool-id or the row's user_pool_id, and --region)"
	}
	return err
}

// withLine names the row whose call revealed a fatal error; other errors pass as they are.
func withLine(err error, line int) error {
	if fe, ok := errors.AsType[*FatalError](err); ok {
		f := *fe
		f.Line = line
		return &f
	}
	return err
}

// Destination reads the task's destination user (AdminGetUser, at the read rate). A missing
// user is a Destination that does not exist; a read that fails for good is an error that
// says so (readError).
func (t *Task) Destination() (*Destination, error) {
	return t.ReadUser(input.DestinationUsername(&t.Request))
}

// ReadUser reads a user of the task's pool: before any write of this run it is cut by a
// stop (the row has no record yet), after one it runs under the grace period.
func (t *Task) ReadUser(username string) (*Destination, error) {
	ctx := t.hard
	if !t.wrote {
		ctx = t.intake
	}
	d, err := getUser(ctx, t.j.calls, t.j.api, t.Request.UserPoolID, username)
	if err != nil {
		return nil, t.j.fatal(t, err)
	}
	return d, nil
}

// getUser reads a user with AdminGetUser, in the UserRead category. A missing user is a
// Destination that does not exist; a read that fails for good is a *readError; a fatal
// answer a *FatalError, a cancellation call.ErrCancelled.
func getUser(ctx context.Context, c *call.Caller, api API, pool, username string) (*Destination, error) {
	out, res, err := call.Do(ctx, c, call.GetUser, api, &cip.AdminGetUserInput{UserPoolId: aws.String(pool), Username: aws.String(username)},
		call.Opts{Region: input.PoolRegion(pool)})
	switch {
	case err != nil:
		return nil, err
	case res.OK():
		return destination(out)
	case res.Code == "UserNotFoundException":
		return &Destination{}, nil
	}
	return nil, &readError{res}
}

// readError is a read of a user that failed for good.
type readError struct{ res call.Result }

func (e *readError) Error() string { return e.res.Message }

// failed is the verdict of a write that failed for good.
func failed(res call.Result) Verdict {
	return Verdict{Status: report.Failed, Code: res.Code, Message: answerOf(res)}
}

// answerOf is what a write's last answer says, for a row's message: Cognito's message, or
// that the attempts ran out.
func answerOf(res call.Result) string {
	if res.Exhausted {
		return fmt.Sprintf("gave up after %s: %s", plural(res.Attempts, "attempt"), res.Message)
	}
	return res.Message
}

// settle reads the destination user after a write whose outcome it must tell, and lets
// decide decide the row. A read that fails for good ends the row failed, with the answer
// being settled and the read's error.
func (t *Task) settle(h History, decide func(*Target, *Destination, History) Verdict) (Verdict, error) {
	dest, err := t.Destination()
	var re *readError
	switch {
	case errors.As(err, &re):
		return Verdict{Status: report.Failed, Code: h.Code,
			Message: fmt.Sprintf("%s; reading the user to settle it failed too: %s", h.Message, re.res.Message)}, nil
	case err != nil:
		return Verdict{}, err
	}
	return decide(&t.Target, dest, h), nil
}

// process runs one valid row through the operation until it has an outcome. A row cut
// before its outcome is known yields no record (errCancelled).
func (j *Job) process(intake, hard context.Context, row *plan.Item) (*report.Record, error) {
	start := j.cfg.Now()
	t := &Task{Target: Target{Row: row, Request: row.Request}, j: j, intake: intake, hard: hard,
		region: input.PoolRegion(row.Request.UserPoolID), user: row.Key().String()}
	if j.cfg.Started != nil {
		t.begun = j.cfg.Started.Before(row.Line)
		t.noted = t.begun // the line is in it already
	}
	v, err := j.op.Do(t)
	if err != nil {
		return nil, err
	}
	rec := &report.Record{Line: row.Line, Request: row.Request, Extra: row.Extra, Attempts: t.attempts,
		Status: v.Status, ErrorCode: v.Code, ErrorMessage: v.Message, Merge: v.Merge}
	rec.FinishedAt = j.cfg.Now()
	rec.Duration = rec.FinishedAt.Sub(start)
	return rec, nil
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
