package plan

import (
	"fmt"
	"testing"

	"github.com/bulklink/bulklink/input"
)

// BenchmarkPlan: the checks across the input, per row: the tuple written in the first pass,
// the two sorts on disk, the verdicts applied in the later pass. Offline, so that no pool is
// read; one row in a hundred repeats another, one in a thousand conflicts.
func BenchmarkPlan(b *testing.B) {
	const n = 200_000
	rows := make([]input.Row, n)
	for i := range rows {
		user, src := fmt.Sprintf("u%07d", i), fmt.Sprintf("g%07d", i)
		switch {
		case i%1000 == 999:
			src = fmt.Sprintf("g%07d", i-1) // another user's identity
		case i%100 == 99:
			user, src = fmt.Sprintf("u%07d", i-1), fmt.Sprintf("g%07d", i-1) // a repeat
		}
		rows[i] = row(i+2, user, "Google", "Cognito_Subject", src)
	}
	b.ReportAllocs()
	for b.Loop() {
		p := New(Config{TempDir: b.TempDir()})
		for i := range rows {
			r := rows[i]
			if err := p.Visit(b.Context(), &r); err != nil {
				b.Fatal(err)
			}
		}
		pl, err := p.Finish(b.Context())
		if err != nil {
			b.Fatal(err)
		}
		for i := range rows {
			r := rows[i]
			pl.Apply(b.Context(), r)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
