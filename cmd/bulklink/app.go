package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// env is what a command receives from the process: no globals, so tests can call run.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	signals        <-chan os.Signal // SIGINT and SIGTERM; nil in tests that send none
	red            *redactor        // scrubs secrets from what is printed
}

// command is one subcommand: its flags and the function that runs it.
type command struct {
	name, args, summary string
	run                 func(ctx context.Context, args []string, e env) int
}

func commands() []command {
	return []command{
		{"run", "--input PATH|- --report PATH [options]", "link every row", runLink},
		{"validate", "--input PATH|- [--report PATH] [options]", "check rows, call nothing that writes", runValidate},
		{"undo", "--report PATH --undo-report PATH [options]", "unlink what a run linked", runUndo},
		{"emulate", "[--listen 127.0.0.1:9229] [--seed PATH] [fault options]", "serve a local Cognito endpoint", runEmulate},
		{"version", "", "print the version", runVersion},
	}
}

// run is the whole program behind main: it returns the exit code.
func run(ctx context.Context, args []string, e env) int {
	if e.red == nil {
		e.red = new(redactor)
	}
	if len(args) == 0 {
		usage(e.stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(e.stdout)
		return exitOK
	case "-version", "--version":
		return runVersion(ctx, nil, e)
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], e)
		}
	}
	fmt.Fprintf(e.stderr, "bulklink: unknown command %q\n\n", args[0])
	usage(e.stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "bulklink links Amazon Cognito users to external identities in bulk.\n\nUsage:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  bulklink %-9s %-58s %s\n", c.name, c.args, c.summary)
	}
	fmt.Fprintf(w, "\nRun 'bulklink COMMAND -h' for a command's options.\n")
}

// newFlagSet returns a flag set that reports its errors instead of exiting.
func newFlagSet(name string, e env) *flag.FlagSet {
	fs := flag.NewFlagSet("bulklink "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	return fs
}

// parseFlags parses args and refuses stray arguments. It returns the exit code to use when
// the command must not go on, or -1.
func parseFlags(fs *flag.FlagSet, args []string) int {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "%s: unexpected argument %q\n", fs.Name(), strings.Join(fs.Args(), " "))
		return exitUsage
	}
	return -1
}
