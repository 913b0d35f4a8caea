package job

import (
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// A pace line says where the rate went since the line before: a cut after a raise, logged
// when the rate is lower than last told, reads "lowered", never "raised".
func TestPacerLogsTheDirection(t *testing.T) {
	c := newClock()
	core, logs := observer.New(zapcore.InfoLevel)
	p := newPacer(100, zap.New(core), c.now)

	p.Throttled(c.now()) // 100 -> 70, logged at once
	c.add(logEvery / 2)
	p.Succeeded() // a raise within logEvery: not logged
	for range 3 { // cuts within logEvery of the first line: not logged
		c.add(cutCooldown)
		p.Throttled(c.now())
	}
	c.add(logEvery)
	p.Succeeded() // logged: the rate is lower than the last line said, though this change raised it

	var got []string
	for _, e := range logs.All() {
		got = append(got, e.Message)
	}
	want := []string{"throttled: rate lowered", "throttled: rate lowered"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("log lines %q, want %q", got, want)
	}
	last := logs.All()[1].ContextMap()
	if last["rate"].(float64) >= last["was"].(float64) {
		t.Errorf("last line %v: the rate went down", last)
	}
}
