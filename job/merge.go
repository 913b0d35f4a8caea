package job

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/bulklink/bulklink/call"
	"github.com/bulklink/bulklink/input"
	"github.com/bulklink/bulklink/plan"
	"github.com/bulklink/bulklink/report"
	"github.com/bulklink/bulklink/schema"
)

// Merging makes Link merge an identity that has signed in already, and so has a profile of
// its own (<Provider>_<id>, which Cognito will not link: "Merging is not currently
// supported"), into the row's destination: run --merge-signed-in. It is done like a database
// migration (docs/merge.md):
//
//  1. Preconditions, read before any write of the merge (else the row is invalid, with a
//     code): the profile is a federated one (EXTERNAL_PROVIDER) holding one identity, the
//     row's; the destination exists, is enabled, is not the profile and holds fewer than five
//     identities; both emails are verified and equal, unless Unverified.
//  2. Backup: the profile's whole AdminGetUser answer and its groups, written to the report's
//     backup file and fsynced before anything is deleted.
//  3. AdminUserGlobalSignOut on the profile, AdminDeleteUser, AdminLinkProviderForUser, then
//     a read of the destination confirms the link.
//
// Each step is journalled (on stable storage) before it is sent; a resumed run continues a
// half-merged row from the step it reached, a read deciding what that step did: a profile
// deleted but not linked is linked, never left so; a delete is never sent without the
// profile's backup on disk, and never twice (a profile read again is deleted only when its
// sub is the one backed up: a new profile, made by a sign-in since, is not touched).
type Merging struct {
	Backups *report.Backups
	// Unverified merges whatever the emails say (--merge-unverified).
	Unverified bool
	// Failpoint, when set, is called at each point of a merge (docs/merge.md, Crash points):
	// the tests kill the process there.
	Failpoint func(point string)
}

// The steps of a merge, as the journal names them.
const (
	stepSignOut = "signout"
	stepDelete  = "delete"
	stepLink    = "link"
)

func (m *Merging) fail(point string) {
	if m.Failpoint != nil {
		m.Failpoint(point)
	}
}

// merge merges the row's identity from its profile into its destination, from the step an
// earlier run reached ("" for a row to merge from the start).
func (m *Merging) merge(t *Task, reached string) (Verdict, error) {
	r := &t.Request
	m.fail("merge")
	profile, err := m.readProfile(t, profileNames(t.Row, r))
	if err != nil {
		return Verdict{}, err
	}
	// gone is a profile this row backed up that is gone: deleted by this row's merge (a
	// resumed one), or by someone else meanwhile.
	var gone *report.Merge
	if username, sub, ok := m.Backups.Of(t.Row.Line); ok && reached != "" {
		if profile.Exists && profile.Attr("sub") == sub {
			// The profile backed up is still there. The preconditions were read before the
			// stop, maybe hours ago: read them again before anything is deleted.
			dest, err := t.Destination()
			if err != nil {
				return Verdict{}, m.readFailed(err)
			}
			if v := checkMerge(t.Row, r, profile, dest, m.Unverified); v.Status != "" {
				return v, nil
			}
			return m.signOutDeleteLink(t, username, sub)
		}
		if err := m.deleted(t, username, sub); err != nil {
			return Verdict{}, err
		}
		gone = &report.Merge{Username: username, Sub: sub}
		if !profile.Exists {
			return m.link(t, username, sub)
		}
		// The identity signed in again since, and has a new profile: merge it from the start.
	}
	if !profile.Exists {
		// Cognito said the identity has a profile, and there is none: it was deleted
		// meanwhile. Link it as any row.
		return Link{}.once(t)
	}
	v, err := m.prepare(t, profile)
	switch {
	case err != nil:
		return Verdict{}, err
	case v.Status != "" && gone != nil:
		return m.signedInAgain(gone, aws.ToString(profile.User.Username), profile.Attr("sub"), v.Message), nil
	case v.Status != "":
		return v, nil
	}
	return m.signOutDeleteLink(t, aws.ToString(profile.User.Username), profile.Attr("sub"))
}

