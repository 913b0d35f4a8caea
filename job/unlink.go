package job

import (
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/bulklink/bulklink/call"
	"github.com/bulklink/bulklink/input"
	"github.com/bulklink/bulklink/report"
	"github.com/bulklink/bulklink/schema"
)

// Unlink takes back the link of each row (AdminDisableProviderForUser, User = the source
// identity as it was linked), for bulklink undo. It removes only what the run behind the
// report made, whatever the report says (docs/report.md, Undo):
//
//   - Before a row's first write it reads the destination user (Check). The identity is found
//     by the row's value; a link dated before the run's report began (History.Since, less the
//     clock skew) predates the run and is left alone (PredatesRun) unless IncludeOlder. A row
//     whose identity is absent is not_linked with no write (unlinked, when an earlier, killed
//     run of this undo had begun it).
//   - An identity is only ever unlinked by its own value when that value is its Cognito user
//     ID: a social provider's (by the pool's type for the provider) or any identity linked by
//     Cognito_Subject. Only a SAML or OIDC identity linked by a mapped attribute alone (email)
//     is known to Cognito by another name once it has signed in, its subject; then the one
//     identity of that provider whose dateCreated falls in the row's time in the run's report
//     is the row's, and it is unlinked by Cognito_Subject and that ID. If that does not single
//     one out, the row fails rather than unlink another link.
//   - Cognito's "isn't linked" answer is settled by reading the user again (Settle): absent
//     after an attempt of this undo whose answer was lost is unlinked, with a note; absent
//     otherwise not_linked.
type Unlink struct {
	// IncludeOlder unlinks links older than the run's report too (--include-already-linked).
	IncludeOlder bool
}

func (Unlink) Name() string { return "unlink" }

func (u Unlink) Do(t *Task) (Verdict, error) {
	h := t.History()
	dest, err := t.Destination()
	var re *readError
	switch {
	case errors.As(err, &re):
		return Verdict{Status: report.Failed, Code: re.res.Code, Message: "reading the user before the unlink failed: " + re.res.Message}, nil
	case err != nil:
		return Verdict{}, err
	}
	v := u.Check(&t.Target, dest, h)
	for {
		switch {
		case v.Status != "":
			return v, nil
		case v.Again != nil && h.Retargeted: // a second retarget: give up rather than chase names
			return Verdict{Status: report.Failed, Code: h.Code, Message: h.Message}, nil
		case v.Again != nil:
			t.Request, h.Retargeted, h.Unknown = *v.Again, true, false
		}
		_, res, err := write(t, call.Unlink, &cip.AdminDisableProviderForUserInput{
			UserPoolId: aws.String(t.Request.UserPoolID), User: sourceUser(&t.Request)})
		switch {
		case err != nil:
			return Verdict{}, err
		case res.OK() && h.Retargeted:
			return Verdict{Status: report.Unlinked, Message: noteRetargeted(&t.Request)}, nil
		case res.OK() && t.Row.Prior != nil && t.Row.Prior.Status == report.Merged:
			return Verdict{Status: report.Unlinked, Message: noteUnmerged}, nil
		case res.OK():
			return Verdict{Status: report.Unlinked}, nil
		case !res.MaybeDone && !res.Unknown:
			return failed(res), nil
		}
		h.Unknown, h.Code, h.Message = h.Unknown || res.Unknown, res.Code, answerOf(res)
		if v, err = t.settle(h, u.Settle); err != nil {
			return Verdict{}, err
		}
	}
}

// noteRetargeted explains a row whose unlink went by another name of its identity.
func noteRetargeted(r *input.Request) string {
	return fmt.Sprintf("called by %s %s=%s: the identity signed in since it was linked, and Cognito knows it by its subject",
		r.SourceProvider, r.SourceAttribute, r.SourceValue)
}

// Notes on unlink rows settled by reading the user.
const (
	noteRemovedByLostAttempt = "the link is gone, removed by an earlier attempt of this undo whose answer was lost"
	noteDestinationGone      = "the destination user no longer exists, and its links went with it"
	noteNothingToUndo        = "the user has no such identity: nothing to undo"
	noteUnmerged             = "unlinked; the run had merged it: the profile it deleted, and its sub, cannot come back (its backup is in the run's report's .merged.jsonl)"
)

// linkSlack widens a row's time in the run's report, to compare it with Cognito's dates.
const linkSlack = 2 * MaxSkew

