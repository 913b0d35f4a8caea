package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulklink/bulklink/emulator"
)

const (
	leakedSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	leakedToken  = "FwoGZXIvYXdzEBYaDSECRETSESSIONTOKENVALUE1234567890abcdefgh"
)

// A credential_process whose output does not parse (a malformed Expiration) makes the SDK
// quote the output whole in its error; at debug level too, no secret reaches stderr.
func TestNoSecretFromACredentialProcess(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	proc := filepath.Join(dir, "creds.sh")
	script := "#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"AKIAIOSFODNN7EXAMPLE\", \"SecretAccessKey\": \"" + leakedSecret +
		"\", \"SessionToken\": \"" + leakedToken + "\", \"Expiration\": \"not-a-time\"}'\n"
	if err := os.WriteFile(proc, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	config := writeFile(t, "config", "[default]\ncredential_process = "+proc+"\nregion = us-east-1\n")
	in := writeFile(t, "links.csv", linkScenario(2, 0).csv())
	env := append(cleanEnv(), "AWS_CONFIG_FILE="+config)
	for _, args := range [][]string{
		{"run", "--input", in, "--report", in + ".report.csv", "--endpoint-url", "http://127.0.0.1:1", "--log-level", "debug", "--log-format", "json"},
		{"run", "--input", in, "--report", in + ".report2.csv", "--endpoint-url", "http://127.0.0.1:1", "--log-level", "debug", "--log-format", "console"},
		{"validate", "--online", "--input", in, "--endpoint-url", "http://127.0.0.1:1", "--log-level", "debug"},
	} {
		res := runEnv(t, env, args...)
		if res.code != exitFatal {
			t.Errorf("%s: exit %d, want %d", args[0], res.code, exitFatal)
		}
		for _, secret := range []string{leakedSecret, leakedToken, "AKIAIOSFODNN7EXAMPLE"} {
			if strings.Contains(res.stderr+res.stdout, secret) {
				t.Errorf("%s printed the secret %s:\n%s", args[0], secret, res.stderr)
			}
		}
		if !strings.Contains(res.stderr, "no usable AWS credentials") {
			t.Errorf("%s: stderr does not say the credentials are unusable:\n%s", args[0], res.stderr)
		}
	}
}

// A password in --endpoint-url is in no log line, nor in the report's meta or summary.
func TestNoPasswordFromTheEndpointURL(t *testing.T) {
	t.Parallel()
	s := linkScenario(3, 0)
	srv := startEmulator(t, emulator.Options{}, s.seed)
	in := writeFile(t, "links.csv", s.csv())
	rep := in + ".report.csv"
	url := strings.Replace(srv.URL, "http://", "http://admin:hunter2@", 1)
	res := bulklink(t, nil, "run", "--input", in, "--report", rep, "--endpoint-url", url, "--read-rate", "0", "--log-level", "debug")
	if res.code != exitOK {
		t.Fatalf("exit %d, want 0", res.code)
	}
	files := []string{rep, rep + ".meta.json", rep + ".summary.json"}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "hunter2") {
			t.Errorf("%s holds the password", f)
		}
	}
	if strings.Contains(res.stderr, "hunter2") {
		t.Errorf("stderr holds the password:\n%s", res.stderr)
	}
	if b, _ := os.ReadFile(rep + ".meta.json"); !strings.Contains(string(b), strings.TrimPrefix(srv.URL, "http://")) {
		t.Errorf("the meta does not record the endpoint (without its password): %s", b)
	}
}

// runEnv runs the binary with exactly env.
func runEnv(t *testing.T, env []string, args ...string) result {
	t.Helper()
	return bulklinkStdinEnv(t, "", env, args...)
}
