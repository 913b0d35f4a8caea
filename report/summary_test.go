package report

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestSummaryPrint(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name    string
		build   func(s *Summary)
		end     time.Duration
		want    []string // lines the summary holds
		notWant []string
	}{
		{
			name:    "one row, quickly",
			build:   func(s *Summary) { s.Add(&Record{Status: Linked}) },
			end:     3 * time.Millisecond,
			want:    []string{"run: 1 row in 3ms"},
			notWant: []string{"rows/s", "1 rows"},
		},
		{
			name:    "nothing left to do",
			build:   func(s *Summary) {},
			end:     2 * time.Microsecond,
			want:    []string{"run: 0 rows in under 1ms"},
			notWant: []string{"rows/s"},
		},
		{
			name: "a rate once it means something, statuses in the schema's order, the rows to look at",
			build: func(s *Summary) {
				s.Report = "r.csv"
				s.Add(&Record{Status: Failed, ErrorCode: "LimitExceededException"})
				s.Add(&Record{Status: Linked})
				s.Add(&Record{Status: AlreadyLinked})
				s.Add(&Record{Status: Invalid, ErrorCode: "MissingField"})
			},
			end: 2 * time.Second,
			want: []string{"run: 4 rows in 2s (2.0 rows/s)",
				"  linked          1\n  already_linked  1\n  failed          1\n  invalid         1",
				"see those rows: bulklink report r.csv --status failed,invalid"},
		},
		{
			name: "stopped by a signal",
			build: func(s *Summary) {
				s.Report, s.State, s.ExitCode, s.Aborted = "r.csv", StateStopped, 143, "stopped by SIGTERM"
			},
			end:     time.Minute + 400*time.Millisecond,
			want:    []string{"in 1m0s", "stopped by SIGTERM (exit 143); the report is consistent: run the same command to resume"},
			notWant: []string{"received", "aborted"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSummary("run", start)
			tt.build(s)
			s.Finish(start.Add(tt.end))
			var out bytes.Buffer
			s.Print(&out)
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("summary lacks %q:\n%s", w, out.String())
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(out.String(), w) {
					t.Errorf("summary holds %q:\n%s", w, out.String())
				}
			}
		})
	}
}
