//go:build !unix

package safefile

// bulklink builds for Linux and macOS only. The safety of its report relies on what those
// systems offer and this one does not in the same way: opening without following a link
// (O_NOFOLLOW) or blocking (O_NONBLOCK), a file's owner in stat, and flock. README.md,
// Platforms, lists the platforms. The names below are undefined on purpose: the compiler's
// errors are the message.
var (
	_ = bulklink_builds_for_Linux_and_macOS_only
	_ = its_report_relies_on_O_NOFOLLOW_file_owners_and_flock
	_ = see_README_md_Platforms
)
