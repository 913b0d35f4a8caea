package plan

import (
	"cmp"
	"context"
	"encoding/binary"

	"github.com/bulklink/bulklink/internal/extsort"
)

// A tuple is what the conflict checks need of a row: hashes of its source identity and of
// its destination user, and its line. 20 bytes on disk.
type tuple struct {
	src, dst uint64
	line     uint32
}

const tupleSize = 20

// tuples is how tuples lie in the temporary files of the checks, sorted on disk by package
// extsort.
var tuples = &extsort.Codec[tuple]{
	Size: tupleSize,
	Append: func(b []byte, t tuple) []byte {
		b = binary.LittleEndian.AppendUint64(b, t.src)
		b = binary.LittleEndian.AppendUint64(b, t.dst)
		return binary.LittleEndian.AppendUint32(b, t.line)
	},
	Decode: func(b []byte) (tuple, error) {
		return tuple{binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[8:]), binary.LittleEndian.Uint32(b[16:])}, nil
	},
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
type tupleFile = extsort.File[tuple]

func newTupleFile(dir string) (*tupleFile, error) {
	return extsort.Temp(dir, ".bulklink-plan-*", tuples)
}

// sortTuples sorts the tuples of in by order into a new file, holding at most runTuples of
// them in memory at once: runs are sorted in memory and written aside, then merged.
func sortTuples(ctx context.Context, in *tupleFile, dir string, runTuples int, order func(a, b tuple) int, keep func(tuple) bool) (*tupleFile, error) {
	return extsort.Sort(ctx, in, order, keep, extsort.Options{Dir: dir, MaxRecords: runTuples})
}
