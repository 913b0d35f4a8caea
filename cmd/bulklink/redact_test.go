package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// TestRedactor checks that what the SDK and users hand bulklink loses its secrets, and that
// the rest of a message survives.
func TestRedactor(t *testing.T) {
	t.Parallel()
	const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	const token = "FwoGZXIvYXdzEBYaDSECRETSESSIONTOKENVALUE1234567890abcdefgh"
	r := new(redactor)
	r.Add("known-secret-value")
	tests := []struct{ in, gone, kept string }{
		{`process provider error: parse failed of process output: {"Version": 1, "AccessKeyId": "AKIAIOSFODNN7EXAMPLE", "SecretAccessKey": "` + secret + `", "SessionToken": "` + token + `", "Expiration": "not-a-time"}`,
			secret + token + "AKIAIOSFODNN7EXAMPLE", `parse failed of process output`},
		{"aws_secret_access_key = " + secret + "\naws_session_token=" + token, secret + token, "aws_secret_access_key = "},
		{"GET /?X-Amz-Security-Token=" + token + "&X-Amz-Signature=abcdef0123", token + "abcdef0123", "X-Amz-Security-Token="},
		{"Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261130/us-east-1/cognito-idp/aws4_request, Signature=deadbeef", "AKIAIOSFODNN7EXAMPLE deadbeef", "Authorization: "},
		{"post https://admin:hunter2@cognito.example.com/x: refused", "hunter2 admin:", "https://" + redacted + "@cognito.example.com/x"},
		{"the value known-secret-value leaked", "known-secret-value", "the value"},
		{"report /tmp/TestRunRepairsATornRecordcsv665752803/001/links.csv.report.csv: sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "",
			"/tmp/TestRunRepairsATornRecordcsv665752803/001/links.csv.report.csv: sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
		{"no usable AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", "", "no usable AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"},
	}
	for _, tt := range tests {
		got := r.String(tt.in)
		for _, g := range strings.Fields(tt.gone) {
			if strings.Contains(got, g) {
				t.Errorf("%q\nkept %q", got, g)
			}
		}
		if !strings.Contains(got, tt.kept) {
			t.Errorf("%q\nlost %q", got, tt.kept)
		}
	}

	// Through the logger: messages, strings and errors alike.
	var buf bytes.Buffer
	log := zap.New(r.core(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(&buf), zapcore.DebugLevel)))
	log.Debug(`creds {"SecretAccessKey": "`+secret+`"}`, zap.String("s", "aws_session_token="+token),
		zap.Error(errors.New(`x "SessionToken":"`+token+`"`)), zap.Stringer("u", stringer("https://u:hunter2@h")))
	log.With(zap.String("w", "password="+secret)).Info("with")
	if out := buf.String(); strings.Contains(out, secret) || strings.Contains(out, token) || strings.Contains(out, "hunter2") {
		t.Errorf("the log holds a secret:\n%s", out)
	}
	if got := redactURL("http://user:pass@127.0.0.1:9229/x"); got != "http://127.0.0.1:9229/x" {
		t.Errorf("redactURL: %s", got)
	}
}

type stringer string

func (s stringer) String() string { return string(s) }
