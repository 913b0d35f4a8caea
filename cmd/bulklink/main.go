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
	sigs := make(chan os.Signal, 3)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	os.Exit(run(context.Background(), os.Args[1:], env{
		stdin: detachStdin(), stdout: os.Stdout, stderr: os.Stderr, signals: newSignalHub(sigs, os.Exit),
	}))
}
