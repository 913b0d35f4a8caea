package input

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/bulklink/bulklink/internal/safefile"
)

// FormatOf returns the format of the file at path, from its extension: .csv, .jsonl or
// .ndjson, each optionally followed by .gz, in any case.
func FormatOf(path string) (Format, error) {
	if path == "-" {
		return "", errors.New("the format of standard input must be given: --format csv or --format jsonl")
	}
	name := strings.TrimSuffix(strings.ToLower(filepath.Base(path)), ".gz")
	switch filepath.Ext(name) {
	case ".csv":
		return CSV, nil
	case ".jsonl", ".ndjson":
		return JSONL, nil
	}
	return "", fmt.Errorf("cannot tell the format of %s from its name: want .csv, .jsonl or .ndjson, optionally .gz, or pass --format csv or --format jsonl", path)
}

// check reports options no row could be read with.
func (o Options) check() error {
	switch o.Format {
	case "", CSV, JSONL:
	default:
		return fmt.Errorf("unknown format %q: want --format csv or --format jsonl", o.Format)
	}
	if o.UserPoolID != "" && !validPoolID(strings.TrimSpace(o.UserPoolID)) {
		return fmt.Errorf("invalid user pool id %q: want <region>_<id>, like us-east-1_Example1", o.UserPoolID)
	}
	return nil
}

// gzipMagic starts every gzip stream: gzip input is recognised by it, whatever its name.
var gzipMagic = []byte{0x1f, 0x8b}

// Source is an input opened once. A regular file is read in place. Anything else — standard
// input from a pipe, a FIFO, process substitution like <(zcat links.csv.gz), a character
// device — is a stream, read exactly once: the first pass copies its bytes to a private spool
// file, unlinked as soon as it is made, and later passes read the spool. So every pass reads
// the same bytes, the fingerprint covers all of them, and a stream's report resumes as a
// file's does. Gzip input is recognised by its magic bytes and decompressed on every pass.
//
// Every read honours the context of its pass: a stalled pipe or an endless device does not
// keep a signal from stopping the command within a moment.
//
// A Source's errors name the input once, in front ("read links.csv: header on line 1:
// missing column source_value"); the readers' own (NewCSV, NewJSONL) name nothing, so that
// whoever wraps them does.
type Source struct {
	name   string // the path, or "standard input"
	opt    Options
	file   *os.File // the regular file, or the spool once the first pass is done
	stream io.Reader
	spool  *os.File
	shape  *Shape // set by the first pass
}

// Shape is what the first pass learns of an input.
type Shape struct {
	// Fingerprint is the SHA-256 of the input's bytes as stored (compressed, for gzip), as
	// "sha256:<hex>": a report remembers it, to tell its own input from another.
	Fingerprint string
	Size        int64 // bytes as stored
	Gzip        bool
	Lines       int64 // lines of the text, the last one counted even without its "\n"
	Rows        int64 // records read, blank lines aside and the CSV header not counted
	// Columns are a CSV input's carried columns, in header order (Reader.Columns); nil for
	// JSONL, whose keys are known row by row.
	Columns []string
	// Delimiter is what separates a CSV input's fields: ',', or the ';', tab or '|' of a
	// spreadsheet's export, told by the header; 0 for JSONL.
	Delimiter byte
}

