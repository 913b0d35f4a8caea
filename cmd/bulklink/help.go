package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/agnivade/levenshtein"
	"github.com/spf13/pflag"
)

// The help of every command is written here, not generated: a synopsis, what the command
// does, examples, its flags grouped by purpose, and its exit codes. pflag formats the flags
// (names, placeholders, defaults, wrapping); the rest is bulklink's text.

// flagGroups registers a command's flags under titles, which its help prints in this order.
type flagGroups struct {
	groups []flagGroup
}

type flagGroup struct {
	title string
	fs    *pflag.FlagSet
}

// The titles of the groups, in the order help prints them.
const (
	groupInput  = "Input"
	groupReport = "Report and resume"
	groupAWS    = "AWS"
	groupTrust  = "Trust"
	groupPace   = "Pace and retries"
	groupOutput = "Output"
)

func newFlagGroups(titles ...string) *flagGroups {
	if len(titles) == 0 {
		titles = []string{groupInput, groupReport, groupAWS, groupTrust, groupPace, groupOutput}
	}
	g := &flagGroups{}
	for _, t := range titles {
		g.group(t)
	}
	return g
}

// group returns the flag set of the group titled title, made on first use.
func (g *flagGroups) group(title string) *pflag.FlagSet {
	for _, gr := range g.groups {
		if gr.title == title {
			return gr.fs
		}
	}
	fs := pflag.NewFlagSet(title, pflag.ContinueOnError)
	fs.SortFlags = false
	g.groups = append(g.groups, flagGroup{title, fs})
	return fs
}

// lookup returns the flag named name, in whichever group it is.
func (g *flagGroups) lookup(name string) *pflag.Flag {
	for _, gr := range g.groups {
		if f := gr.fs.Lookup(name); f != nil {
			return f
		}
	}
	return nil
}

// addTo adds every group's flags to fs, the flag set that is parsed.
func (g *flagGroups) addTo(fs *pflag.FlagSet) {
	for _, gr := range g.groups {
		fs.AddFlagSet(gr.fs)
	}
}

// exitCodes are the exit codes of the commands that link, validate or undo.
var exitCodes = map[string]string{
	"run": `  0        every row ended linked or already_linked
  1        the run finished, and some rows ended failed or invalid (see the report)
  2        usage or configuration error: bad flags, unreadable input, a report of another input
  3        aborted by a fatal condition (pool not found, access denied, credentials,
           --max-failures); the report is consistent: run the same command to resume
  75       another run holds the report's lock
  130/143  stopped by SIGINT (Ctrl-C) / SIGTERM after rows in flight finished; resumable`,
	"validate": `  0        every row is valid
  1        some rows are invalid (listed, or in --report)
  2        usage or configuration error: bad flags, unreadable input
  3        --online or --predict, and Cognito could not be read; or the --user-pool-id pool
           does not exist
  75       another command holds the report's lock
  130/143  stopped by SIGINT (Ctrl-C) / SIGTERM`,
	"undo": `  0        every row ended unlinked or not_linked
  1        the undo finished, and some rows ended failed (see the undo report)
  2        usage or configuration error, or not confirmed
  3        aborted by a fatal condition; run the same command to resume
  75       another command holds the lock of either report
  130/143  stopped by SIGINT (Ctrl-C) / SIGTERM after rows in flight finished; resumable`,
	"discover": discoverExitCodes,
	"report": `  0        shown
  2        usage error, or the report cannot be read`,
	"emulate": `  0        stopped by Ctrl-C or SIGTERM
  2        bad flags, an unreadable seed, an address that cannot be listened on
  3        serving failed`,
}

// help writes the command's help to w.
func (c *command) help(w io.Writer) {
	width := helpWidth(w)
	fmt.Fprintf(w, "bulklink %s: %s\n\nUsage:\n  bulklink %s %s\n", c.name, c.short, c.name, c.synopsis)
	if c.long != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(c.long))
	}
	if c.examples != "" {
		fmt.Fprintf(w, "\nExamples:\n%s\n", indent(strings.TrimSpace(c.examples), "  "))
	}
	col := 0 // where the flags' descriptions start: after the longest name, within reason
	for _, g := range c.groups.groups {
		g.fs.VisitAll(func(f *pflag.Flag) { col = max(col, len(flagName(f))) })
	}
	col = min(col+4, 30)
	for _, g := range c.groups.groups {
		if !g.fs.HasAvailableFlags() {
			continue
		}
		fmt.Fprintf(w, "\n%s:\n", g.title)
		g.fs.VisitAll(func(f *pflag.Flag) { writeFlag(w, f, col, width) })
	}
	if codes, ok := exitCodes[c.name]; ok {
		fmt.Fprintf(w, "\nExit codes:\n%s\n", codes)
	}
	fmt.Fprintf(w, "\nFlags are spelled --name value or --name=value. Every command: bulklink help\n")
}

