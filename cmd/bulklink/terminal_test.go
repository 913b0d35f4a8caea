package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// The log's encoder makes its lines inert, in either format, whatever the message, the
// fields, the fields given once (With) and the maps (zap.Any) hold; a JSON line still decodes
// to the values logged.
func TestInertEncoder(t *testing.T) {
	t.Parallel()
	const v = "\x1b[2J" + "\u202e" + "\u009b" + "\x7f" + "\U000e0001" + "\r"
	for _, console := range []bool{true, false} {
		var enc zapcore.Encoder
		if console {
			ec := zap.NewDevelopmentEncoderConfig()
			ec.EncodeLevel = zapcore.CapitalColorLevelEncoder
			enc = zapcore.NewConsoleEncoder(ec)
		} else {
			enc = zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
		}
		var buf bytes.Buffer
		log := zap.New(new(redactor).core(zapcore.NewCore(inertEncoder{enc, console}, zapcore.AddSync(&buf), zapcore.DebugLevel)))
		log.With(zap.String("with", v)).Info("message "+v, zap.String("s", v), zap.Error(errors.New(v)),
			zap.Any("map", map[string]int{v: 1}), zap.ByteString("b", []byte(v)))
		out := buf.String()
		checkInert(t, "the log", []byte(out))
		if console {
			if !strings.Contains(out, `message \x1b[2J\u202e\u009b\x7f\U000e0001\r`) || !strings.Contains(out, `"s": "\u001b[2J\u202e\u009b\u007f\udb40\udc01\r"`) {
				t.Errorf("console line:\n%s", out)
			}
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(out), &rec); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, out)
		}
		if rec["msg"] != "message "+v {
			t.Errorf("msg: %q, want %q", rec["msg"], "message "+v)
		}
		for _, k := range []string{"with", "s", "error", "b"} {
			if rec[k] != v {
				t.Errorf("%s: %q, want %q", k, rec[k], v)
			}
		}
		if m := rec["map"].(map[string]any); m[v] != 1.0 {
			t.Errorf("map: %v", m)
		}
	}
}