// Open opens the input at path, or standard input when path is "-", once. The format is
// opt.Format, or else inferred by FormatOf. Opening a FIFO waits for its writer, until ctx
// ends. Streams are spooled to a file made in spoolDir ("": the system's temporary
// directory). The caller closes the Source.
func Open(ctx context.Context, path string, stdin io.Reader, opt Options, spoolDir string) (*Source, error) {
	if err := opt.check(); err != nil {
		return nil, err
	}
	if opt.Format == "" {
		if fi, err := os.Stat(path); err == nil && fi.IsDir() {
			return nil, fmt.Errorf("%s is a directory: want a .csv or .jsonl file", path)
		}
		f, err := FormatOf(path)
		if err != nil {
			return nil, err
		}
		opt.Format = f
	}
	s := &Source{name: path, opt: opt}
	var f *os.File
	if path == "-" {
		s.name = "standard input"
		if stdin == nil {
			return nil, errors.New("no standard input to read")
		}
		if sf, ok := stdin.(*os.File); ok {
			f = sf
		} else {
			s.stream = stdin
		}
	} else {
		var err error
		if f, err = safefile.Open(ctx, path, os.O_RDONLY, safefile.Policy{Streams: !opt.RegularOnly}); err != nil {
			return nil, err
		}
	}
	if f != nil {
		fi, err := f.Stat()
		switch {
		case err != nil:
			return nil, errors.Join(err, s.closeFile(f, path))
		case fi.IsDir():
			return nil, errors.Join(fmt.Errorf("%s is a directory: want a .csv or .jsonl file", path), s.closeFile(f, path))
		case fi.Mode().IsRegular():
			s.file = f
		default:
			s.stream = f
		}
	}
	if s.stream != nil && opt.RegularOnly {
		return nil, errors.Join(fmt.Errorf("%s is not a regular file: want a file, not a stream", s.name), s.Close())
	}
	if s.stream != nil {
		spool, err := os.CreateTemp(spoolDir, ".bulklink-spool-*")
		if err != nil {
			return nil, errors.Join(fmt.Errorf("spool %s: %w", s.name, err), s.Close())
		}
		// Unlinked at once: the descriptor is all that is needed, and nothing is left behind
		// however the process ends.
		if err := os.Remove(spool.Name()); err != nil {
			spool.Close()
			return nil, errors.Join(fmt.Errorf("spool %s: %w", s.name, err), s.Close())
		}
		s.spool = spool
	}
	return s, nil
}

// closeFile closes a file Open opened, but not standard input.
func (s *Source) closeFile(f *os.File, path string) error {
	if path == "-" {
		return nil
	}
	return f.Close()
}

// Name is the input's name for messages: its path, or "standard input".
func (s *Source) Name() string { return s.name }

// Format is the input's format.
func (s *Source) Format() Format { return s.opt.Format }

// Stream reports whether the input is a stream, read once into a spool.
func (s *Source) Stream() bool { return s.spool != nil }

// Close releases the input and its spool. It does not close standard input.
func (s *Source) Close() error {
	var errs []error
	if s.file != nil && s.file != s.spool && s.name != "standard input" {
		errs = append(errs, s.file.Close())
	}
	if c, ok := s.stream.(io.Closer); ok && s.name != "standard input" {
		errs = append(errs, c.Close())
	}
	if s.spool != nil {
		errs = append(errs, s.spool.Close())
	}
	return errors.Join(errs...)
}

// Scan is the first pass: it reads the whole input, fingerprints its bytes, reads a gzip
// stream to its end (a corrupt or truncated one fails here, before any row is sent), counts
// its lines, and hands every row to visit, which may stop the pass with an error. A header
// that cannot be read fails Scan. It may be called once.
func (s *Source) Scan(ctx context.Context, visit func(*Row) error) (*Shape, error) {
	if s.shape != nil {
		return nil, errors.New("input: Scan called twice")
	}
	sh := &Shape{}
	var raw io.Reader
	if s.stream != nil {
		// The only read of the stream: its bytes go to the spool as they pass.
		raw = io.TeeReader(cancellable(ctx, s.stream), &errWriter{w: s.spool, what: "spool the input"})
	} else {
		raw = &ctxReader{ctx: ctx, r: io.NewSectionReader(s.file, 0, 1<<62)}
	}
	h := sha256.New()
	p := &pass{raw: io.TeeReader(raw, h)}
	rd, err := s.reader(p)
	if err != nil {
		return nil, s.readErr(ctx, p, err)
	}
	sh.Gzip = p.zr != nil
	sh.Columns = rd.Columns()
	if c, ok := rd.(interface{ Delimiter() byte }); ok {
		sh.Delimiter = c.Delimiter()
	}
	for {
		row, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, s.readErr(ctx, p, err)
		}
		sh.Rows++
		if err := visit(&row); err != nil {
			return nil, err
		}
	}
	if err := p.drain(); err != nil { // a gzip stream's trailer, bytes after the last row
		return nil, s.readErr(ctx, p, err)
	}
	sh.Size, sh.Lines = p.n.Load(), p.lines()
	sh.Fingerprint = fingerprint(h)
	if s.spool != nil {
		s.file, s.stream = s.spool, nil
	}
	s.shape = sh
	return sh, nil
}

