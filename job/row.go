package job

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"github.com/bulklink/bulklink/input"
	"github.com/bulklink/bulklink/report"
)

// The engine sends a row in two layers, as restic's retry backend wraps a backend and
// rclone's pacer wraps a call: attempt makes one write call, paced and classified; process
// runs the row's attempts until it has an outcome: backoff between them, the retry budget,
// the outage breaker, and reading the destination user when an answer leaves the outcome
// unknown. Each is tested alone.

// outcome is what one attempt came to.
type outcome struct {
	class   class
	code    string
	message string
	err     error
}

// attempt makes one write call of op for t: it waits for the pace of t's region and the
// destination user's spacing, sends under the attempt's timeout, and classifies the answer.
// It returns errCancelled when intake ends before the call is sent, or hard ends while it is.
//
// Before the row's first call it notes the row's start in the started list (noted says it
// is there): after the waits, so that a row the run stopped before sending is not taken
// for one whose call may have gone.
func (j *Job) attempt(intake, hard context.Context, t *Target, pace *pacer, noted *bool) (outcome, error) {
	// The per-user wait comes last, so that it spaces the sends themselves.
	if pace.Wait(intake) != nil || j.users.Wait(intake, userKey(&t.Request)) != nil {
		return outcome{}, errCancelled
	}
	if !*noted {
		if err := j.cfg.Started.Start(t.Row.Line); err != nil {
			return outcome{}, &sinkError{fmt.Errorf("note the row's start: %w", err)}
		}
		*noted = true
	}
	sent := j.cfg.Now()
	j.Stats.Calls.Add(1)
	pace.calls.Add(1)
	ctx, cancel := context.WithTimeout(hard, j.cfg.Timeout)
	err := j.op.Call(ctx, j.api, t)
	cancel()
	if err != nil && hard.Err() != nil {
		return outcome{}, errCancelled // the answer is lost; a resumed run settles the row
	}
	c, code := classify(err)
	o := outcome{class: c, code: code, err: err}
	if err != nil {
		o.message = message(err)
	}
	switch {
	case c.answered():
		pace.Succeeded(sent)
		j.breaker.answered()
	case c == classThrottled:
		j.Stats.Throttles.Add(1)
		pace.Throttled(sent)
	}
	return o, nil
}

// userKey names a row's destination user for the per-user spacing.
func userKey(r *input.Request) string { return r.UserPoolID + "/" + input.DestinationUsername(r) }

// process runs one valid row until it has an outcome. Attempts start only while intake is
// open; calls run under hard, which outlives intake by the grace period.
func (j *Job) process(intake, hard context.Context, row *input.Row) (*report.Record, error) {
	start := j.cfg.Now()
	t := &Target{Row: row, Request: row.Request}
	rec := &report.Record{Line: row.Line, Request: row.Request, Extra: row.Extra}
	done := func(st report.Status, code, msg string) (*report.Record, error) {
		rec.Status, rec.ErrorCode, rec.ErrorMessage = st, code, msg
		rec.FinishedAt = j.cfg.Now()
		rec.Duration = rec.FinishedAt.Sub(start)
		return rec, nil
	}
	var h History                 // Unknown: an attempt may have taken effect unheard
	noted := j.cfg.Started == nil // no list to note it in
	if !noted {
		h.Begun = j.cfg.Started.Before(row.Line)
		noted = h.Begun // the line is in it already
	}
	if j.cfg.Providers != nil {
		t.ProviderType = j.cfg.Providers.ProviderType(row.Request.UserPoolID, row.Request.SourceProvider)
	}
	if c, ok := j.op.(Checker); ok {
		// The read comes before any write: a stop cuts it, and the row has no record yet.
		h.Since = j.since()
		dest, err := j.readDestination(intake, t)
		var fe *FatalError
		switch {
		case errors.As(err, &fe), errors.Is(err, errCancelled):
			return nil, err
		case err != nil:
			return done(report.Failed, code(err), "reading the user before the write failed: "+message(err))
		}
		v := c.Check(t, dest, h)
		switch {
		case v.Status != "":
			return done(v.Status, v.Code, v.Message)
		case v.Again != nil:
			t.Request, h.Retargeted = *v.Again, true
		}
	}
	pace := j.paces.of(t.Request.UserPoolID)
	for attempt := 1; ; attempt++ {
		if attempt > 1 {
			j.Stats.Retries.Add(1)
			if sleep(intake, j.cfg.Backoff.Delay(attempt-1, j.cfg.Rand())) != nil {
				return nil, errCancelled
			}
		}
		o, err := j.attempt(intake, hard, t, pace, &noted)
		if err != nil {
			return nil, err
		}
		rec.Attempts++
		if o.class != classOK && j.cfg.Logger.Core().Enabled(zap.DebugLevel) {
			j.cfg.Logger.Debug("attempt failed", zap.String("op", j.op.Name()), zap.Int("line", row.Line),
				zap.Int("attempt", attempt), zap.Stringer("class", o.class), zap.String("code", o.code), zap.String("error", o.message))
		}
		h.Code, h.Message = o.code, o.message
		settle := false
		switch o.class {
		case classOK:
			msg := ""
			if h.Retargeted {
				msg = noteRetargeted(&t.Request)
			}
			return done(j.op.Done(), "", msg)
		case classThrottled, classUnsent:
		case classRetry:
			h.Unknown = true
		case classPermanent:
			if !j.op.Ambiguous(o.code, o.message) && !h.Unknown {
				return done(report.Failed, o.code, o.message)
			}
			settle = true
		case classFatal:
			msg := o.message
			if o.code == "ResourceNotFoundException" {
				msg += " (check --user-pool-id or the row's user_pool_id, and --region)"
			}
			return nil, &FatalError{Line: row.Line, Code: o.code, Message: msg, Err: o.err}
		}
		if !settle && attempt >= j.cfg.MaxAttempts {
			if j.breaker.exhausted() {
				return nil, &FatalError{Line: row.Line, Code: codeOutage, Err: o.err, Message: fmt.Sprintf(
					"%d rows in a row ran out of retries, the last with %q: Cognito is unreachable or saturated. "+
						"Once it answers, run the same command to resume, then re-run the rows recorded failed with --only failed",
					j.breaker.limit, o.message)}
			}
			h.Message = fmt.Sprintf("gave up after %s: %s", plural(attempt, "attempt"), o.message)
			if !h.Unknown {
				return done(report.Failed, o.code, h.Message)
			}
			settle = true
		}
		if !settle {
			continue
		}
		v, err := j.settle(hard, t, h)
		if err != nil {
			return nil, err
		}
		if v.Again == nil || h.Retargeted {
			if v.Again != nil { // a second retarget: give up rather than chase names
				v = Verdict{Status: report.Failed, Code: h.Code, Message: h.Message}
			}
			return done(v.Status, v.Code, v.Message)
		}
		t.Request, h.Retargeted, h.Unknown = *v.Again, true, false
		attempt = 0 // the new target has its own attempts
	}
}

