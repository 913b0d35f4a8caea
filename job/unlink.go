package job

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/bulklink/bulklink/input"
	"github.com/bulklink/bulklink/report"
)

// Unlink takes back the link of each row (AdminDisableProviderForUser, User = the source
// identity as it was linked), for bulklink undo. Cognito's "isn't linked" answer is settled by
// reading the destination user: no identity of the provider left means not_linked (or
// unlinked, when an attempt of this undo whose answer was lost is the likely cause); an
// identity of the provider under another user ID is the row's identity after it signed in,
// which Cognito knows by its subject: the row is unlinked again by Cognito_Subject and that ID
// (docs/cognito.md, Undo). When the user has several such identities, the one whose
// dateCreated falls in the row's time in the run's report is taken; if that does not single
// one out, the row fails rather than unlink another link.
type Unlink struct{}

func (Unlink) Name() string        { return "unlink" }
func (Unlink) Done() report.Status { return report.Unlinked }
func (Unlink) Ambiguous(code, msg string) bool {
	return code == "InvalidParameterException" && containsAny(msg, notLinkedMessages)
}

// notLinkedMessages are the InvalidParameterException texts of an identity that is not
// linked, as the user named it.
var notLinkedMessages = []string{"isn't linked", "is not linked", "not linked to"}

func (Unlink) Call(ctx context.Context, api API, t *Target) error {
	r := &t.Request
	_, err := api.AdminDisableProviderForUser(ctx, &cip.AdminDisableProviderForUserInput{
		UserPoolId: aws.String(r.UserPoolID),
		User:       sourceUser(r),
	})
	return err
}

// Notes on unlink rows settled by reading the user.
const (
	noteRemovedByLostAttempt = "the link is gone, removed by an earlier attempt of this undo whose answer was lost"
	noteDestinationGone      = "the destination user no longer exists, and its links went with it"
)

// linkSlack widens a row's time in the run's report, to compare it with Cognito's dates.
const linkSlack = 2 * MaxSkew

func (Unlink) Settle(t *Target, dest *Destination, h History) Verdict {
	r := &t.Request
	if !dest.Exists {
		return Verdict{Status: report.NotLinked, Message: noteDestinationGone}
	}
	if _, ok := dest.Find(r.SourceProvider, r.SourceValue); ok {
		if r.SourceAttribute != input.DefaultSourceAttribute && !h.Retargeted {
			again := *r
			again.SourceAttribute = input.DefaultSourceAttribute
			return Verdict{Again: &again}
		}
		return Verdict{Status: report.Failed, Code: h.Code, Message: fmt.Sprintf(
			"Cognito says the identity is not linked, but %s still lists it: %s", r.DestinationUser, h.Message)}
	}
	var others []Identity
	for _, id := range dest.Identities {
		if id.ProviderName == r.SourceProvider {
			others = append(others, id)
		}
	}
	if from, to, ok := linkTime(t.Row); ok {
		var inTime []Identity
		for _, id := range others {
			if c := id.Created(); !c.Before(from) && !c.After(to) {
				inTime = append(inTime, id)
			}
		}
		others = inTime
	}
	switch {
	case len(others) == 1 && !h.Retargeted:
		again := *r
		again.SourceAttribute, again.SourceValue = input.DefaultSourceAttribute, others[0].UserID
		return Verdict{Again: &again}
	case len(others) > 1:
		return Verdict{Status: report.Failed, Code: h.Code, Message: fmt.Sprintf(
			"%s has %d identities of %s besides this one's, and none can be told to be the row's: unlink it by hand", r.DestinationUser, len(others), r.SourceProvider)}
	case h.Unknown || h.Begun:
		return Verdict{Status: report.Unlinked, Message: noteRemovedByLostAttempt}
	}
	return Verdict{Status: report.NotLinked}
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
