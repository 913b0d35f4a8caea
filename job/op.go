package job

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/bulklink/bulklink/input"
	"github.com/bulklink/bulklink/report"
	"github.com/bulklink/bulklink/schema"
)

// An Operation is what the engine does to a row with one write call: link it (Link) or
// unlink it (Unlink). The engine owns everything around the call: pacing, the per-user
// spacing, retries and their backoff, classifying every answer, reading the destination user
// when an answer does not say whether the call took effect, and the record. An Operation
// says only what its call is, which refusals may mean that the effect is already in place,
// and what the destination user, read back, means for the row.
type Operation interface {
	// Name names the operation in logs: "link", "unlink".
	Name() string
	// Call makes one write call for the target.
	Call(ctx context.Context, api API, t *Target) error
	// Ambiguous reports whether a refusal may mean that the effect is in place: the engine
	// then reads the destination user and asks Settle.
	Ambiguous(code, message string) bool
	// Done is the status of a row whose call succeeded.
	Done() report.Status
	// Settle decides a row from its destination user, read after an answer that does not
	// say whether the effect is in place, or after attempts whose answers were lost.
	Settle(t *Target, dest *Destination, h History) Verdict
}

// Checker is an Operation that reads the destination user before a row's first write: the
// read may settle the row with no write (a Verdict with a Status), name another target to
// write (Again), or let the row's own write go (the zero Verdict). Unlink is one: it removes
// only what the run made, so it looks before it writes.
type Checker interface {
	Check(t *Target, dest *Destination, h History) Verdict
}

// Target is what one row's calls act on: the row, and the request its calls send: the row's
// own, or for an unlink that settled on another name of the identity (its subject, once it
// signed in), that name.
type Target struct {
	Row     *input.Row
	Request input.Request
	// ProviderType is the type of the source provider in the row's pool (SAML, OIDC,
	// Google...), from the pool reads; "" when the pool was not read.
	ProviderType string
}

// ProviderTypes tells the type of a pool's identity provider, from the pool reads;
// plan.Plan implements it.
type ProviderTypes interface {
	ProviderType(pool, provider string) string
}

// History is what the engine knows of a row's attempts when it asks Settle.
type History struct {
	// Unknown says that an attempt may have taken effect without an answer saying so (its
	// answer was lost, it timed out, a 5xx).
	Unknown bool
	// Answered is the last answer's code and message: the refusal being settled, or what
	// ended the retries.
	Code, Message string
	// Since is the earliest time, on Cognito's clock, that a call of this report could have
	// made a link: the report's creation, less the uncertainty of the clock skew.
	Since time.Time
	// Retargeted says that Settle already moved the row to another name of its identity.
	Retargeted bool
	// Begun says that an earlier run of the report began to send the row and stopped before
	// it recorded the outcome (kill -9, a crash): its calls may have taken effect.
	Begun bool
}

// Verdict is how Settle decides a row: a final status, or another call to make.
type Verdict struct {
	Status  report.Status
	Code    string
	Message string
	// Again, when set, is a new target to call, e.g. the identity's subject.
	Again *input.Request
}

// Destination is the destination user as AdminGetUser answered: whether it exists, and the
// identities linked to it.
type Destination struct {
	Exists     bool
	Identities []Identity
}

// Identity is one entry of a user's identities attribute (docs/cognito.md, Identities).
type Identity struct {
	UserID       string `json:"userId"`
	ProviderName string `json:"providerName"`
	ProviderType string `json:"providerType"`
	DateCreated  int64  `json:"dateCreated"` // Unix milliseconds, on Cognito's clock
}

// Created is when the identity was linked, on Cognito's clock.
func (i Identity) Created() time.Time { return time.UnixMilli(i.DateCreated) }

// Find returns the identity of a provider with a user ID, if the user has it.
func (d *Destination) Find(provider, userID string) (Identity, bool) {
	for _, id := range d.Identities {
		if id.ProviderName == provider && id.UserID == userID {
			return id, true
		}
	}
	return Identity{}, false
}

// destination reads a user's attributes into a Destination.
func destination(attrs []types.AttributeType) (*Destination, error) {
	d := &Destination{Exists: true}
	for _, a := range attrs {
		if aws.ToString(a.Name) != "identities" {
			continue
		}
		if err := json.Unmarshal([]byte(aws.ToString(a.Value)), &d.Identities); err != nil {
			return nil, fmt.Errorf("read identities attribute: %w", err)
		}
	}
	return d, nil
}