// signOutDeleteLink signs the profile backed up out, deletes it and links the identity.
func (m *Merging) signOutDeleteLink(t *Task, username, sub string) (Verdict, error) {
	r := &t.Request
	m.fail("signout")
	t.writeUser = t.Row.UserOf(username).String()
	_, res, err := writeStep(t, stepSignOut, call.SignOut, &cip.AdminUserGlobalSignOutInput{UserPoolId: aws.String(r.UserPoolID), Username: aws.String(username)})
	switch {
	case err != nil:
		return Verdict{}, err
	case res.OK(), res.Code == "UserNotFoundException", res.Unknown:
		// Gone already, or unknown: the delete reads the profile before it is sent, and its
		// end ends the profile's sessions too.
	default:
		return Verdict{Status: report.Failed, Code: res.Code, Message: fmt.Sprintf(
			"the sign-out of the profile %s failed: %s; nothing was deleted (its backup is in %s)", username, answerOf(res), m.Backups.Path())}, nil
	}
	m.fail("signed-out")
	if v, err := m.delete(t, username, sub); err != nil || v.Status != "" {
		return v, err
	}
	return m.link(t, username, sub)
}

// profileNames are the usernames the identity's own profile may have: <Provider>_<value>,
// and with the provider's name in lower case (Cognito has written it so); in a pool whose
// usernames are case-insensitive the two are one.
func profileNames(row *plan.Item, r *input.Request) []string {
	name := ProfileName(r)
	lower := strings.ToLower(r.SourceProvider) + "_" + r.SourceValue
	if row.UserOf(name) == row.UserOf(lower) {
		return []string{name}
	}
	return []string{name, lower}
}

// readProfile reads the identity's profile by each of its names: the first user that is the
// identity's federated profile (its own identity, primary, is the row's), else the first user
// of those names, which the preconditions then refuse; one that does not exist under any
// name is a Destination that does not exist.
func (m *Merging) readProfile(t *Task, names []string) (*Destination, error) {
	var first *Destination
	for _, name := range names {
		p, err := t.ReadUser(name)
		if err != nil {
			return nil, m.readFailed(err)
		}
		switch {
		case !p.Exists:
		case ownIdentity(p, &t.Request):
			return p, nil
		case first == nil:
			first = p
		}
	}
	if first != nil {
		return first, nil
	}
	return &Destination{}, nil
}

// ownIdentity reports whether a user is the federated profile of the request's identity:
// its own identity (primary) is the source's.
func ownIdentity(p *Destination, r *input.Request) bool {
	for _, id := range p.Identities {
		if id.Primary && id.ProviderName == r.SourceProvider && id.UserID == r.SourceValue {
			return true
		}
	}
	return false
}

// readFailed turns a read that failed for good into an error that stops the row without a
// record: a merge does not go on, nor end, on what it could not read.
func (m *Merging) readFailed(err error) error {
	var re *readError
	if errors.As(err, &re) && re.res.Code == codeUnreadableUser {
		return &FatalError{Code: re.res.Code, Message: re.res.Message +
			": a merge does not go on with a user it cannot read; fix the user, or take the row out of the input, and run the same command"}
	}
	if errors.As(err, &re) {
		return &FatalError{Code: re.res.Code, Err: re.res.Err, Message: fmt.Sprintf(
			"a merge could not read a user: %s; run the same command to resume: the row goes on from where it stopped", re.res.Message)}
	}
	return err
}

// prepare checks the preconditions of a merge from the profile and the destination, reads
// the profile's groups, and backs the profile up. A Verdict with a status ends the row.
func (m *Merging) prepare(t *Task, profile *Destination) (Verdict, error) {
	dest, err := t.Destination()
	if err != nil {
		return Verdict{}, m.readFailed(err)
	}
	if v := checkMerge(t.Row, &t.Request, profile, dest, m.Unverified); v.Status != "" {
		return v, nil
	}
	username := aws.ToString(profile.User.Username)
	groups, err := m.groups(t, username)
	if err != nil {
		return Verdict{}, err
	}
	m.fail("backup")
	if err := m.Backups.Write(backupOf(t, profile, dest, groups)); err != nil {
		return Verdict{}, &sinkError{fmt.Errorf("back the profile %s up: %w", username, err)}
	}
	m.fail("backed-up")
	return Verdict{}, nil
}