// flagName is a flag as help shows it: --name and its placeholder, the word the usage
// quotes with backquotes, as the standard library's flag package does.
func flagName(f *pflag.Flag) string {
	name, _ := pflag.UnquoteUsage(f)
	if f.Value.Type() == "bool" {
		return "--" + f.Name
	}
	return "--" + f.Name + " " + name
}

// writeFlag writes one flag's line: its name, then its usage from column col, wrapped at
// width, with its default when it has one worth telling.
func writeFlag(w io.Writer, f *pflag.Flag, col, width int) {
	if f.Hidden {
		return
	}
	_, usage := pflag.UnquoteUsage(f)
	switch f.DefValue {
	case "", "0", "false", "0s", "[]":
	default:
		if f.Value.Type() == "string" {
			usage += fmt.Sprintf(" (default %q)", f.DefValue)
		} else {
			usage += fmt.Sprintf(" (default %s)", f.DefValue)
		}
	}
	name := "  " + flagName(f)
	if len(name)+2 > col {
		fmt.Fprintln(w, name)
		name = ""
	}
	line := fmt.Sprintf("%-*s", col, name)
	n := col
	for _, word := range strings.Fields(usage) {
		if n > col && n+1+len(word) > width {
			fmt.Fprintln(w, strings.TrimRight(line, " "))
			line, n = strings.Repeat(" ", col), col
		}
		if n > col {
			line += " "
			n++
		}
		line += word
		n += len(word)
	}
	fmt.Fprintln(w, line)
}

// rootHelp writes the list of commands to w.
func rootHelp(w io.Writer, cmds []*command) {
	fmt.Fprintf(w, "bulklink links existing Amazon Cognito user-pool users to external identities in bulk.\n\nUsage:\n  bulklink COMMAND [flags]\n\nCommands:\n")
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.short)
	}
	fmt.Fprintf(w, "  %-9s %s\n", "help", "the help of a command: bulklink help run")
	fmt.Fprint(w, `
Examples:
  bulklink validate --input links.csv --user-pool-id us-east-1_AbCdEf123
  bulklink run --input links.csv --user-pool-id us-east-1_AbCdEf123 --report links.report.csv
  bulklink report links.report.csv --status failed

Run 'bulklink help COMMAND' (or bulklink COMMAND --help) for its flags and exit codes;
README.md is the manual. Shell completion: bulklink completion bash|zsh|fish|powershell.
`)
}

// helpWidth is the width help wraps at: the terminal's, within reason, or 80.
func helpWidth(w io.Writer) int {
	if n := terminalWidth(w); n > 0 {
		return min(max(n, 60), 120)
	}
	return 80
}

func indent(s, prefix string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "\n")
}

// nearest returns the name of names that typed most likely meant, or "" when none is close:
// the only one typed starts, or the one fewest edits away, within maxEdits (0: a third of
// the typed length, at least 2) and half the typed length. Suggestions for mistyped flags and commands use it, and
// agnivade/levenshtein measures the edits (the input package uses it for column names).
func nearest(typed string, names []string, maxEdits int) string {
	typed = strings.ToLower(typed)
	if typed == "" {
		return ""
	}
	var prefixed []string
	for _, n := range names {
		if strings.HasPrefix(n, typed) {
			prefixed = append(prefixed, n)
		}
	}
	if len(prefixed) == 1 {
		return prefixed[0]
	}
	if maxEdits == 0 {
		maxEdits = max(2, len(typed)/3)
	}
	best, bestD := "", maxEdits+1
	for _, n := range slices.Sorted(slices.Values(names)) {
		if d := levenshtein.ComputeDistance(typed, n); d < bestD && 2*d <= len(typed) {
			best, bestD = n, d
		}
	}
	return best
}
