package job

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"go.uber.org/zap"

	"github.com/bulklink/bulklink/input"
	"github.com/bulklink/bulklink/report"
)

// link sends one row until it has an outcome. Attempts start only while intake is open;
// calls run under hard, which outlives intake by the grace period.
func (j *Job) link(intake, hard context.Context, row *input.Row) (*report.Record, error) {
	start := j.cfg.Now()
	rec := &report.Record{Line: row.Line, Request: row.Request, Extra: row.Extra}
	done := func(st report.Status, code, msg string) (*report.Record, error) {
		rec.Status, rec.ErrorCode, rec.ErrorMessage = st, code, msg
		rec.FinishedAt = j.cfg.Now()
		rec.Duration = rec.FinishedAt.Sub(start)
		return rec, nil
	}
	in := linkInput(&row.Request)
	user := row.Request.UserPoolID + "/" + destinationUsername(&row.Request)
	// unknown is set once an attempt may have been applied without our hearing of it: from
	// then on, only reading the user can tell a failure from a link made earlier.
	unknown := false
	for attempt := 1; ; attempt++ {
		if attempt > 1 {
			j.Stats.Retries.Add(1)
			if sleep(intake, j.cfg.Backoff.Delay(attempt-1, j.cfg.Rand())) != nil {
				return nil, errCancelled
			}
		}
		// The per-user wait comes last, so that it spaces the sends themselves.
		if j.pace.Wait(intake) != nil || j.users.Wait(intake, user) != nil {
			return nil, errCancelled
		}
		rec.Attempts = attempt
		sent := j.cfg.Now()
		j.Stats.Calls.Add(1)
		ctx, cancel := context.WithTimeout(hard, j.cfg.Timeout)
		_, err := j.api.AdminLinkProviderForUser(ctx, in)
		cancel()
		if err != nil && hard.Err() != nil {
			return nil, errCancelled // the answer is lost; a resumed run settles the row
		}
		c, code := classify(err)
		if c != classOK && j.cfg.Logger.Core().Enabled(zap.DebugLevel) {
			j.cfg.Logger.Debug("attempt failed", zap.Int("line", row.Line), zap.Int("attempt", attempt),
				zap.Stringer("class", c), zap.String("code", code), zap.Error(err))
		}
		if c.answered() {
			j.pace.Succeeded()
			j.breaker.answered()
		}
		switch c {
		case classOK:
			return done(report.Linked, "", "")
		case classThrottled:
			j.Stats.Throttles.Add(1)
			j.pace.Throttled(sent)
		case classRetry:
			unknown = true
		case classAmbiguous:
			return j.settle(hard, row, code, message(err), unknown, done)
		case classPermanent:
			if unknown {
				return j.settle(hard, row, code, message(err), unknown, done)
			}
			return done(report.Failed, code, message(err))
		case classFatal:
			msg := message(err)
			if code == "ResourceNotFoundException" {
				msg += " (check --user-pool-id or the row's user_pool_id, and --region)"
			}
			return nil, &FatalError{Line: row.Line, Code: code, Message: msg, Err: err}
		}
		if attempt >= j.cfg.MaxAttempts {
			if j.breaker.exhausted() {
				return nil, &FatalError{Line: row.Line, Code: code, Err: err, Message: fmt.Sprintf(
					"%d rows in a row ran out of retries, the last with %q: Cognito is unreachable or saturated. "+
						"Once it answers, run the same command to resume, then re-run the rows recorded failed with --only failed",
					j.breaker.limit, message(err))}
			}
			msg := fmt.Sprintf("gave up after %s: %s", plural(attempt, "attempt"), message(err))
			if unknown {
				return j.settle(hard, row, code, msg, unknown, done)
			}
			return done(report.Failed, code, msg)
		}
	}
}

// foundAfterLostAnswer explains an already_linked row whose link this run may have made.
const foundAfterLostAnswer = "link found in place after an attempt whose answer was lost: this run may have made it"

