// Command bulklink links existing Amazon Cognito user-pool users to external identities in
// bulk, through AdminLinkProviderForUser. See README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := <-sigs
		cancel(signalError{sig}) // first signal: stop taking rows, drain, flush
		sig = <-sigs
		os.Exit(signalExitCode(sig)) // second: now
	}()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
