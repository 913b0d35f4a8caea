package schema

// Status is a row's outcome, as the report's status column holds it.
type Status string

// The statuses, by the command that writes them.
const (
	Linked        Status = "linked"         // run: this run made the link
	Merged        Status = "merged"         // run --merge-signed-in: the identity's own profile was backed up and deleted, then the identity linked
	AlreadyLinked Status = "already_linked" // run: the link was in place before, confirmed by reading the user
	Failed        Status = "failed"         // run, undo: refused for good, or out of retries
	Invalid       Status = "invalid"        // run, validate: rejected before any call
	Valid         Status = "valid"          // validate: run would send the row
	Unlinked      Status = "unlinked"       // undo: this run removed the link
	NotLinked     Status = "not_linked"     // undo: there was no link to remove
)

// A StatusInfo describes a status.
type StatusInfo struct {
	Status Status
	// OK statuses leave the exit code at 0; the others make it 1.
	OK  bool
	Doc string
}

// Statuses is the table of statuses.
var Statuses = [...]StatusInfo{
	{Linked, true, "this run made the link"},
	{AlreadyLinked, true, "the link was in place before this run, confirmed by reading the destination user"},
	{Merged, true, "run --merge-signed-in: the identity had signed in already; its own profile was backed up and deleted, then the identity linked (see Merge)"},
	{Failed, false, "Cognito refused the row for good, or its retries ran out; error_code says why"},
	{Invalid, false, "the row was rejected before any call; error_code says which rule it broke"},
	{Valid, true, "validate: run would send the row"},
	{Unlinked, true, "undo: this run removed the link"},
	{NotLinked, true, "undo: there was no link to remove (Cognito said so, and reading the user confirmed it)"},
}

// OK reports whether the status leaves the exit code at 0.
func (s Status) OK() bool {
	for _, i := range Statuses {
		if i.Status == s {
			return i.OK
		}
	}
	return false
}

// Known reports whether s is one of the statuses.
func (s Status) Known() bool {
	for _, i := range Statuses {
		if i.Status == s {
			return true
		}
	}
	return false
}

// A Command is a bulklink command that writes a report.
type Command string

// The commands that write reports.
const (
	Run      Command = "run"
	Validate Command = "validate"
	Undo     Command = "undo"
)

// Final returns the statuses a report of the command holds: a record with one of them
// means its row is done, and a resumed run does not send it again.
func (c Command) Final() []Status {
	switch c {
	case Run:
		return []Status{Linked, AlreadyLinked, Merged, Failed, Invalid}
	case Validate:
		return []Status{Valid, AlreadyLinked, Invalid}
	case Undo:
		return []Status{Unlinked, NotLinked, Failed, Invalid}
	}
	return nil
}