// settle reads the destination user to decide an answer that does not say whether the link
// is in place: present means already_linked, absent means the row failed with the link
// call's code and message.
func (j *Job) settle(hard context.Context, row *input.Row, code, msg string, unknown bool,
	done func(report.Status, string, string) (*report.Record, error)) (*report.Record, error) {
	linked, err := j.isLinked(hard, row)
	var fe *FatalError
	switch {
	case errors.As(err, &fe), errors.Is(err, errCancelled):
		return nil, err
	case err != nil:
		c, rcode := classify(err)
		if c == classPermanent && rcode == "UserNotFoundException" {
			return done(report.Failed, rcode, message(err))
		}
		return done(report.Failed, code, fmt.Sprintf("%s; the check that the link is in place failed too: %s", msg, message(err)))
	case linked && unknown:
		return done(report.AlreadyLinked, "", foundAfterLostAnswer)
	case linked:
		return done(report.AlreadyLinked, "", "")
	}
	return done(report.Failed, code, msg)
}

// isLinked reads the destination user and tells whether its identities hold the source.
func (j *Job) isLinked(hard context.Context, row *input.Row) (bool, error) {
	in := &cip.AdminGetUserInput{
		UserPoolId: aws.String(row.Request.UserPoolID),
		Username:   aws.String(destinationUsername(&row.Request)),
	}
	var err error
	for attempt := 1; attempt <= j.cfg.MaxAttempts; attempt++ {
		if attempt > 1 && sleep(hard, j.cfg.Backoff.Delay(attempt-1, j.cfg.Rand())) != nil {
			return false, errCancelled
		}
		if j.reads.Wait(hard) != nil {
			return false, errCancelled
		}
		j.Stats.Checks.Add(1)
		ctx, cancel := context.WithTimeout(hard, j.cfg.Timeout)
		var out *cip.AdminGetUserOutput
		out, err = j.api.AdminGetUser(ctx, in)
		cancel()
		if err != nil && hard.Err() != nil {
			return false, errCancelled
		}
		switch c, code := classify(err); c {
		case classOK:
			return hasIdentity(out.UserAttributes, &row.Request)
		case classFatal:
			return false, &FatalError{Line: row.Line, Code: code, Message: message(err), Err: err}
		case classPermanent, classAmbiguous:
			return false, err
		}
	}
	return false, err
}

// destinationUsername is the destination's username in the pool: the username itself for a
// native user, <Provider>_<id> for a federated profile.
func destinationUsername(r *input.Request) string {
	if r.DestinationProvider == "" || strings.EqualFold(r.DestinationProvider, "Cognito") {
		return r.DestinationUser
	}
	return r.DestinationProvider + "_" + r.DestinationUser
}

// identity is one entry of the identities attribute, a JSON array in a string.
type identity struct {
	UserID       string `json:"userId"`
	ProviderName string `json:"providerName"`
}

func hasIdentity(attrs []types.AttributeType, r *input.Request) (bool, error) {
	for _, a := range attrs {
		if aws.ToString(a.Name) != "identities" {
			continue
		}
		var ids []identity
		if err := json.Unmarshal([]byte(aws.ToString(a.Value)), &ids); err != nil {
			return false, fmt.Errorf("read identities attribute: %w", err)
		}
		for _, id := range ids {
			if id.ProviderName == r.SourceProvider && id.UserID == r.SourceValue {
				return true, nil
			}
		}
	}
	return false, nil
}

func linkInput(r *input.Request) *cip.AdminLinkProviderForUserInput {
	return &cip.AdminLinkProviderForUserInput{
		UserPoolId: aws.String(r.UserPoolID),
		DestinationUser: &types.ProviderUserIdentifierType{
			ProviderName:           aws.String(r.DestinationProvider),
			ProviderAttributeValue: aws.String(r.DestinationUser),
		},
		SourceUser: &types.ProviderUserIdentifierType{
			ProviderName:           aws.String(r.SourceProvider),
			ProviderAttributeName:  aws.String(r.SourceAttribute),
			ProviderAttributeValue: aws.String(r.SourceValue),
		},
	}
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
