package emulator

import (
	"context"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"go.uber.org/zap"
)

// shutdownGrace is how long Serve lets calls in flight finish once its context ends.
const shutdownGrace = 5 * time.Second

// Serve answers Cognito calls on l until ctx ends, then stops accepting connections, lets
// calls in flight finish for a few seconds, closes l and returns nil. It returns early only
// if l fails. Connections are plain HTTP/1.1, so drop faults close them for real.
func (e *Emulator) Serve(ctx context.Context, l net.Listener) error {
	var fresh freshConns
	srv := &http.Server{
		Handler:           e,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          zap.NewStdLog(e.opt.Load().Logger),
		ConnState:         fresh.track,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}

	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	shutdown := make(chan error, 1)
	go func() { shutdown <- srv.Shutdown(shutdownCtx) }()
	// Serve returns once Shutdown has closed the listener. Then no connection is new but
	// those that have not sent a call yet, which Shutdown would wait five seconds for.
	<-served
	fresh.close()
	if err := <-shutdown; err != nil {
		srv.Close()
	}
	return nil
}

// freshConns are the connections that have not sent a call yet.
type freshConns struct {
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func (f *freshConns) track(c net.Conn, state http.ConnState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if state != http.StateNew {
		delete(f.conns, c)
		return
	}
	if f.conns == nil {
		f.conns = make(map[net.Conn]struct{})
	}
	f.conns[c] = struct{}{}
}

func (f *freshConns) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for c := range f.conns {
		c.Close()
	}
}

// Server is an Emulator serving on a loopback port, for tests, like httptest.Server.
type Server struct {
	*Emulator
	URL string // http://127.0.0.1:<port>, for the SDK's BaseEndpoint or the CLI's --endpoint-url

	stop      context.CancelFunc
	stopped   chan struct{}
	closeOnce sync.Once
}

// NewServer starts an Emulator with options opt on 127.0.0.1 and an ephemeral port. The
// caller closes it. Like New, it panics if opt is invalid, and like httptest.NewServer if it
// cannot listen.
func NewServer(opt Options) *Server {
	return startServer(New(opt))
}

func startServer(e *Emulator) *Server {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic("emulator: cannot listen on a loopback port: " + err.Error())
	}
	ctx, stop := context.WithCancel(context.Background())
	s := &Server{
		Emulator: e,
		URL:      "http://" + l.Addr().String(),
		stop:     stop,
		stopped:  make(chan struct{}),
	}
	go func() {
		defer close(s.stopped)
		e.Serve(ctx, l)
	}()
	return s
}

// Close shuts the server down, after the calls in flight. It may be called more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.stop()
		<-s.stopped
	})
}

// Client returns an aws-sdk-go-v2 Cognito client for the server: the SDK's own defaults —
// SigV4 signing, serialization, the standard retryer — with static dummy credentials, the
// emulator's region and the server's URL as BaseEndpoint. optFns change its options as
// they would cognitoidentityprovider.New's; tests that assert single outcomes turn retries
// off with o.Retryer = aws.NopRetryer{}.
func (s *Server) Client(optFns ...func(*cip.Options)) *cip.Client {
	return cip.New(cip.Options{
		Region:       s.opt.Load().Region,
		BaseEndpoint: aws.String(s.URL),
		Credentials:  credentials.NewStaticCredentialsProvider(TestAccessKeyID, "emulator-secret-access-key", ""),
	}, optFns...)
}

// TestAccessKeyID is the access key ID of the clients Server.Client makes.
const TestAccessKeyID = "AKIAEMULATOR00000000"
