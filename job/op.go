package job

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/bulklink/bulklink/call"
	"github.com/bulklink/bulklink/input"
	"github.com/bulklink/bulklink/plan"
	"github.com/bulklink/bulklink/report"
	"github.com/bulklink/bulklink/schema"
)

// An Operation is what the engine does to a row: one call or several, each a step (link;
// unlink after a read; a merge's sign-out, delete and link). The engine owns everything
// around the calls: the workers, the order of repeats, the pacing and retries (package call,
// through the Task), the journal of rows begun, the record. An Operation says which calls
// the row takes and what their answers, and the users read back, mean for it.
type Operation interface {
	// Name names the operation in logs: "link", "unlink".
	Name() string
	// Do makes the row's calls through t and returns its outcome. An error is not the row's:
	// the run stops (a *FatalError, a report that cannot be written) or the row was cut
	// before its outcome was known (call.ErrCancelled), and it yields no record.
	Do(t *Task) (Verdict, error)
}

// Target is what one row's calls act on: the row, and the request its calls send: the row's
// own, or for an unlink that settled on another name of the identity (its subject, once it
// signed in), that name.
type Target struct {
	Row     *plan.Item
	Request input.Request
}

// History is what the engine knows of a row's attempts when it asks Settle.
type History struct {
	// Unknown says that an attempt may have taken effect without an answer saying so (its
	// answer was lost, it timed out, a 5xx).
	Unknown bool
	// Code and Message are the last answer's: the refusal being settled, or what
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
	// Merge is what a merged row deleted and linked to (Merging).
	Merge *report.Merge
}

// Destination is the destination user as AdminGetUser answered: whether it exists, and the
// identities linked to it.
type Destination struct {
	Exists     bool
	Identities []Identity
	// User is AdminGetUser's whole answer; nil when the user does not exist.
	User *cip.AdminGetUserOutput
}

// Attr returns the value of one of the user's attributes, "" when it has none.
func (d *Destination) Attr(name string) string {
	if d.User == nil {
		return ""
	}
	for _, a := range d.User.UserAttributes {
		if aws.ToString(a.Name) == name {
			return aws.ToString(a.Value)
		}
	}
	return ""
}

