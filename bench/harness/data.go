//go:build linux

package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/bulklink/bulklink/input"
	"github.com/bulklink/bulklink/report"
	"github.com/bulklink/bulklink/schema"
)

// inputHeader is the CSV header of generated inputs; rowBytes about the size of a row.
const (
	inputHeader = "user_pool_id,destination_user,source_provider,source_value\n"
	rowBytes    = 62
)

// workspace is the harness's temporary directory. Inputs are generated once per size and
// shared by the scenarios.
type workspace struct {
	dir    string
	logDir string // where the tools' logs go: dir, unless -logs keeps them
	inputs map[int]string
	seq    int
}

func newWorkspace() (*workspace, error) {
	dir, err := os.MkdirTemp("", "bulklink-bench-")
	if err != nil {
		return nil, err
	}
	// Empty AWS config files: the tools must not pick up the user's profiles or endpoints.
	for _, f := range []string{"aws-config", "aws-credentials"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o600); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	return &workspace{dir: dir, logDir: dir, inputs: map[int]string{}}, nil
}

func (ws *workspace) remove() error { return os.RemoveAll(ws.dir) }

// longLine writes an input whose second line is n bytes long, then a row: the record over
// the bound is skipped, the row after it read.
func (ws *workspace) longLine(n int) (string, error) {
	path := ws.path("long-line.csv")
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString(inputHeader)
	w.WriteString(benchPool + ",u0,Google,")
	chunk := make([]byte, 1<<20)
	for i := range chunk {
		chunk[i] = 'x'
	}
	for left := n; left > 0; left -= len(chunk) {
		w.Write(chunk[:min(left, len(chunk))])
	}
	fmt.Fprintf(w, "\n%s,%s,Google,%s\n", benchPool, username(0), sourceValue(0))
	if err := w.Flush(); err != nil {
		f.Close()
		return "", err
	}
	return path, f.Close()
}

// path returns a fresh path in the workspace, for a report or a log.
func (ws *workspace) path(name string) string {
	ws.seq++
	return filepath.Join(ws.dir, fmt.Sprintf("%02d-%s", ws.seq, name))
}

// logPath returns the path of a fresh log file.
func (ws *workspace) logPath(name string) string {
	ws.seq++
	return filepath.Join(ws.logDir, fmt.Sprintf("%02d-%s.log", ws.seq, name))
}

// input returns a CSV input of n rows, generating it on first use: row i (0-based, line
// i+2) links user<i> to the Google sub 1<i, 20 digits>.
func (ws *workspace) input(n int) (string, error) {
	if p, ok := ws.inputs[n]; ok {
		return p, nil
	}
	p := filepath.Join(ws.dir, fmt.Sprintf("links-%d.csv", n))
	if err := writeInput(p, n); err != nil {
		return "", err
	}
	ws.inputs[n] = p
	return p, nil
}

// dropInput deletes the input of n rows, if any: the 10M-row one is large.
func (ws *workspace) dropInput(n int) {
	if p, ok := ws.inputs[n]; ok {
		os.Remove(p)
		delete(ws.inputs, n)
	}
}

func writeInput(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString(inputHeader)
	b := make([]byte, 0, 128)
	for i := range n {
		b = append(b[:0], benchPool...)
		b = append(b, ',')
		b = appendUsername(b, i)
		b = append(b, ",Google,"...)
		b = appendSourceValue(b, i)
		b = append(b, '\n')
		if _, err := w.Write(b); err != nil {
			f.Close()
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

// writeDoneReport writes, with bulklink's own report writer, a CSV report of inputPath
// whose first done rows are linked, and its meta file, as a run that stopped after them
// leaves it: a run with this report against endpoint (region us-east-1) resumes after them.
func writeDoneReport(reportPath, inputPath string, done int, endpoint string) error {
	fp, err := fingerprint(inputPath)
	if err != nil {
		return err
	}
	meta := &report.Meta{Input: inputPath, Fingerprint: fp, Region: "us-east-1", Endpoint: endpoint, CreatedAt: time.Now().UTC(), Version: "bench-harness"}
	w, err := report.Open(report.Spec{Path: reportPath, Command: schema.Run, Layout: report.Layout{Format: report.CSV}, Meta: meta, Restart: true})
	if err != nil {
		return err
	}
	finished := time.Now().Add(-time.Hour)
	rec := report.Record{Status: report.Linked, Attempts: 1, Duration: 30 * time.Millisecond, FinishedAt: finished}
	rec.Request = input.Request{
		UserPoolID: benchPool, DestinationProvider: "Cognito",
		SourceProvider: "Google", SourceAttribute: "Cognito_Subject",
	}
	for i := range done {
		rec.Line = i + 2
		rec.Request.DestinationUser = username(i)
		rec.Request.SourceValue = sourceValue(i)
		if err := w.Write(&rec); err != nil {
			w.Close()
			return fmt.Errorf("write %s: %w", reportPath, err)
		}
	}
	return w.Close()
}

// fingerprint is the input's identity a report's meta file holds: the SHA-256 of its
// bytes, as README.md (Resume) describes it and input.Fingerprint computes it.
func fingerprint(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("fingerprint %s: %w", path, err)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// fileSize is the size of the file at path, or 0.
func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// count formats a row count the way the tables show it: 100k, 1M, 9.9M.
func count(n int) string {
	switch {
	case n >= 1_000_000 && n%100_000 == 0:
		return strconv.FormatFloat(float64(n)/1e6, 'f', -1, 64) + "M"
	case n >= 1000 && n%1000 == 0:
		return strconv.Itoa(n/1000) + "k"
	}
	return strconv.Itoa(n)
}
