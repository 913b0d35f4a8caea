package input

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
)

const benchRows = 100_000

// benchInputs generates benchRows rows of each format once: a pool, a user, an Okta identity by
// email, and one extra column.
var benchInputs = sync.OnceValues(func() (csvData, jsonlData []byte) {
	var c, j bytes.Buffer
	c.WriteString("user_pool_id,destination_user,source_provider,source_attribute,source_value,ticket\n")
	for i := range benchRows {
		fmt.Fprintf(&c, "%s,user%06d,Okta,email,user%06d@example.com,T-%d\n", pool, i, i, i)
		fmt.Fprintf(&j, `{"user_pool_id":%q,"destination_user":"user%06d","source_provider":"Okta","source_attribute":"email","source_value":"user%06d@example.com","ticket":"T-%d"}`+"\n", pool, i, i, i)
	}
	return c.Bytes(), j.Bytes()
})

func BenchmarkCSV(b *testing.B) {
	data, _ := benchInputs()
	benchmarkRead(b, data, func() (Reader, error) { return NewCSV(bytes.NewReader(data), Options{}) })
}

func BenchmarkJSONL(b *testing.B) {
	_, data := benchInputs()
	benchmarkRead(b, data, func() (Reader, error) { return NewJSONL(bytes.NewReader(data), Options{}), nil })
}

func benchmarkRead(b *testing.B, data []byte, open func() (Reader, error)) {
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r, err := open()
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			row, err := r.Next()
			if err != nil {
				break
			}
			if !row.Valid() {
				b.Fatalf("row %d: %s", row.Line, row.Invalid)
			}
			n++
		}
		if n != benchRows {
			b.Fatalf("got %d rows, want %d", n, benchRows)
		}
	}
	b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
