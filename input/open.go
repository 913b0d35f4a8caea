package input

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
)

// FormatOf returns the format of the file at path, from its extension: .csv, .jsonl or
// .ndjson, each optionally followed by .gz, in any case.
func FormatOf(path string) (Format, error) {
	if path == "-" {
		return "", errors.New("the format of standard input must be given")
	}
	name := strings.TrimSuffix(strings.ToLower(filepath.Base(path)), ".gz")
	switch filepath.Ext(name) {
	case ".csv":
		return CSV, nil
	case ".jsonl", ".ndjson":
		return JSONL, nil
	}
	return "", fmt.Errorf("cannot tell the format of %s from its name: want .csv, .jsonl or .ndjson, optionally .gz, or give the format", path)
}

// check reports options no row could be read with.
func (o Options) check() error {
	switch o.Format {
	case "", CSV, JSONL:
	default:
		return fmt.Errorf("unknown format %q: want csv or jsonl", o.Format)
	}
	if o.UserPoolID != "" && !validPoolID(strings.TrimSpace(o.UserPoolID)) {
		return fmt.Errorf("invalid user pool id %q: want <region>_<id>, like us-east-1_Example1", o.UserPoolID)
	}
	return nil
}

// Open returns a reader of the file at path, or of stdin when path is "-". The format is
// opt.Format, or else inferred by FormatOf. Gzip input, named .gz or starting with the gzip
// magic bytes, is decompressed. Open fails, with an error to show the user, when the options
// are invalid, the file cannot be opened, or the header of a CSV is unusable.
//
// The reader also has a method Progress() (done, total int64), safe to call from another
// goroutine while rows are read: the bytes read so far from the file (compressed bytes for
// gzip) and the file's size, or -1 when it is unknown, as for a pipe.
func Open(path string, stdin io.Reader, opt Options) (_ Reader, err error) {
	if err := opt.check(); err != nil {
		return nil, err
	}
	if opt.Format == "" {
		f, err := FormatOf(path)
		if err != nil {
			return nil, err
		}
		opt.Format = f
	}
	o := &opened{total: -1}
	defer func() {
		if err != nil {
			o.closeFiles()
		}
	}()
	name, r := "standard input", stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		o.closers = append(o.closers, f)
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			o.total = fi.Size()
		}
		name, r = path, f
	} else if stdin == nil {
		return nil, errors.New("no standard input to read")
	}

	br := bufio.NewReader(&countingReader{r: r, n: &o.done})
	r = br
	if magic, _ := br.Peek(2); strings.EqualFold(filepath.Ext(path), ".gz") || bytes.Equal(magic, gzipMagic) {
		zr, err := gzip.NewReader(br)
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read %s: empty gzip stream", name)
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		o.closers = append(o.closers, zr)
		r = zr
	}

	switch opt.Format {
	case CSV:
		rd, err := NewCSV(r, opt)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		o.Reader = rd
	case JSONL:
		o.Reader = NewJSONL(r, opt)
	}
	return o, nil
}

// gzipMagic starts every gzip stream.
var gzipMagic = []byte{0x1f, 0x8b}

// opened is a reader Open opened: it counts the bytes read and closes the file.
type opened struct {
	Reader
	done    atomic.Int64
	total   int64
	closers []io.Closer // last opened first closed
}

// Progress returns the bytes read from the file so far and its size, -1 when unknown.
func (o *opened) Progress() (done, total int64) { return o.done.Load(), o.total }

func (o *opened) Close() error {
	return errors.Join(o.Reader.Close(), o.closeFiles())
}

// closeFiles closes what Open opened, last first.
func (o *opened) closeFiles() error {
	var errs []error
	for i := len(o.closers) - 1; i >= 0; i-- {
		errs = append(errs, o.closers[i].Close())
	}
	o.closers = nil
	return errors.Join(errs...)
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
