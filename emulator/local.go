package emulator

import (
	"bytes"
	"context"
	"io"
	"net/http"
)

// Local serves the emulator in process, without sockets, until ctx ends: the client it
// returns hands each request straight to the emulator's handler, in the caller's goroutine,
// and the simulated application traffic runs meanwhile, counted from now. It is for tests on
// a fake clock (testing/synctest), where sockets cannot go: an SDK client built on it signs,
// serializes and classifies every call as it does over the network. A dropped connection
// (the drop and lost faults) reaches the client as io.ErrUnexpectedEOF, as a connection
// closed before its answer does.
func (e *Emulator) Local(ctx context.Context) *http.Client {
	e.traffic.start(e.clock(), e.opt.Load())
	go e.runTraffic(ctx)
	return &http.Client{Transport: local{e}}
}

// local is a RoundTripper that serves a request with the emulator's handler.
type local struct{ e *Emulator }

func (l local) RoundTrip(r *http.Request) (resp *http.Response, err error) {
	w := &recorder{header: http.Header{}, code: http.StatusOK}
	defer func() {
		if p := recover(); p != nil {
			if p != http.ErrAbortHandler {
				panic(p)
			}
			resp, err = nil, io.ErrUnexpectedEOF // the connection closed unanswered
		}
	}()
	if r.Body == nil {
		r.Body = http.NoBody
	}
	l.e.ServeHTTP(w, r)
	if err := r.Context().Err(); err != nil {
		return nil, err
	}
	return &http.Response{StatusCode: w.code, Status: http.StatusText(w.code), Header: w.header, Proto: "HTTP/1.1",
		ProtoMajor: 1, ProtoMinor: 1, Body: io.NopCloser(bytes.NewReader(w.body.Bytes())), ContentLength: int64(w.body.Len()),
		Request: r}, nil
}

// recorder is the ResponseWriter of a local call. It cannot be hijacked, so the handler drops
// the connection by panicking with http.ErrAbortHandler, which RoundTrip turns into the
// error of a connection closed unanswered.
type recorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
	wrote  bool
}

func (w *recorder) Header() http.Header { return w.header }

func (w *recorder) WriteHeader(code int) {
	if !w.wrote {
		w.code, w.wrote = code, true
	}
}

func (w *recorder) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(b)
}