// checkMerge judges the preconditions of merging the identity of a row from its profile into
// its destination, both read: the zero Verdict when they hold, else the row's verdict
// (invalid, with a code; failed when the destination does not exist, as a link would).
func checkMerge(row *plan.Item, r *input.Request, profile, dest *Destination, unverified bool) Verdict {
	username := aws.ToString(profile.User.Username)
	invalid := func(code schema.Code, format string, args ...any) Verdict {
		return Verdict{Status: report.Invalid, Code: code, Message: fmt.Sprintf(format, args...) + "; nothing was deleted"}
	}
	if st := string(profile.User.UserStatus); st != "EXTERNAL_PROVIDER" {
		return invalid(schema.MergeProfileNotFederated, "%s is not the profile of a federated sign-in (its status is %s, not EXTERNAL_PROVIDER)", username, st)
	}
	if len(profile.Identities) != 1 || profile.Identities[0].ProviderName != r.SourceProvider || profile.Identities[0].UserID != r.SourceValue {
		return invalid(schema.MergeProfileHasOtherIdentities, "the profile %s holds %d identities (%s), not only the row's: deleting it would unlink them",
			username, len(profile.Identities), identityList(profile.Identities))
	}
	destName := input.DestinationUsername(r)
	switch {
	case !dest.Exists:
		return Verdict{Status: report.Failed, Code: "UserNotFoundException", Message: "the destination user does not exist; nothing was deleted"}
	case row.Key() == row.UserOf(username):
		return invalid(schema.MergeConflict, "the destination %s is the profile itself", destName)
	case !dest.User.Enabled:
		return invalid(schema.DestinationDisabled, "the destination %s is disabled: the identity would move to a user who cannot sign in", destName)
	case countLinks(dest, destName) >= plan.MaxIdentities:
		return invalid(schema.TooManyIdentities, "the destination %s holds %d identities already, Cognito's most", destName, countLinks(dest, destName))
	}
	if unverified {
		return Verdict{}
	}
	pv, dv := profile.Attr("email_verified") == "true", dest.Attr("email_verified") == "true"
	pe, de := plan.EmailKey(profile.Attr("email")), plan.EmailKey(dest.Attr("email"))
	switch {
	case !pv || !dv:
		return invalid(schema.MergeEmailNotVerified, "the email of %s is not verified: a merge needs both emails verified and equal (or --merge-unverified)", unverified1(username, pv, destName, dv))
	case pe == "" || pe != de:
		return invalid(schema.MergeEmailMismatch, "the profile's email (%q) is not the destination's (%q): a merge needs both emails verified and equal (or --merge-unverified)", pe, de)
	}
	return Verdict{}
}

// unverified1 names the users whose email is not verified.
func unverified1(profile string, pv bool, dest string, dv bool) string {
	switch {
	case !pv && !dv:
		return "both " + profile + " and " + dest
	case !pv:
		return "the profile " + profile
	}
	return "the destination " + dest
}

func identityList(ids []Identity) string {
	var s []string
	for _, id := range ids {
		s = append(s, id.ProviderName+" "+id.UserID)
	}
	return strings.Join(s, ", ")
}

// groups reads the groups the profile belongs to (AdminListGroupsForUser, in the
// UserResourceRead category), every page.
func (m *Merging) groups(t *Task, username string) ([]report.Group, error) {
	var gs []report.Group
	in := &cip.AdminListGroupsForUserInput{UserPoolId: aws.String(t.Request.UserPoolID), Username: aws.String(username), Limit: aws.Int32(60)}
	for {
		out, res, err := call.Do(t.intake, t.j.calls, call.ListGroups, t.j.api, in, call.Opts{Region: t.region})
		if err != nil {
			return nil, t.j.fatal(t, err)
		}
		if !res.OK() {
			return nil, m.readFailed(&readError{res})
		}
		for _, g := range out.Groups {
			gs = append(gs, report.Group{Name: aws.ToString(g.GroupName), Description: aws.ToString(g.Description),
				Precedence: g.Precedence, RoleArn: aws.ToString(g.RoleArn)})
		}
		if in.NextToken = out.NextToken; aws.ToString(in.NextToken) == "" {
			return gs, nil
		}
	}
}

