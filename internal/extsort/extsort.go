// Package extsort sorts more records than memory holds: records are appended to a file,
// sorted in runs that fit a bound, written aside, and merged back in order. The plan's
// checks across an input (20-byte tuples a row) and discover's match by email (a record a
// user) sort this way, so that ten million rows or users cost a file on disk and a buffer in
// memory, not their size.
//
// It is hand-written: the Go libraries for external sorting seen (lanrat/extsort,
// askiada/external-sort) keep a channel per record and goroutines per run, sort only what
// they serialise themselves, and cannot append to a file that must outlive the process (a
// discover's spill, resumed after kill -9). What is needed is small: a file of framed
// records, a sort of runs with slices.SortFunc, and a k-way merge with container/heap.
package extsort

import (
	"bufio"
	"container/heap"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"unsafe"
)

// A Codec encodes and decodes records of type T. Size > 0 gives every record that many
// bytes (the plan's tuples); Size 0 frames each record with its length, as a uvarint.
type Codec[T any] struct {
	Size   int
	Append func(dst []byte, v T) []byte
	Decode func(b []byte) (T, error)
}

// MaxRecord bounds a framed record: a longer one is a damaged file.
const MaxRecord = 1 << 20

// File is a file of records. It is not safe for concurrent use, but readers of the records
// flushed so far may run beside one another.
type File[T any] struct {
	f     *os.File
	w     *bufio.Writer
	codec *Codec[T]
	base  int64 // where the records start
	size  int64 // bytes of records written, buffered ones included
	n     int64 // records written
	buf   []byte
}

// Temp makes a file of records in dir ("" is the system's) that no one else can open: it
// is unlinked as soon as it is made, so nothing is left behind however the process ends.
func Temp[T any](dir, pattern string, c *Codec[T]) (*File[T], error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, fmt.Errorf("make a temporary file: %w", err)
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, err
	}
	return Wrap(f, c, 0, 0, 0), nil
}

// Wrap takes f as a file of records that start at base and hold size bytes and n records;
// records added go after them. f must be open for reading and writing, not in append mode.
// Close closes f.
func Wrap[T any](f *os.File, c *Codec[T], base, size, n int64) *File[T] {
	return &File[T]{f: f, w: bufio.NewWriterSize(&offsetWriter{f: f, off: base + size}, 64<<10), codec: c, base: base, size: size, n: n}
}

// offsetWriter writes at an offset that follows what it wrote.
type offsetWriter struct {
	f   *os.File
	off int64
}

func (w *offsetWriter) Write(p []byte) (int, error) {
	n, err := w.f.WriteAt(p, w.off)
	w.off += int64(n)
	return n, err
}

// Add appends a record. It is buffered: Flush hands it to the operating system.
func (t *File[T]) Add(v T) error {
	b := t.buf[:0]
	if t.codec.Size == 0 {
		b = append(b, make([]byte, binary.MaxVarintLen32)...)
	}
	b = t.codec.Append(b, v)
	if t.codec.Size == 0 {
		n := len(b) - binary.MaxVarintLen32
		if n > MaxRecord {
			return fmt.Errorf("a record of %d bytes, over the %d a record may hold", n, MaxRecord)
		}
		// The length goes right before the record, in the room left for it.
		var l [binary.MaxVarintLen32]byte
		k := binary.PutUvarint(l[:], uint64(n))
		start := binary.MaxVarintLen32 - k
		copy(b[start:], l[:k])
		b = b[start:]
	} else if len(b) != t.codec.Size {
		return fmt.Errorf("a record encoded to %d bytes, not %d", len(b), t.codec.Size)
	}
	t.buf = b[:0]
	if _, err := t.w.Write(b); err != nil {
		return err
	}
	t.size += int64(len(b))
	t.n++
	return nil
}

// Flush hands the records added to the operating system.
func (t *File[T]) Flush() error { return t.w.Flush() }

// Sync flushes the records and makes them durable.
func (t *File[T]) Sync() error {
	if err := t.w.Flush(); err != nil {
		return err
	}
	return t.f.Sync()
}

// Len is the number of records.
func (t *File[T]) Len() int64 { return t.n }

// Size is the bytes the records take, from the file's base.
func (t *File[T]) Size() int64 { return t.size }

// Close closes the file.
func (t *File[T]) Close() error { return t.f.Close() }

// Reader reads the records from the first; the file must have been flushed. Its reads stop
// once ctx ends.
func (t *File[T]) Reader(ctx context.Context) *Reader[T] {
	return &Reader[T]{r: bufio.NewReaderSize(&ctxReader{ctx, io.NewSectionReader(t.f, t.base, t.size)}, 64<<10), codec: t.codec}
}

// ctxReader stops reading once its context ends: a signal stops a long sort.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, context.Cause(c.ctx)
	}
	return c.r.Read(p)
}

// Reader reads a File's records in order.
type Reader[T any] struct {
	r     *bufio.Reader
	codec *Codec[T]
	buf   []byte
	last  int // the encoded size of the last record read
}

// ErrTorn reports a file that ends inside a record, or whose record is too long.
var ErrTorn = errors.New("the file ends inside a record")

// Next returns the next record, or io.EOF after the last.
func (r *Reader[T]) Next() (T, error) {
	var zero T
	n := r.codec.Size
	if n == 0 {
		l, err := binary.ReadUvarint(r.r)
		switch {
		case errors.Is(err, io.EOF):
			return zero, io.EOF
		case errors.Is(err, io.ErrUnexpectedEOF):
			return zero, ErrTorn
		case err != nil:
			return zero, err
		case l > MaxRecord:
			return zero, fmt.Errorf("%w: a record of %d bytes", ErrTorn, l)
		}
		n = int(l)
	}
	if cap(r.buf) < n {
		r.buf = make([]byte, n)
	}
	b := r.buf[:n]
	r.last = n
	if _, err := io.ReadFull(r.r, b); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) && r.codec.Size == 0 {
			return zero, ErrTorn
		}
		return zero, err
	}
	return r.codec.Decode(b)
}

