package plan

import (
	"bufio"
	"cmp"
	"container/heap"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
)

// A tuple is what the conflict checks need of a row: hashes of its source identity and of
// its destination user, and its line. 20 bytes on disk.
type tuple struct {
	src, dst uint64
	line     uint32
}

const tupleSize = 20

func (t tuple) put(b []byte) {
	binary.LittleEndian.PutUint64(b, t.src)
	binary.LittleEndian.PutUint64(b[8:], t.dst)
	binary.LittleEndian.PutUint32(b[16:], t.line)
}

func getTuple(b []byte) tuple {
	return tuple{binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[8:]), binary.LittleEndian.Uint32(b[16:])}
}

// The orders the checks read tuples in.
func bySource(a, b tuple) int {
	return cmp.Or(cmp.Compare(a.src, b.src), cmp.Compare(a.dst, b.dst), cmp.Compare(a.line, b.line))
}

func byDestination(a, b tuple) int {
	return cmp.Or(cmp.Compare(a.dst, b.dst), cmp.Compare(a.line, b.line))
}

// tupleFile is a file of tuples in a directory of temporary files, unlinked as soon as it is
// made: nothing is left behind however the process ends.
type tupleFile struct {
	f *os.File
	w *bufio.Writer
	n int64
}

func newTupleFile(dir string) (*tupleFile, error) {
	f, err := os.CreateTemp(dir, ".bulklink-plan-*")
	if err != nil {
		return nil, fmt.Errorf("make a temporary file for the plan: %w", err)
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, err
	}
	return &tupleFile{f: f, w: bufio.NewWriterSize(f, 64<<10)}, nil
}

func (t *tupleFile) add(x tuple) error {
	var b [tupleSize]byte
	x.put(b[:])
	t.n++
	_, err := t.w.Write(b[:])
	return err
}

// reader reads the tuples from the start; the file must have been flushed. Its reads stop
// once ctx ends.
func (t *tupleFile) reader(ctx context.Context) *tupleReader {
	return &tupleReader{r: bufio.NewReaderSize(&ctxReader{ctx, io.NewSectionReader(t.f, 0, t.n*tupleSize)}, 64<<10)}
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

func (t *tupleFile) flush() error { return t.w.Flush() }
func (t *tupleFile) close() error { return t.f.Close() }

type tupleReader struct {
	r   *bufio.Reader
	buf [tupleSize]byte
}

// next returns the next tuple, or io.EOF.
func (r *tupleReader) next() (tuple, error) {
	if _, err := io.ReadFull(r.r, r.buf[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return tuple{}, fmt.Errorf("plan: a temporary file ends inside a tuple: %w", err)
		}
		return tuple{}, err
	}
	return getTuple(r.buf[:]), nil
}

// sortTuples sorts the tuples of in by order into a new file, holding at most runTuples of
// them in memory at once: runs are sorted in memory and written aside, then merged.
func sortTuples(ctx context.Context, in *tupleFile, dir string, runTuples int, order func(a, b tuple) int, keep func(tuple) bool) (*tupleFile, error) {
	if err := in.flush(); err != nil {
		return nil, err
	}
	var runs []*tupleFile
	defer func() {
		for _, r := range runs {
			r.close()
		}
	}()
	rd := in.reader(ctx)
	buf := make([]tuple, 0, min(int64(runTuples), in.n))
	for done := false; !done; {
		buf = buf[:0]
		for len(buf) < runTuples {
			t, err := rd.next()
			if errors.Is(err, io.EOF) {
				done = true
				break
			}
			if err != nil {
				return nil, err
			}
			if keep == nil || keep(t) {
				buf = append(buf, t)
			}
		}
		if len(buf) == 0 {
			break
		}
		slices.SortFunc(buf, order)
		run, err := newTupleFile(dir)
		if err != nil {
			return nil, err
		}
		runs = append(runs, run)
		for _, t := range buf {
			if err := run.add(t); err != nil {
				return nil, err
			}
		}
		if err := run.flush(); err != nil {
			return nil, err
		}
	}
	out, err := newTupleFile(dir)
	if err != nil {
		return nil, err
	}
	if err := merge(ctx, runs, order, out); err != nil {
		out.close()
		return nil, err
	}
	return out, out.flush()
}

// merge writes the tuples of sorted runs, in order, to out.
func merge(ctx context.Context, runs []*tupleFile, order func(a, b tuple) int, out *tupleFile) error {
	h := &mergeHeap{order: order}
	for _, r := range runs {
		rd := r.reader(ctx)
		t, err := rd.next()
		if errors.Is(err, io.EOF) {
			continue
		}
		if err != nil {
			return err
		}
		h.items = append(h.items, mergeItem{t, rd})
	}
	heap.Init(h)
	for h.Len() > 0 {
		top := &h.items[0]
		if err := out.add(top.t); err != nil {
			return err
		}
		t, err := top.r.next()
		switch {
		case errors.Is(err, io.EOF):
			heap.Pop(h)
		case err != nil:
			return err
		default:
			top.t = t
			heap.Fix(h, 0)
		}
	}
	return nil
}

type mergeItem struct {
	t tuple
	r *tupleReader
}

type mergeHeap struct {
	items []mergeItem
	order func(a, b tuple) int
}

func (h *mergeHeap) Len() int           { return len(h.items) }
func (h *mergeHeap) Less(i, j int) bool { return h.order(h.items[i].t, h.items[j].t) < 0 }
func (h *mergeHeap) Swap(i, j int)      { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *mergeHeap) Push(x any)         { h.items = append(h.items, x.(mergeItem)) }
func (h *mergeHeap) Pop() any {
	x := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return x
}
