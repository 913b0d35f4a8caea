package main

import (
	"net/url"
	"regexp"
	"strings"
	"sync"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Nothing bulklink prints or writes may hold a secret: not a log line at any level, not a
// summary, meta or report, not an error. The SDK's own errors can quote a secret (a
// credential_process whose output does not parse is quoted whole), and a URL can carry a
// password. redactor scrubs text on its way out: the secrets it has been told (the resolved
// credentials), the values of keys and headers named like secrets (in JSON, ini files, query
// strings and HTTP headers, as SDK errors quote them), access key IDs, and the user info of
// URLs. The logger's core runs every entry's text through it, and so do the messages printed
// to stderr and the summary. Structured log fields (zap.Any) are not scrubbed: bulklink logs
// only its own counters that way, never an SDK value. What it returns is then made inert for
// a terminal, a separate step (terminal.go).
type redactor struct {
	mu      sync.RWMutex
	secrets []string
}

const redacted = "[REDACTED]"

var (
	// "SecretAccessKey": "...", "SessionToken": "...", "password": "..."
	jsonSecret = regexp.MustCompile(`(?i)("[a-z_]*(?:secret|token|password|passwd|signature)[a-z_]*"\s*:\s*)"(?:[^"\\]|\\.)*"`)
	// aws_secret_access_key = ..., X-Amz-Security-Token=..., Signature=..., password=...
	iniSecret = regexp.MustCompile(`(?i)(\b[a-z_-]*(?:secret|token|password|passwd|signature)[a-z_-]*\s*=\s*)[^\s,;&"']+`)
	// X-Amz-Security-Token: ..., Authorization: ... (headers quoted in an error)
	headerSecret = regexp.MustCompile(`(?i)(\b(?:x-amz-security-token|authorization)\s*:\s*)[^\r\n]+`)
	// Access key IDs: AKIA (long-term), ASIA (temporary) and their kin.
	accessKeyID = regexp.MustCompile(`\b(?:AKIA|ASIA|AIDA|AROA|ANPA|ANVA|APKA)[A-Z0-9]{12,}\b`)
	// The user info of a URL: scheme://user:password@host, up to the last @ before the
	// path (a password may hold an @).
	urlUserInfo = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s]*@`)
	// What a credential_process printed, as the SDK quotes it when it does not parse:
	// whatever its shape, it may hold the secrets.
	processOutput = regexp.MustCompile(`(?s)(process output: ).*?(, error:|$)`)
)

// Add tells the redactor a secret to scrub wherever it appears.
func (r *redactor) Add(secrets ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range secrets {
		if len(s) >= 4 {
			r.secrets = append(r.secrets, s)
		}
	}
}

// String returns s without the secrets it holds.
func (r *redactor) String(s string) string {
	r.mu.RLock()
	for _, secret := range r.secrets {
		s = strings.ReplaceAll(s, secret, redacted)
	}
	r.mu.RUnlock()
	s = processOutput.ReplaceAllString(s, "${1}"+redacted+"${2}")
	s = jsonSecret.ReplaceAllString(s, `${1}"`+redacted+`"`)
	s = iniSecret.ReplaceAllString(s, "${1}"+redacted)
	s = headerSecret.ReplaceAllString(s, "${1}"+redacted)
	s = accessKeyID.ReplaceAllString(s, redacted)
	return urlUserInfo.ReplaceAllString(s, "${1}"+redacted+"@")
}

// Error returns err with its text scrubbed, keeping what errors.Is and As find.
func (r *redactor) Error(err error) error {
	if err == nil {
		return nil
	}
	return &redactedError{msg: r.String(err.Error()), err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// URL returns a URL without its user info, for logs and the report's meta.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	u.User = nil
	return u.String()
}

// core wraps a logger's core so that every entry is scrubbed.
func (r *redactor) core(c zapcore.Core) zapcore.Core { return &redactingCore{c, r} }

type redactingCore struct {
	zapcore.Core
	r *redactor
}

func (c *redactingCore) With(fields []zapcore.Field) zapcore.Core {
	return &redactingCore{c.Core.With(c.r.fields(fields)), c.r}
}

func (c *redactingCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c *redactingCore) Write(e zapcore.Entry, fields []zapcore.Field) error {
	e.Message = c.r.String(e.Message)
	return c.Core.Write(e, c.r.fields(fields))
}

// fields scrubs the fields that carry text: strings, errors, stringers and byte strings.
func (r *redactor) fields(fields []zapcore.Field) []zapcore.Field {
	out := make([]zapcore.Field, len(fields))
	for i, f := range fields {
		switch f.Type {
		case zapcore.StringType:
			f.String = r.String(f.String)
		case zapcore.ErrorType:
			if err, ok := f.Interface.(error); ok {
				f = zap.String(f.Key, r.String(err.Error()))
			}
		case zapcore.StringerType:
			if s, ok := f.Interface.(interface{ String() string }); ok {
				f = zap.String(f.Key, r.String(s.String()))
			}
		case zapcore.ByteStringType:
			if b, ok := f.Interface.([]byte); ok {
				f = zap.String(f.Key, r.String(string(b)))
			}
		}
		out[i] = f
	}
	return out
}
