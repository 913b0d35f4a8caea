package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// env is what a command receives from the process: no globals, so tests can call run.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	signals        *signalHub // SIGINT and SIGTERM (signals.go); nil in tests that send none
	red            *redactor  // scrubs secrets from what is printed
}

// command is one subcommand: its help, its flags, and what it does once they parse.
//
// The command line is parsed by spf13/cobra and spf13/pflag, which gh, kubectl and most Go
// tools around AWS use: GNU --flag spelling, `bulklink help COMMAND`, flags in any order
// with the arguments. Everything the operator reads is bulklink's own, though: the help of
// each command (help.go), the one-line errors with a suggestion (flagError), and the exit
// codes, which cobra knows nothing of: run returns them.
type command struct {
	name     string
	synopsis string // how it is called, after "bulklink NAME"
	short    string // one line, for the list of commands
	long     string // what it does, for its help
	examples string // command lines, one per line, with # comments
	// args is what the command takes besides flags: "" for nothing, or the name of its one
	// argument (report PATH), which argsDoc says what it is.
	args, argsDoc string
	flags         func(*flagGroups)
	run           func(ctx context.Context, args []string, e env) int
	groups        *flagGroups // its flags, by purpose, once cobra made the command
}

func commands() []*command {
	return []*command{runLink(), runValidate(), runUndo(), runDiscover(), reportCommand(), runEmulate(), versionCommand()}
}

// run is the whole program behind main: it returns the exit code.
func run(ctx context.Context, args []string, e env) int {
	if e.red == nil {
		e.red = new(redactor)
	}
	cmds := commands()
	if len(args) == 0 {
		rootHelp(e.stderr, cmds)
		return exitUsage
	}
	switch args[0] {
	case "-version", "--version":
		return versionCommand().run(ctx, nil, e)
	case "-h", "-help", "--help":
		rootHelp(e.stdout, cmds)
		return exitOK
	}

	code := exitOK
	root := &cobra.Command{
		Use:           "bulklink",
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          cobra.NoArgs,
		Run:           func(c *cobra.Command, _ []string) { rootHelp(e.stdout, cmds) },
	}
	root.SetIn(e.stdin)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.CompletionOptions.HiddenDefaultCmd = true
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return &flagError{cmd: c, err: err} })
	root.SetHelpFunc(func(c *cobra.Command, _ []string) {
		if c == root {
			rootHelp(c.OutOrStdout(), cmds)
			return
		}
		for _, cmd := range cmds {
			if cmd.name == c.Name() && c.Parent() == root {
				cmd.help(c.OutOrStdout())
				return
			}
		}
		fmt.Fprintf(c.OutOrStdout(), "%s\n\n%s", strings.TrimSpace(c.Long), c.UsageString()) // cobra's own: completion
	})
	root.SetHelpCommand(helpCommand(root, cmds, e, &code))
	for _, cmd := range cmds {
		root.AddCommand(cmd.cobra(e, &code))
	}

	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	if sub, _, err := root.Find(args); err == nil {
		if sub == root && !strings.HasPrefix(args[0], "-") {
			return unknownCommand(e, args[0], root)
		}
		if sub != root {
			args = gnuArgs(sub.Flags(), args)
		}
	}
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		var fe *flagError
		if errors.As(err, &fe) {
			fmt.Fprintln(e.stderr, e.line(fe.Error()))
		} else {
			fmt.Fprintf(e.stderr, "bulklink: %s\n", e.line(err.Error()))
		}
		return exitUsage
	}
	return code
}

// cobra makes the cobra command of c, which sets *code when it runs.
func (c *command) cobra(e env, code *int) *cobra.Command {
	cc := &cobra.Command{
		Use:   c.name,
		Short: c.short,
		Args: func(cc *cobra.Command, args []string) error {
			switch {
			case c.args == "" && len(args) > 0:
				return &flagError{cmd: cc, err: fmt.Errorf("unexpected argument %q: %s takes flags only", strings.Join(args, " "), c.name)}
			case c.args != "" && len(args) == 0:
				return &flagError{cmd: cc, err: fmt.Errorf("name %s: bulklink %s %s", c.argsDoc, c.name, c.args)}
			case c.args != "" && len(args) > 1:
				return &flagError{cmd: cc, err: fmt.Errorf("unexpected argument %q: %s takes one %s", strings.Join(args[1:], " "), c.name, c.args)}
			}
			return nil
		},
		Run: func(cc *cobra.Command, args []string) {
			*code = c.run(cc.Context(), args, e)
		},
	}
	if c.groups == nil {
		c.groups = newFlagGroups()
	}
	if c.flags != nil {
		c.flags(c.groups)
	}
	c.groups.addTo(cc.Flags())
	cc.Flags().SortFlags = false
	return cc
}