// Identity is one entry of a user's identities attribute (docs/cognito.md, Identities).
type Identity struct {
	UserID       string `json:"userId"`
	ProviderName string `json:"providerName"`
	ProviderType string `json:"providerType"`
	Primary      bool   `json:"primary"`     // a federated profile's own identity, the one it signed in with
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

// codeUnreadableUser is the code of a user whose answer cannot be read.
const codeUnreadableUser = "UnreadableUser"

// destination reads AdminGetUser's answer into a Destination.
func destination(out *cip.AdminGetUserOutput) (*Destination, error) {
	d := &Destination{Exists: true, User: out}
	for _, a := range out.UserAttributes {
		if aws.ToString(a.Name) != "identities" {
			continue
		}
		if err := json.Unmarshal([]byte(aws.ToString(a.Value)), &d.Identities); err != nil {
			// Not what Cognito writes (docs/cognito.md, The identities attribute): the user
			// cannot be judged, as a read that failed for good.
			return nil, &readError{call.Result{Code: codeUnreadableUser, Message: fmt.Sprintf(
				"the identities attribute of %s cannot be read: %v", aws.ToString(out.Username), err)}}
		}
	}
	return d, nil
}

// Link links each row's source identity to its destination user (AdminLinkProviderForUser).
// A refusal that may mean the link is in place ("already linked"; "Merging is not currently
// supported", seen with the link made all the same) and a write whose outcome is unknown are
// settled by reading the destination (Settle). With First, a row may be read first: a link
// in place is then settled with no write (--read-first).
type Link struct {
	First *ReadFirst // nil: never read first
	// Merge, when set, merges an identity that signed in already into its destination
	// instead of failing its row with SourceAlreadySignedIn (run --merge-signed-in).
	Merge *Merging
}

func (Link) Name() string { return "link" }

func (l Link) Do(t *Task) (Verdict, error) {
	v, err := l.do(t)
	if err == nil && (v.Status == report.Linked || v.Status == report.AlreadyLinked) {
		l.First.settled(v.Status == report.AlreadyLinked)
	}
	return v, err
}

func (l Link) do(t *Task) (Verdict, error) {
	if l.Merge != nil {
		switch reached := t.Reached(); reached {
		case stepSignOut, stepDelete, stepLink:
			return l.Merge.merge(t, reached) // a merge an earlier run began: go on with it
		}
	}
	v, err := l.once(t)
	if err != nil || l.Merge == nil || v.Code != schema.SourceAlreadySignedIn {
		return v, err
	}
	if t.Request.SourceAttribute != input.DefaultSourceAttribute {
		// Only a row naming its identity by its subject names its profile
		// (<Provider>_<subject>), and only such rows are planned for merge conflicts: another
		// value (an email a SAML NameID also is) may name a user whose links others change.
		v.Message += "; --merge-signed-in merges only rows that name the identity by Cognito_Subject, the ID its profile is named by"
		return v, nil
	}
	return l.Merge.merge(t, "")
}

// once links the row: read first, or written and settled.
func (l Link) once(t *Task) (Verdict, error) {
	if l.First.first() {
		l.First.Read.Add(1)
		dest, err := t.Destination()
		var re *readError
		switch {
		case errors.As(err, &re): // the write will tell
		case err != nil:
			return Verdict{}, err
		case !dest.Exists:
			return Verdict{Status: report.Failed, Code: "UserNotFoundException", Message: "the destination user does not exist"}, nil
		default:
			if _, ok := dest.Find(t.Request.SourceProvider, t.Request.SourceValue); ok {
				return l.inPlace(t, dest), nil
			}
		}
	}
	_, res, err := write(t, call.Link, linkInput(&t.Request))
	switch {
	case err != nil:
		return Verdict{}, err
	case res.OK():
		return Verdict{Status: report.Linked}, nil
	case !res.MaybeDone && !res.Unknown:
		return failed(res), nil
	}
	h := t.History()
	h.Unknown, h.Code, h.Message = res.Unknown, res.Code, answerOf(res)
	return t.settle(h, l.Settle)
}

// inPlace settles a row whose link the read before the write found in place: already
// linked, unless this report's runs made it (its date is after the report began: an earlier,
// stopped run of the report sent it), as Settle decides.
func (l Link) inPlace(t *Task, dest *Destination) Verdict {
	v := l.Settle(&t.Target, dest, t.History())
	if v.Status == report.Linked {
		v.Message = noteMadeByEarlierRun
	}
	return v
}

// linkInput is the AdminLinkProviderForUser request of a row.
func linkInput(r *input.Request) *cip.AdminLinkProviderForUserInput {
	return &cip.AdminLinkProviderForUserInput{
		UserPoolId: aws.String(r.UserPoolID),
		DestinationUser: &types.ProviderUserIdentifierType{
			ProviderName:           aws.String(r.DestinationProvider),
			ProviderAttributeValue: aws.String(r.DestinationUser),
		},
		SourceUser: sourceUser(r),
	}
}

// sourceUser is a request's source identity, as the API names a user.
func sourceUser(r *input.Request) *types.ProviderUserIdentifierType {
	return &types.ProviderUserIdentifierType{
		ProviderName:           aws.String(r.SourceProvider),
		ProviderAttributeName:  aws.String(r.SourceAttribute),
		ProviderAttributeValue: aws.String(r.SourceValue),
	}
}

// signedInAnswer reports whether an answer is Cognito's refusal of a source that has signed
// in already ("Merging is not currently supported").
func signedInAnswer(code, msg string) bool {
	return code == "InvalidParameterException" && strings.Contains(msg, call.MergingMessage)
}

// ProfileName is the username of the profile an identity got when it signed in to the pool
// by itself: <Provider>_<value> (docs/cognito.md, Federated profiles).
func ProfileName(r *input.Request) string { return r.SourceProvider + "_" + r.SourceValue }

// Notes on rows settled by reading the user.
const (
	noteMadeByLostAttempt = "link found in place, made by an earlier attempt of this run whose answer was lost"
	noteMadeByEarlierRun  = "link found in place before the write, made since this report began (by an earlier run of it that stopped)"
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