// Link links each row's source identity to its destination user (AdminLinkProviderForUser).
// A link found in place after an ambiguous answer is linked when this report's run made it:
// its dateCreated, on Cognito's clock, is after the report began (History.Since) and the row
// is not the repeat of an earlier row of the input; else it is already_linked.
type Link struct{}

func (Link) Name() string        { return "link" }
func (Link) Done() report.Status { return report.Linked }
func (Link) Ambiguous(code, msg string) bool {
	return code == "InvalidParameterException" && (containsAny(msg, alreadyLinkedMessages) || strings.Contains(msg, mergingMessage))
}

// signedInAnswer reports whether an answer is Cognito's refusal of a source that has signed in
// already ("Merging is not currently supported"). It has been seen with the link in place all
// the same, so the engine reads the user to settle it (docs/cognito.md, Outcomes); absent,
// the row fails with SourceAlreadySignedIn.
func signedInAnswer(code, msg string) bool {
	return code == "InvalidParameterException" && strings.Contains(msg, mergingMessage)
}

// mergingMessage is Cognito's text for a source identity that has a profile of its own.
const mergingMessage = "Merging is not currently supported"

// ProfileName is the username of the profile an identity got when it signed in to the pool
// by itself: <Provider>_<value> (docs/cognito.md, Federated profiles).
func ProfileName(r *input.Request) string { return r.SourceProvider + "_" + r.SourceValue }

func (Link) Call(ctx context.Context, api API, t *Target) error {
	r := &t.Request
	_, err := api.AdminLinkProviderForUser(ctx, &cip.AdminLinkProviderForUserInput{
		UserPoolId: aws.String(r.UserPoolID),
		DestinationUser: &types.ProviderUserIdentifierType{
			ProviderName:           aws.String(r.DestinationProvider),
			ProviderAttributeValue: aws.String(r.DestinationUser),
		},
		SourceUser: sourceUser(r),
	})
	return err
}

// sourceUser is a request's source identity, as the API names a user.
func sourceUser(r *input.Request) *types.ProviderUserIdentifierType {
	return &types.ProviderUserIdentifierType{
		ProviderName:           aws.String(r.SourceProvider),
		ProviderAttributeName:  aws.String(r.SourceAttribute),
		ProviderAttributeValue: aws.String(r.SourceValue),
	}
}

// Notes on rows settled by reading the user.
const (
	noteMadeByLostAttempt = "link found in place, made by an earlier attempt of this run whose answer was lost"
	noteRepeat            = "the input links this identity on an earlier line too"
)

func (Link) Settle(t *Target, dest *Destination, h History) Verdict {
	r := &t.Request
	id, linked := dest.Find(r.SourceProvider, r.SourceValue)
	switch {
	case !dest.Exists:
		return Verdict{Status: report.Failed, Code: "UserNotFoundException", Message: "the destination user does not exist"}
	case !linked && signedInAnswer(h.Code, h.Message):
		return Verdict{Status: report.Failed, Code: schema.SourceAlreadySignedIn, Message: fmt.Sprintf(
			"the identity has signed in already: it has a profile of its own, %s, and Cognito does not link it (%s)", ProfileName(r), h.Message)}
	case !linked:
		return Verdict{Status: report.Failed, Code: h.Code, Message: h.Message}
	case t.Row != nil && t.Row.Repeat:
		return Verdict{Status: report.AlreadyLinked, Message: noteRepeat}
	case !h.Since.IsZero() && !id.Created().Before(h.Since), h.Since.IsZero() && h.Begun:
		// Cognito's date decides: a row begun by an earlier run whose link is older than
		// the report found it in place. Only without the report's start does Begun.
		return Verdict{Status: report.Linked, Message: noteMadeByLostAttempt}
	}
	return Verdict{Status: report.AlreadyLinked}
}

// alreadyLinkedMessages are the InvalidParameterException texts of a link that may be in
// place. Cognito's messages are not a contract, so this is the one place that reads them; the
// read of the user, not the text, decides the row (docs/cognito.md, Outcomes).
var alreadyLinkedMessages = []string{
	// Since mid-2024, the answer to a repeated link (and to a source linked elsewhere).
	"already linked",
	// Before that, a repeat got this answer, meant for a Cognito source. bulklink never
	// sends a Cognito source (input.Check refuses it), so here it is a repeat.
	"Invalid SourceUser: Cognito users",
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
