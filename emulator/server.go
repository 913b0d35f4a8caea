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

// connLimits bound what one client can hold of a server: how long it may take to send a
// request, how long an idle connection is kept, and how many connections are served at
// once.
type connLimits struct {
	// readHeader and read bound the time from a connection's first byte (or the end of the
	// previous call) to the end of a request's headers, and of its body. A body shorter
	// than its Content-Length would otherwise hold its connection forever. Calls are at
	// most 1 MiB, so 30 seconds is generous.
	readHeader, read time.Duration
	// idle is how long a keep-alive connection waits for its next call. It is longer than
	// the 90 seconds after which aws-sdk-go-v2 and botocore drop idle connections
	// themselves, so that a client never sends a call on a connection the server is
	// closing.
	idle time.Duration
	// maxConns is how many connections are served at once; more wait in the listen
	// backlog until one closes. A connection costs a goroutine and its buffers, some
	// 20 KiB: 4096 of them stay under 100 MiB and within the usual file-descriptor
	// limits, and far above what a client needs (bulklink's --concurrency, or a test's
	// few hundred calls at once).
	maxConns int
}

var defaultConnLimits = connLimits{readHeader: 10 * time.Second, read: 30 * time.Second, idle: 120 * time.Second, maxConns: 4096}

// Serve answers calls on l until ctx ends, then stops accepting connections, lets calls in
// flight finish for a few seconds, closes l and returns nil. It returns early only if l
// fails. While it serves, the simulated application traffic of Options.BackgroundRate
// runs, its schedule counted from now. Connections are plain HTTP/1.1, so drop faults
// close them for real. A client that sends a request too slowly is disconnected, and at
// most a few thousand connections are served at once (docs/emulator.md, Serving).
func (e *Emulator) Serve(ctx context.Context, l net.Listener) error {
	e.traffic.start(e.clock(), e.opt.Load())
	return e.serveStarted(ctx, l)
}

// serveStarted is Serve once the background traffic has its start.
func (e *Emulator) serveStarted(ctx context.Context, l net.Listener) error {
	var fresh freshConns
	limits := e.limits
	srv := &http.Server{
		Handler:           e,
		ReadHeaderTimeout: limits.readHeader,
		ReadTimeout:       limits.read,
		IdleTimeout:       limits.idle,
		ErrorLog:          zap.NewStdLog(e.opt.Load().Logger),
		ConnState:         fresh.track,
	}
	l = newLimitListener(l, limits.maxConns)
	// The simulated application's traffic runs while the emulator serves.
	trafficCtx, stopTraffic := context.WithCancel(ctx)
	var traffic sync.WaitGroup
	traffic.Go(func() { e.runTraffic(trafficCtx) })
	defer traffic.Wait()
	defer stopTraffic()

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

// limitListener is a listener that serves at most n connections at once: Accept waits
// while n are open.
type limitListener struct {
	net.Listener
	slots chan struct{}
	done  chan struct{}
	once  sync.Once
}

func newLimitListener(l net.Listener, n int) *limitListener {
	return &limitListener{Listener: l, slots: make(chan struct{}, n), done: make(chan struct{})}
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &limitedConn{Conn: c, release: func() { <-l.slots }}, nil
}

func (l *limitListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// limitedConn gives its slot back when it is closed, once.
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// CloseWrite half-closes a TCP connection, as net/http does before closing one after an
// error answer.
func (c *limitedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
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

// NewServer starts an Emulator with options opt on 127.0.0.1 and an ephemeral port, and
// its application traffic if opt has any. The caller closes it, which stops both. Like
// New, it panics if opt is invalid, and like httptest.NewServer if it cannot listen.
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
	e.traffic.start(e.clock(), e.opt.Load()) // now, so that a test's clock starts it
	go func() {
		defer close(s.stopped)
		e.serveStarted(ctx, l)
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