// Rows opens a later pass over the rows, after Scan. The pass hashes the bytes again and
// fails at its end if they are not those Scan read: a file changed in place between the
// passes is not taken for the one checked.
func (s *Source) Rows(ctx context.Context) (Reader, error) {
	if s.shape == nil {
		return nil, errors.New("input: Rows called before Scan")
	}
	h := sha256.New()
	p := &pass{raw: io.TeeReader(&ctxReader{ctx: ctx, r: io.NewSectionReader(s.file, 0, 1<<62)}, h), size: s.shape.Size}
	rd, err := s.reader(p)
	if err != nil {
		return nil, s.readErr(ctx, p, err)
	}
	return &passReader{Reader: rd, pass: p, src: s, ctx: ctx, hash: h}, nil
}

// readErr is the error of a pass: the one place that names the input (the errors of the
// readers and of the gzip stream name nothing), once, and that says a gzip stream is broken.
func (s *Source) readErr(ctx context.Context, p *pass, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("read %s: %w", s.name, context.Cause(ctx))
	}
	if p.gzip && (errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) || errors.Is(err, io.ErrUnexpectedEOF)) {
		return fmt.Errorf("read %s: the gzip stream is corrupt or truncated: %w", s.name, err)
	}
	return fmt.Errorf("read %s: %w", s.name, err)
}

// reader makes the format's reader of a pass, decompressing gzip. Its errors do not name
// the input: readErr does.
func (s *Source) reader(p *pass) (Reader, error) {
	br := bufio.NewReaderSize(p.counted(), 64<<10)
	var text io.Reader = br
	if magic, _ := br.Peek(len(gzipMagic)); bytes.Equal(magic, gzipMagic) {
		p.gzip = true
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, err
		}
		p.zr = zr
		text = zr
	}
	text = io.TeeReader(text, &p.lc)
	p.text = text
	var rd Reader
	switch s.opt.Format {
	case CSV:
		r, err := NewCSV(text, s.opt)
		if err != nil {
			return nil, err
		}
		rd = r
	default:
		// The CSV reader looks at the head of its text itself (NewCSV); the JSONL one's head
		// is looked at here, in its own buffer.
		j := NewJSONL(text, s.opt).(*jsonlReader)
		b, _ := j.lines.br.Peek(headSize)
		msg := diagnoseText(b)
		if msg == "" {
			msg = wrongFormat(b, JSONL)
		}
		if msg != "" {
			return nil, errors.New(msg)
		}
		rd = j
	}
	return rd, nil
}

// pass is one read of the input: its raw bytes counted, its text's lines counted.
type pass struct {
	raw  io.Reader
	n    atomic.Int64 // raw bytes read
	size int64        // raw bytes in all, once known; -1 before
	gzip bool         // the raw bytes start as gzip does
	zr   *gzip.Reader
	text io.Reader
	lc   lineCounter
}

func (p *pass) counted() io.Reader { return &countingReader{r: p.raw, n: &p.n} }

// drain reads what the rows left: the end of a gzip stream, checked by its trailer.
func (p *pass) drain() error {
	_, err := io.Copy(io.Discard, p.text)
	return err
}

func (p *pass) lines() int64 {
	n := p.lc.lines
	if p.lc.last != '\n' && p.lc.last != 0 {
		n++
	}
	return n
}

