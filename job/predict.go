package job

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"

	"github.com/bulklink/bulklink/call"
	"github.com/bulklink/bulklink/input"
	"github.com/bulklink/bulklink/plan"
	"github.com/bulklink/bulklink/report"
	"github.com/bulklink/bulklink/schema"
)

// Predictor tells what run would do to each row, from reads only (validate --predict): it
// reads each destination user and, for an identity named by its subject, the source's
// <Provider>_<value> profile, at the read rate. Rows come in input order: the identities a
// user would be given are counted as they come, beside those it has, so that the rows past
// Cognito's five are the ones run would see refused.
type Predictor struct {
	API   API
	Calls *call.Caller // its reads go in the UserRead category, at the read rate
	// Merge predicts run --merge-signed-in (Unverified: --merge-unverified): a row whose
	// identity signed in already is valid when its merge's preconditions hold (checkMerge).
	Merge, Unverified bool

	seed  maphash.Seed
	given map[uint64]int  // identities a user would hold, by user: theirs and the input's
	last  plan.UserKey    // the user read last
	dest  *Destination    // and what it held
	links map[uint64]bool // identities the prediction links, to tell repeats
}

func (p *Predictor) init() {
	if p.given == nil {
		p.seed, p.given, p.links = maphash.MakeSeed(), map[uint64]int{}, map[uint64]bool{}
	}
}

// read reads a user of a pool; a read that fails for good is an error.
func (p *Predictor) read(ctx context.Context, pool, username string, line int) (*Destination, error) {
	d, err := getUser(ctx, p.Calls, p.API, pool, username)
	var re *readError
	switch {
	case errors.Is(err, call.ErrCancelled):
		return nil, context.Cause(ctx)
	case errors.As(err, &re):
		return nil, fmt.Errorf("read %s: %w", username, err)
	case err != nil:
		return nil, withLine(err, line)
	}
	return d, nil
}

// Predict judges one valid row: valid (run would link it), already_linked, or invalid with
// DestinationNotFound, SourceAlreadySignedIn or IdentityLimitReached. A read that fails for
// good is an error: the prediction cannot be made.
func (p *Predictor) Predict(ctx context.Context, row *plan.Item) (report.Status, schema.Code, string, error) {
	p.init()
	q := &row.Request
	user := input.DestinationUsername(q)
	who := row.Key()
	dest, err := p.destination(ctx, who, row.Line)
	if err != nil {
		return "", "", "", err
	}
	if !dest.Exists {
		return report.Invalid, schema.DestinationNotFound, fmt.Sprintf("destination user %s does not exist in %s", user, q.UserPoolID), nil
	}
	identity := maphash.String(p.seed, who.String()+"\x00"+q.SourceProvider+"\x00"+q.SourceValue)
	if _, ok := dest.Find(q.SourceProvider, q.SourceValue); ok {
		return report.AlreadyLinked, "", "the link is in place", nil
	}
	if p.links[identity] {
		return report.AlreadyLinked, "", "an earlier row of the input makes this link", nil
	}
	merging := ""
	if q.SourceAttribute == input.DefaultSourceAttribute {
		for _, profile := range profileNames(row, q) {
			src, err := p.read(ctx, q.UserPoolID, profile, row.Line)
			if err != nil {
				return "", "", "", err
			}
			if !src.Exists || !ownIdentity(src, q) {
				continue // no user of that name, or one that is not the identity's profile: Cognito links it
			}
			if !p.Merge {
				return report.Invalid, schema.SourceAlreadySignedIn, fmt.Sprintf(
					"the identity has signed in already (user %s exists): Cognito does not link an identity that has a profile of its own (run --merge-signed-in merges it)", profile), nil
			}
			if v := checkMerge(row, q, src, dest, p.Unverified); v.Status != "" {
				return v.Status, v.Code, v.Message, nil
			}
			merging = fmt.Sprintf("would merge: the profile %s would be backed up and deleted, and the identity linked", profile)
			break
		}
	}
	key := maphash.String(p.seed, who.String())
	has := countLinks(dest, user)
	n, seen := p.given[key]
	if !seen {
		n = has
	}
	if n >= plan.MaxIdentities {
		return report.Invalid, schema.IdentityLimitReached, fmt.Sprintf(
			"%s would hold more than %d identities: it has %d, and the rows before this one add %d", user, plan.MaxIdentities, has, n-has), nil
	}
	p.given[key] = n + 1
	p.links[identity] = true
	return report.Valid, "", merging, nil
}

// countLinks counts the identities linked to a user, a federated profile's own aside.
func countLinks(d *Destination, username string) int {
	n := 0
	for _, id := range d.Identities {
		if username != id.ProviderName+"_"+id.UserID {
			n++
		}
	}
	return n
}

// destination reads a destination user, once for the rows of a user that come together.
func (p *Predictor) destination(ctx context.Context, who plan.UserKey, line int) (*Destination, error) {
	if p.dest != nil && p.last == who {
		return p.dest, nil
	}
	d, err := p.read(ctx, who.Pool, who.Name, line)
	if err != nil {
		return nil, err
	}
	p.last, p.dest = who, d
	return d, nil
}