// helpCommand is `bulklink help [COMMAND]`.
func helpCommand(root *cobra.Command, cmds []*command, e env, code *int) *cobra.Command {
	return &cobra.Command{
		Use:    "help [COMMAND]",
		Short:  "show the help of a command",
		Hidden: true,
		Run: func(c *cobra.Command, args []string) {
			if len(args) == 0 {
				rootHelp(e.stdout, cmds)
				return
			}
			sub, _, err := root.Find(args)
			if err != nil || sub == root {
				*code = unknownCommand(e, args[0], root)
				return
			}
			sub.HelpFunc()(sub, args)
		},
	}
}

// unknownCommand says, in one line, that name is no command, and which one it may be.
func unknownCommand(e env, name string, root *cobra.Command) int {
	msg := fmt.Sprintf("bulklink: unknown command %q", name)
	if s := root.SuggestionsFor(name); len(s) > 0 {
		msg += fmt.Sprintf(" (did you mean %s?)", s[0])
	} else if s := nearest(name, commandNames(root), 2); s != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", s)
	}
	fmt.Fprintln(e.stderr, e.line(msg+"; the commands: bulklink help"))
	return exitUsage
}

func commandNames(root *cobra.Command) []string {
	var names []string
	for _, c := range root.Commands() {
		if !c.Hidden {
			names = append(names, c.Name())
		}
	}
	return names
}

// flagError is a mistake on the command line, said in one line: what is wrong, the flag
// that was probably meant, and where the help is.
type flagError struct {
	cmd *cobra.Command
	err error
}

func (e *flagError) Error() string {
	name := e.cmd.Name()
	msg := e.err.Error()
	var (
		notExist *pflag.NotExistError
		required *pflag.ValueRequiredError
		invalid  *pflag.InvalidValueError
		syntax   *pflag.InvalidSyntaxError
	)
	switch {
	case errors.As(e.err, &notExist):
		typed := notExist.GetSpecifiedName()
		spelled := "--" + typed
		if s := notExist.GetSpecifiedShortnames(); s != "" {
			typed, spelled = s, "-"+s
		}
		msg = "unknown flag " + spelled
		if s := nearestFlag(e.cmd.Flags(), typed); s != "" {
			msg += fmt.Sprintf(" (did you mean --%s?)", s)
		}
	case errors.As(e.err, &required):
		msg = fmt.Sprintf("--%s needs a value", required.GetFlag().Name)
		if ph, _ := pflag.UnquoteUsage(required.GetFlag()); ph != "" {
			msg += ": --" + required.GetFlag().Name + " " + ph
		}
	case errors.As(e.err, &invalid):
		msg = fmt.Sprintf("--%s %q: %s", invalid.GetFlag().Name, invalid.GetValue(), want(invalid.GetFlag(), errors.Unwrap(invalid)))
	case errors.As(e.err, &syntax):
		msg = fmt.Sprintf("cannot read %s as a flag: flags are spelled --name or --name=value", syntax.GetSpecifiedFlag())
	}
	return fmt.Sprintf("bulklink %s: %s; see bulklink help %s", name, msg, name)
}

func (e *flagError) Unwrap() error { return e.err }

// want says what a flag's value should look like, from its type.
func want(f *pflag.Flag, cause error) string {
	switch f.Value.Type() {
	case "float64":
		return "want a number"
	case "int", "int64":
		return "want a whole number"
	case "duration":
		return "want a duration such as 500ms, 30s, 5m or 1h30m"
	case "bool":
		return "want true or false (or the flag alone)"
	}
	if cause != nil {
		return cause.Error()
	}
	return "invalid value"
}

// nearestFlag returns the flag of fs whose name is nearest typed, or "".
func nearestFlag(fs *pflag.FlagSet, typed string) string {
	var names []string
	fs.VisitAll(func(f *pflag.Flag) {
		if !f.Hidden {
			names = append(names, f.Name)
		}
	})
	return nearest(typed, names, 0)
}

// gnuArgs returns args with the Go-style single-dash spelling of fs's long flags (-input)
// spelled as GNU's (--input), so that command lines written for earlier versions, which
// parsed flags with the standard library, keep working. Only a known long flag in flag
// position is rewritten: never a value, nor anything after "--".
func gnuArgs(fs *pflag.FlagSet, args []string) []string {
	out := make([]string, 0, len(args))
	takesValue := false
	for i, a := range args {
		if takesValue {
			takesValue = false
			out = append(out, a)
			continue
		}
		if a == "--" {
			return append(out, args[i:]...)
		}
		name, hasValue := "", false
		switch {
		case strings.HasPrefix(a, "--"):
			name, _, hasValue = strings.Cut(a[2:], "=")
		case strings.HasPrefix(a, "-") && len(a) > 2:
			n, _, v := strings.Cut(a[1:], "=")
			if f := fs.Lookup(n); f != nil && len(n) > 1 {
				a, name, hasValue = "-"+a, n, v
			}
		}
		if f := fs.Lookup(name); f != nil && !hasValue && f.NoOptDefVal == "" {
			takesValue = true
		}
		out = append(out, a)
	}
	return out
}