// Check decides a row from its destination user before any write: what to unlink, or that
// there is nothing this undo may unlink.
func (u Unlink) Check(t *Target, dest *Destination, h History) Verdict {
	return u.decide(t, dest, h, false)
}

// Settle decides a row after Cognito answered that the identity is not linked, or after
// attempts whose answers were lost.
func (u Unlink) Settle(t *Target, dest *Destination, h History) Verdict {
	return u.decide(t, dest, h, true)
}

// decide reads the destination for t; answered says that Cognito has just refused the
// target as not linked (or its attempts' answers were lost), which a target still listed
// contradicts.
func (u Unlink) decide(t *Target, dest *Destination, h History, answered bool) Verdict {
	r := &t.Request
	absent := Verdict{Status: report.NotLinked, Message: noteNothingToUndo}
	if h.Unknown || h.Begun {
		absent = Verdict{Status: report.Unlinked, Message: noteRemovedByLostAttempt}
	}
	if !dest.Exists {
		return Verdict{Status: report.NotLinked, Message: noteDestinationGone}
	}
	if id, ok := dest.Find(r.SourceProvider, r.SourceValue); ok {
		switch {
		case !answered:
			return u.older(t, id, h) // the identity as the row names it: unlink it, unless it is older
		case r.SourceAttribute != input.DefaultSourceAttribute && !h.Retargeted:
			// Listed by the attribute's value, refused by it: try the same value as its ID.
			again := *r
			again.SourceAttribute = input.DefaultSourceAttribute
			return Verdict{Again: &again}
		}
		return Verdict{Status: report.Failed, Code: h.Code, Message: fmt.Sprintf(
			"Cognito says the identity is not linked, but %s still lists it: %s", r.DestinationUser, h.Message)}
	}
	if h.Retargeted || !byMappedAttribute(t) {
		return absent // the row's value is the identity's user ID: absent is absent
	}
	var mine []Identity
	from, to, timed := linkTime(&t.Row.Row)
	for _, id := range dest.Identities {
		if id.ProviderName == r.SourceProvider && (!timed || !id.Created().Before(from) && !id.Created().After(to)) {
			mine = append(mine, id)
		}
	}
	switch len(mine) {
	case 0:
		return absent
	case 1:
		if v := u.older(t, mine[0], h); v.Status != "" {
			return v
		}
		again := *r
		again.SourceAttribute, again.SourceValue = input.DefaultSourceAttribute, mine[0].UserID
		return Verdict{Again: &again}
	}
	return Verdict{Status: report.Failed, Code: h.Code, Message: fmt.Sprintf(
		"%s has %d identities of %s from the time the run linked this row, and none can be told to be the row's: unlink it by hand",
		r.DestinationUser, len(mine), r.SourceProvider)}
}

// older refuses to unlink an identity linked before the run's report began: the report says
// the run linked it, but Cognito's date says otherwise (a report edited, or a link made again
// since by someone else before the run). The zero Verdict lets the unlink go on.
func (u Unlink) older(t *Target, id Identity, h History) Verdict {
	if u.IncludeOlder || h.Since.IsZero() || !id.Created().Before(h.Since) {
		return Verdict{}
	}
	return Verdict{Status: report.Failed, Code: schema.PredatesRun, Message: fmt.Sprintf(
		"%s's link to %s %s was made %s, before the run's report began (%s, less the clock skew): undo removes only what the run made; --include-already-linked removes older links too",
		t.Request.DestinationUser, id.ProviderName, id.UserID, id.Created().UTC().Format(time.RFC3339Nano), h.Since.UTC().Format(time.RFC3339Nano))}
}

// byMappedAttribute reports whether the row names a SAML or OIDC identity by a mapped
// attribute, whose Cognito user ID becomes its subject once it signs in: the one case where
// the identity may be listed under another value than the row's. The provider's type comes
// from the pool reads (plan.Item.Provider); without it, nothing is assumed.
func byMappedAttribute(t *Target) bool {
	typ := t.Row.ProviderType()
	return t.Request.SourceAttribute != input.DefaultSourceAttribute && (typ == "SAML" || typ == "OIDC")
}

// linkTime is when the run's report says the row's link was made, widened for the clocks:
// from its first attempt to its end. ok is false when the report does not say.
func linkTime(row *input.Row) (from, to time.Time, ok bool) {
	if row == nil || row.Prior == nil || row.Prior.FinishedAt.IsZero() {
		return time.Time{}, time.Time{}, false
	}
	end := row.Prior.FinishedAt
	return end.Add(-row.Prior.Duration - linkSlack), end.Add(linkSlack), true
}
