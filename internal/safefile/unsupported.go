//go:build !unix

package safefile

// bulklink supports Linux and macOS only (README.md, Platforms): the safety of its reports
// relies on what those systems offer and this one does not in the same way, opening without
// following a link (O_NOFOLLOW) or waiting (O_NONBLOCK), a file's owner in stat, and flock.
// The names below are undefined on purpose: the compiler's errors are the message.
var (
	_ = bulklink_supports_Linux_and_macOS_only
	_ = the_safety_of_its_reports_relies_on_O_NOFOLLOW_file_ownership_checks_and_flock
	_ = see_README_md_Platforms
)