// backupOf is the backup of a profile about to be deleted.
func backupOf(t *Task, profile, dest *Destination, groups []report.Group) *report.Backup {
	u := profile.User
	b := &report.Backup{Line: t.Row.Line, UserPoolID: t.Request.UserPoolID, Username: aws.ToString(u.Username), Sub: profile.Attr("sub"),
		UserStatus: string(u.UserStatus), Enabled: u.Enabled, Created: aws.ToTime(u.UserCreateDate), Modified: aws.ToTime(u.UserLastModifiedDate),
		PreferredMFA: aws.ToString(u.PreferredMfaSetting), MFASettings: u.UserMFASettingList, Groups: groups,
		Destination: input.DestinationUsername(&t.Request), DestinationSub: dest.Attr("sub"), BackedUpAt: time.Now().UTC(),
		ReportCreated: t.j.cfg.Since.UTC()}
	for _, a := range u.UserAttributes {
		b.Attributes = append(b.Attributes, report.Attr{Name: aws.ToString(a.Name), Value: aws.ToString(a.Value)})
	}
	for _, o := range u.MFAOptions {
		b.MFAOptions = append(b.MFAOptions, report.MFA{DeliveryMedium: string(o.DeliveryMedium), AttributeName: aws.ToString(o.AttributeName)})
	}
	if b.Groups == nil {
		b.Groups = []report.Group{}
	}
	return b
}

// maxDeletes bounds the deletes of one profile that a merge sends when their answers are
// lost and the profile is still there each time, as call's attempts bound a call's.
const maxDeletes = call.DefaultMaxAttempts

// delete deletes the profile backed up (its username and sub). A delete is never sent blind:
// before each one the profile is read, and it is deleted only when its sub is the one backed
// up; gone, it is deleted (by this merge, or someone else). Once a delete is sent, the row
// finishes within the grace period of a stop: its link must follow. A Verdict with a status
// ends the row.
func (m *Merging) delete(t *Task, username, sub string) (Verdict, error) {
	r := &t.Request
	t.writeUser = t.Row.UserOf(username).String()
	var last call.Result
	for n := 1; ; n++ {
		if n > 1 {
			if err := t.j.calls.Pause(t.hard, n-1); err != nil {
				return Verdict{}, err
			}
		}
		p, err := t.ReadUser(username)
		if err != nil {
			return Verdict{}, m.readFailed(err)
		}
		switch {
		case !p.Exists:
			return Verdict{}, m.deleted(t, username, sub)
		case p.Attr("sub") != sub:
			// The name is another user's now: the profile backed up is gone, and a sign-in
			// since made a new one. That one has no backup: it is not touched.
			if err := m.deleted(t, username, sub); err != nil {
				return Verdict{}, err
			}
			return m.signedInAgain(&report.Merge{Username: username, Sub: sub}, username, p.Attr("sub"), ""), nil
		case n > maxDeletes:
			return Verdict{Status: report.Failed, Code: last.Code, Message: fmt.Sprintf(
				"the profile %s is still there after %d deletes whose answers were lost, the last %s; it is not deleted (its backup is in %s)",
				username, maxDeletes, answerOf(last), m.Backups.Path())}, nil
		}
		m.fail("delete")
		_, res, err := writeStep(t, stepDelete, call.Delete, &cip.AdminDeleteUserInput{UserPoolId: aws.String(r.UserPoolID), Username: aws.String(username)})
		last = res
		if res.Attempts > 0 {
			t.committed = true // the profile may be gone: what follows finishes in the grace period
		}
		switch {
		case err != nil:
			return Verdict{}, err
		case res.OK(), res.Code == "UserNotFoundException":
			if err := m.deleted(t, username, sub); err != nil {
				return Verdict{}, err
			}
			m.fail("deleted")
			return Verdict{}, nil
		case !res.Unknown:
			return Verdict{Status: report.Failed, Code: res.Code, Message: fmt.Sprintf(
				"the delete of the profile %s failed: %s; it is not deleted (its backup is in %s)", username, answerOf(res), m.Backups.Path())}, nil
		}
	}
}