// noteRetargeted explains a row whose call succeeded on another name of its identity.
func noteRetargeted(r *input.Request) string {
	return fmt.Sprintf("called by %s %s=%s: the identity signed in since it was linked, and Cognito knows it by its subject",
		r.SourceProvider, r.SourceAttribute, r.SourceValue)
}

// settle reads the destination user and lets the operation decide the row. A read that
// fails for good ends the row failed, with the answer being settled and the read's error.
func (j *Job) settle(hard context.Context, t *Target, h History) (Verdict, error) {
	h.Since = j.since()
	dest, err := j.readDestination(hard, t)
	var fe *FatalError
	switch {
	case errors.As(err, &fe), errors.Is(err, errCancelled):
		return Verdict{}, err
	case err != nil:
		return Verdict{Status: report.Failed, Code: h.Code,
			Message: fmt.Sprintf("%s; reading the user to settle it failed too: %s", h.Message, message(err))}, nil
	}
	return j.op.Settle(t, dest, h), nil
}

// readDestination reads the destination user with AdminGetUser, paced by the read rate,
// retried with backoff. A missing user is a Destination that does not exist.
func (j *Job) readDestination(hard context.Context, t *Target) (*Destination, error) {
	u := userReader{api: j.api, reads: j.reads, maxAttempts: j.cfg.MaxAttempts, timeout: j.cfg.Timeout,
		backoff: j.cfg.Backoff, rand: j.cfg.Rand, count: &j.Stats.Checks}
	return u.read(hard, t.Request.UserPoolID, input.DestinationUsername(&t.Request), t.Row.Line)
}

// userReader reads users: paced, timed out per attempt, retried with backoff.
type userReader struct {
	api interface {
		AdminGetUser(context.Context, *cip.AdminGetUserInput, ...func(*cip.Options)) (*cip.AdminGetUserOutput, error)
	}
	reads       *rate.Limiter
	maxAttempts int
	timeout     time.Duration
	backoff     Backoff
	rand        func() float64
	count       *atomic.Int64
}

// read reads one user. A missing user is a Destination that does not exist; a fatal answer is
// a *FatalError naming line; a cancellation errCancelled.
func (u *userReader) read(ctx context.Context, pool, username string, line int) (*Destination, error) {
	in := &cip.AdminGetUserInput{UserPoolId: aws.String(pool), Username: aws.String(username)}
	var err error
	for attempt := 1; attempt <= u.maxAttempts; attempt++ {
		if attempt > 1 && sleep(ctx, u.backoff.Delay(attempt-1, u.rand())) != nil {
			return nil, errCancelled
		}
		if u.reads.Wait(ctx) != nil {
			return nil, errCancelled
		}
		u.count.Add(1)
		actx, cancel := context.WithTimeout(ctx, u.timeout)
		var out *cip.AdminGetUserOutput
		out, err = u.api.AdminGetUser(actx, in)
		cancel()
		if err != nil && ctx.Err() != nil {
			return nil, errCancelled
		}
		switch c, code := classify(err); {
		case c == classOK:
			return destination(out.UserAttributes)
		case c == classFatal:
			return nil, &FatalError{Line: line, Code: code, Message: message(err), Err: err}
		case code == "UserNotFoundException":
			return &Destination{}, nil
		case c == classPermanent:
			return nil, err
		}
	}
	return nil, err
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