// Options bound a sort.
type Options struct {
	// Dir holds the temporary files; "" is the system's.
	Dir string
	// MaxRecords and MaxBytes bound a run sorted in memory: at most so many records, and
	// records whose encoded sizes and slice entries (the size of a T) add up to at most so
	// many bytes, about the memory they take decoded. 0 is no bound of that kind; with
	// neither, one run.
	MaxRecords, MaxBytes int
	// FanIn is how many runs are merged at once (open files and read buffers); more are
	// merged in rounds. Default 64.
	FanIn int
}

// DefaultFanIn is how many runs a merge reads at once, unless Options say otherwise.
const DefaultFanIn = 64

// Sort sorts the records of in that keep accepts (all with keep nil) by order into a new
// temporary file, within the bounds of o: runs are sorted in memory and written aside, then
// merged. It stops once ctx ends.
func Sort[T any](ctx context.Context, in *File[T], order func(a, b T) int, keep func(T) bool, o Options) (*File[T], error) {
	if err := in.Flush(); err != nil {
		return nil, err
	}
	fanIn := o.FanIn
	if fanIn < 2 {
		fanIn = DefaultFanIn
	}
	var runs []*File[T]
	defer func() {
		for _, r := range runs {
			r.Close()
		}
	}()
	rd := in.Reader(ctx)
	bufCap := in.n
	if o.MaxRecords > 0 {
		bufCap = min(bufCap, int64(o.MaxRecords))
	}
	entry := int(unsafe.Sizeof(*new(T)))
	if o.MaxBytes > 0 {
		// How many records fit is known once they are read: the slice grows to it.
		bufCap = min(bufCap, 4096)
	}
	buf := make([]T, 0, min(bufCap, 1<<20))
	for done := false; !done; {
		buf = buf[:0]
		bytes := 0
		for (o.MaxRecords <= 0 || len(buf) < o.MaxRecords) && (o.MaxBytes <= 0 || bytes < o.MaxBytes) {
			v, err := rd.Next()
			if errors.Is(err, io.EOF) {
				done = true
				break
			}
			if err != nil {
				return nil, err
			}
			if keep == nil || keep(v) {
				buf = append(buf, v)
				bytes += rd.last + entry
			}
		}
		if len(buf) == 0 {
			break
		}
		slices.SortFunc(buf, order)
		run, err := Temp(o.Dir, ".bulklink-sort-*", in.codec)
		if err != nil {
			return nil, err
		}
		runs = append(runs, run)
		for _, v := range buf {
			if err := run.Add(v); err != nil {
				return nil, err
			}
		}
		if err := run.Flush(); err != nil {
			return nil, err
		}
	}
	clear(buf) // let the records go before the merge
	buf = nil
	for len(runs) > fanIn {
		var next []*File[T]
		for len(runs) > 0 {
			k := min(fanIn, len(runs))
			out, err := mergeRuns(ctx, runs[:k], order, o.Dir, in.codec)
			for _, r := range runs[:k] {
				r.Close()
			}
			runs = runs[k:]
			if err != nil {
				for _, r := range next {
					r.Close()
				}
				return nil, err
			}
			next = append(next, out)
		}
		runs = next
	}
	out, err := mergeRuns(ctx, runs, order, o.Dir, in.codec)
	return out, err
}

// mergeRuns merges sorted runs into a new temporary file.
func mergeRuns[T any](ctx context.Context, runs []*File[T], order func(a, b T) int, dir string, c *Codec[T]) (*File[T], error) {
	out, err := Temp(dir, ".bulklink-sort-*", c)
	if err != nil {
		return nil, err
	}
	if err := Merge(ctx, runs, order, out.Add); err != nil {
		out.Close()
		return nil, err
	}
	if err := out.Flush(); err != nil {
		out.Close()
		return nil, err
	}
	return out, nil
}

// Merge passes the records of sorted runs to each, in order.
func Merge[T any](ctx context.Context, runs []*File[T], order func(a, b T) int, each func(T) error) error {
	h := &mergeHeap[T]{order: order}
	for _, r := range runs {
		rd := r.Reader(ctx)
		v, err := rd.Next()
		if errors.Is(err, io.EOF) {
			continue
		}
		if err != nil {
			return err
		}
		h.items = append(h.items, mergeItem[T]{v, rd})
	}
	heap.Init(h)
	for h.Len() > 0 {
		top := &h.items[0]
		if err := each(top.v); err != nil {
			return err
		}
		v, err := top.r.Next()
		switch {
		case errors.Is(err, io.EOF):
			heap.Pop(h)
		case err != nil:
			return err
		default:
			top.v = v
			heap.Fix(h, 0)
		}
	}
	return nil
}

type mergeItem[T any] struct {
	v T
	r *Reader[T]
}

type mergeHeap[T any] struct {
	items []mergeItem[T]
	order func(a, b T) int
}

func (h *mergeHeap[T]) Len() int           { return len(h.items) }
func (h *mergeHeap[T]) Less(i, j int) bool { return h.order(h.items[i].v, h.items[j].v) < 0 }
func (h *mergeHeap[T]) Swap(i, j int)      { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *mergeHeap[T]) Push(x any)         { h.items = append(h.items, x.(mergeItem[T])) }
func (h *mergeHeap[T]) Pop() any {
	x := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return x
}