// deleted notes in the backup file that the row's profile (username, sub) is gone: the sub
// map is made of these notes.
func (m *Merging) deleted(t *Task, username, sub string) error {
	if err := m.Backups.Deleted(t.Row.Line, username, sub); err != nil {
		return &sinkError{fmt.Errorf("note the delete of %s: %w", username, err)}
	}
	return nil
}

// signedInAgain is the verdict of a row whose profile backed up (gone) was deleted, and whose
// identity then signed in again, making a new profile (newUsername, newSub) before it could be
// linked: it is linked to no one but that profile; why says why the new one was not merged
// too, when that was tried.
func (m *Merging) signedInAgain(gone *report.Merge, newUsername, newSub, why string) Verdict {
	msg := fmt.Sprintf("the profile %s (sub %s) was deleted (its backup is in %s), but the identity signed in again before the link and has a new profile, %s (sub %s): "+
		"it is not linked to the row's user", gone.Username, gone.Sub, m.Backups.Path(), newUsername, newSub)
	if why != "" {
		msg += "; the new profile is not merged: " + why
	} else {
		msg += "; run the row again (--only failed) to merge the new profile"
	}
	return Verdict{Status: report.Failed, Code: schema.MergeLinkFailedAfterDelete, Merge: gone, Message: msg}
}

// maxLinks bounds the links a merge sends when their answers are lost or the attempts run out,
// and the destination does not show the link; then the run stops, and the same command links
// the row.
const maxLinks = call.DefaultMaxAttempts

// link links the identity to the destination, after its profile was deleted, and reads the
// destination to confirm it. It ends the row failed (MergeLinkFailedAfterDelete) only for a
// refusal for good; a link it could not make for want of answers stops the run instead, and
// the same command links the row. Once here, the row finishes within the grace period of a
// stop.
func (m *Merging) link(t *Task, username, sub string) (Verdict, error) {
	t.writeUser, t.committed = "", true
	done := &report.Merge{Username: username, Sub: sub}
	failed := func(why string) Verdict {
		return Verdict{Status: report.Failed, Code: schema.MergeLinkFailedAfterDelete, Merge: done, Message: fmt.Sprintf(
			"the profile %s was deleted (its backup is in %s), but the link failed: %s; the identity is not linked to anyone, and its next sign-in makes a new profile",
			username, m.Backups.Path(), why)}
	}
	var last call.Result
	for n := 1; n <= maxLinks; n++ {
		if n > 1 {
			if err := t.j.calls.Pause(t.hard, n-1); err != nil {
				return Verdict{}, err
			}
		}
		m.fail("link")
		_, res, err := writeStep(t, stepLink, call.Link, linkInput(&t.Request))
		if err != nil {
			return Verdict{}, err
		}
		m.fail("linked")
		last = res
		if !res.OK() && !res.Unknown && !res.MaybeDone && !res.Exhausted {
			return failed(answerOf(res)), nil
		}
		dest, err := t.Destination()
		if err != nil {
			return Verdict{}, m.readFailed(err)
		}
		if _, ok := dest.Find(t.Request.SourceProvider, t.Request.SourceValue); ok {
			done.DestinationSub = dest.Attr("sub")
			return Verdict{Status: report.Merged, Merge: done, Message: fmt.Sprintf(
				"merged: the profile %s (sub %s) was backed up to %s and deleted, and its identity linked", username, sub, m.Backups.Path())}, nil
		}
		switch {
		case res.OK():
			return failed("Cognito answered the link, and the destination does not show it"), nil
		case signedInAnswer(res.Code, res.Message):
			p, err := t.ReadUser(ProfileName(&t.Request))
			if err != nil {
				return Verdict{}, m.readFailed(err)
			}
			if p.Exists {
				return m.signedInAgain(done, aws.ToString(p.User.Username), p.Attr("sub"), ""), nil
			}
		case res.MaybeDone:
			return failed(answerOf(res) + " (the identity is linked to another user)"), nil
		}
	}
	return Verdict{}, &FatalError{Line: t.Row.Line, Code: last.Code, Err: last.Err, Message: fmt.Sprintf(
		"the link of a merged identity could not be made after its profile %s was deleted (%d tries): %s; run the same command once Cognito answers: the row goes on from its link",
		username, maxLinks, answerOf(last))}
}
