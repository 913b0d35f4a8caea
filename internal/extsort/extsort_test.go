package extsort

import (
	"cmp"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bulklink/bulklink/internal/testseed"
)

type rec struct {
	key string
	n   int
}

var recs = &Codec[rec]{
	Append: func(b []byte, r rec) []byte { return append(append(b, byte(r.n), byte(r.n>>8)), r.key...) },
	Decode: func(b []byte) (rec, error) {
		if len(b) < 2 {
			return rec{}, errors.New("short")
		}
		return rec{key: string(b[2:]), n: int(b[0]) | int(b[1])<<8}, nil
	},
}

func byKey(a, b rec) int { return cmp.Or(strings.Compare(a.key, b.key), cmp.Compare(a.n, b.n)) }

func readAll[T any](t *testing.T, f *File[T]) []T {
	t.Helper()
	var out []T
	rd := f.Reader(t.Context())
	for {
		v, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
}

// Sort gives what slices.SortFunc gives, whatever the bounds of its runs and however many
// rounds the merge takes.
func TestSortMatchesInMemory(t *testing.T) {
	rnd := rand.New(rand.NewPCG(testseed.Seed(t), 2))
	for _, o := range []Options{{}, {MaxRecords: 1}, {MaxRecords: 7, FanIn: 2}, {MaxBytes: 100, FanIn: 3}, {MaxRecords: 1000}} {
		in, err := Temp(t.TempDir(), "in-*", recs)
		if err != nil {
			t.Fatal(err)
		}
		var want []rec
		for i := range 500 {
			r := rec{key: strings.Repeat("x", rnd.IntN(40)) + string(rune('a'+rnd.IntN(26))), n: i}
			want = append(want, r)
			if err := in.Add(r); err != nil {
				t.Fatal(err)
			}
		}
		keep := func(r rec) bool { return r.n%10 != 3 }
		want = slices.DeleteFunc(want, func(r rec) bool { return !keep(r) })
		slices.SortFunc(want, byKey)
		out, err := Sort(t.Context(), in, byKey, keep, o)
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, out); !slices.Equal(got, want) {
			t.Errorf("%+v: got %d records, not in order or not the ones kept", o, len(got))
		}
		if out.Len() != int64(len(want)) {
			t.Errorf("%+v: Len %d, want %d", o, out.Len(), len(want))
		}
		in.Close()
		out.Close()
	}
}

// A file wrapped at an offset reads only its records, and appends after them: a spill that
// outlives its process, resumed from the length it committed.
func TestWrapResumes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spill")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("HEADER\n")); err != nil {
		t.Fatal(err)
	}
	w := Wrap(f, recs, 7, 0, 0)
	for i := range 3 {
		if err := w.Add(rec{key: "k", n: i}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	size, n := w.Size(), w.Len()
	w.Add(rec{key: "lost", n: 9}) // written, never committed
	w.Flush()
	w.Close()

	f, err = os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(7 + size); err != nil {
		t.Fatal(err)
	}
	w = Wrap(f, recs, 7, size, n)
	defer w.Close()
	if err := w.Add(rec{key: "k", n: 3}); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	got := readAll(t, w)
	want := []rec{{"k", 0}, {"k", 1}, {"k", 2}, {"k", 3}}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// A file cut inside a record says so, rather than yielding a short record.
func TestTorn(t *testing.T) {
	for _, c := range []*Codec[rec]{recs, {Size: 5, Append: recs.Append, Decode: recs.Decode}} {
		f, err := Temp(t.TempDir(), "t-*", c)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Add(rec{key: "abc", n: 1}); err != nil {
			t.Fatal(err)
		}
		f.Flush()
		f.size-- // as if the last byte had not reached the disk
		_, err = f.Reader(t.Context()).Next()
		if !errors.Is(err, ErrTorn) {
			t.Errorf("size %d: got %v, want ErrTorn", c.Size, err)
		}
		f.Close()
	}
}

// A fixed-size codec refuses a record of another size.
func TestFixedSize(t *testing.T) {
	f, err := Temp(t.TempDir(), "t-*", &Codec[rec]{Size: 4, Append: recs.Append, Decode: recs.Decode})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Add(rec{key: "abc"}); err == nil {
		t.Error("a 5-byte record went into a file of 4-byte ones")
	}
}

// A sort stops when its context ends.
func TestSortStops(t *testing.T) {
	in, err := Temp(t.TempDir(), "in-*", recs)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	for i := range 100 {
		in.Add(rec{key: "k", n: i})
	}
	ctx, cancel := context.WithCancelCause(t.Context())
	stop := errors.New("stopped")
	cancel(stop)
	if _, err := Sort(ctx, in, byKey, nil, Options{MaxRecords: 10}); !errors.Is(err, stop) {
		t.Errorf("got %v, want the context's cause", err)
	}
}
