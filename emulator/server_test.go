package emulator_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/bulklink/bulklink/emulator"
)

func TestServe(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := emulator.New(emulator.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- e.Serve(ctx, l) }()

	client := cip.New(cip.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String("http://" + l.Addr().String()),
		Credentials:  aws.AnonymousCredentials{},
	}, noRetries)
	created, err := client.CreateUserPool(t.Context(), &cip.CreateUserPoolInput{PoolName: aws.String("serve")})
	check(t, err, want{})
	if _, ok := e.Identities(*created.UserPool.Id, "nobody"); ok {
		t.Error("found a user in a new pool")
	}

	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("got %v, want a clean stop", err)
		}
	case <-time.After(10 * time.Second): // a hang, not a speed: under -race on a loaded machine a second is no bound
		t.Fatal("Serve did not stop within 10s of its context")
	}
	if _, err := net.Dial("tcp", l.Addr().String()); err == nil {
		t.Error("the listener is still open")
	}
}

func TestServerCloseTwice(t *testing.T) {
	t.Parallel()
	srv := emulator.NewServer(emulator.Options{})
	srv.Close()
	srv.Close()
}