// passReader is a later pass's reader: it checks, at the end, that the bytes were Scan's.
type passReader struct {
	Reader
	pass *pass
	src  *Source
	ctx  context.Context
	hash hash.Hash
	err  error
}

func (r *passReader) Next() (Row, error) {
	if r.err != nil {
		return Row{}, r.err
	}
	row, err := r.Reader.Next()
	switch {
	case err == nil:
		return row, nil
	case !errors.Is(err, io.EOF):
		r.err = r.src.readErr(r.ctx, r.pass, err)
	default:
		if derr := r.pass.drain(); derr != nil {
			r.err = r.src.readErr(r.ctx, r.pass, derr)
		} else if fp := fingerprint(r.hash); fp != r.src.shape.Fingerprint {
			r.err = fmt.Errorf("read %s: the input changed while bulklink read it (%s, then %s): stop, and run again once it is stable", r.src.name, r.src.shape.Fingerprint, fp)
		} else {
			r.err = io.EOF
		}
	}
	return Row{}, r.err
}

func (r *passReader) Position() (int64, int64) { return r.pass.n.Load(), r.pass.size }

func fingerprint(h hash.Hash) string { return "sha256:" + hex.EncodeToString(h.Sum(nil)) }

// countingReader counts the bytes read through it into n, which its maker sets (a reader's
// Position loads it from another goroutine: it must exist before the first Read).
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

type lineCounter struct {
	lines int64
	last  byte
}

func (c *lineCounter) Write(p []byte) (int, error) {
	c.lines += int64(bytes.Count(p, []byte{'\n'}))
	if len(p) > 0 {
		c.last = p[len(p)-1]
	}
	return len(p), nil
}

// errWriter is a writer whose failure reads as what it was doing.
type errWriter struct {
	w    io.Writer
	what string
}

func (e *errWriter) Write(p []byte) (int, error) {
	n, err := e.w.Write(p)
	if err != nil {
		err = fmt.Errorf("%s: %w", e.what, err)
	}
	return n, err
}

// ctxReader is a reader that stops once its context ends, for readers that never block
// for long (regular files).
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if c.ctx.Err() != nil {
		return 0, context.Cause(c.ctx)
	}
	return c.r.Read(p)
}

// cancellable returns a reader of r whose reads return once ctx ends, even while a read of r
// blocks (a stalled pipe): r is read aside, a chunk ahead. The goroutine reading aside may
// stay blocked in r's Read after ctx ends, until r delivers or the process exits.
func cancellable(ctx context.Context, r io.Reader) io.Reader {
	c := &aside{ctx: ctx, chunks: make(chan chunk), free: make(chan []byte, 2)}
	c.free <- make([]byte, 64<<10)
	c.free <- make([]byte, 64<<10)
	go c.pump(r)
	return c
}

type chunk struct {
	b   []byte
	err error
}

type aside struct {
	ctx    context.Context
	chunks chan chunk
	free   chan []byte
	cur    []byte // what is left of the chunk being read
	buf    []byte // the chunk's buffer, to give back
	err    error
}

func (c *aside) pump(r io.Reader) {
	for {
		var b []byte
		select {
		case b = <-c.free:
		case <-c.ctx.Done():
			return
		}
		n, err := r.Read(b)
		select {
		case c.chunks <- chunk{b[:n], err}:
		case <-c.ctx.Done():
			return
		}
		if err != nil {
			return
		}
	}
}

func (c *aside) Read(p []byte) (int, error) {
	for len(c.cur) == 0 {
		if c.err != nil {
			return 0, c.err
		}
		if c.buf != nil {
			c.free <- c.buf[:cap(c.buf)]
			c.buf = nil
		}
		select {
		case ch := <-c.chunks:
			c.cur, c.buf, c.err = ch.b, ch.b, ch.err
		case <-c.ctx.Done():
			c.err = context.Cause(c.ctx)
			return 0, c.err
		}
	}
	n := copy(p, c.cur)
	c.cur = c.cur[n:]
	return n, nil
}
