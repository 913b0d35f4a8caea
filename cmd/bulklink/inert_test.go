package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/creack/pty"

	"github.com/bulklink/bulklink/emulator"
	"github.com/bulklink/bulklink/report"
)

// Whatever an input file, a report or a Cognito endpoint holds, what bulklink prints for a
// person is inert: a terminal shows it and acts on none of it (docs/terminal.md). These
// tests run the real binary in a pseudo-terminal and look at both the bytes it wrote and the
// screen a person would see; and in a pipe, where machine outputs stay exact.

// The hostile values: a screen clear, text made invisible, a right-to-left override, a C1
// control sequence introducer, and, to tell escapes from text, a value that holds a
// backslash and one that starts with a double quote.
const (
	clearScreen = "\x1b[2Jbob"
	hidden      = "al\x1b[8mice"
	override    = "\u202eevil"
	c1CSI       = "c\u009b2Jx"
	backslash   = `lit\x1b[2J` // a literal backslash: a valid value
	quoted      = `"quoted"`   // a valid value too
)

// levelColour is the colour zap gives a log level on a terminal: bulklink's own escapes.
var levelColour = regexp.MustCompile(`\x1b\[3[1-6]m(DEBUG|INFO|WARN|ERROR|DPANIC|PANIC|FATAL)\x1b\[0m`)

// checkInert fails the test if out holds anything a terminal would act on, but the colours
// of zap's level names, tabs and line ends (CR LF, as a pty writes them): no other C0
// control, DEL, C1 control (U+0080 to U+009F), invisible formatting character (Unicode Cf:
// zero-width characters, bidi marks, overrides and isolates, tags), line or paragraph
// separator, nor invalid UTF-8. It is written from the Unicode tables, not from bulklink's
// escaper, so that it checks that.
func checkInert(t *testing.T, what string, out []byte) {
	t.Helper()
	s := levelColour.ReplaceAllString(string(out), "$1")
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		bad := ""
		switch {
		case r == utf8.RuneError && n == 1:
			bad = "invalid UTF-8"
		case r == '\n' || r == '\t' || r == '\r' && strings.HasPrefix(s[i+1:], "\n"):
		case r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f:
			bad = "control character"
		case unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp):
			bad = "invisible formatting character"
		}
		if bad != "" {
			t.Errorf("%s: a terminal would act on a %s %U, at byte %d: %q", what, bad, r, i, s[max(0, i-40):min(len(s), i+40)])
			return
		}
		i += n
	}
}

// onTerminal runs the binary with args in a pseudo-terminal of width columns (stdin, stdout
// and stderr), and returns what it wrote there and its exit code.
func onTerminal(t *testing.T, width int, args ...string) ([]byte, int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(cleanEnv(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION=us-east-1", "TERM=xterm")
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: uint16(width)})
	if err != nil {
		t.Fatalf("start in a pseudo-terminal: %v", err)
	}
	var raw bytes.Buffer
	_, err = io.Copy(&raw, tty) // until the program exits: then reading the terminal fails with EIO
	tty.Close()
	if err != nil && !errors.Is(err, syscall.EIO) {
		t.Fatalf("read the terminal: %v", err)
	}
	code := 0
	var ee *exec.ExitError
	if err := cmd.Wait(); errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("bulklink %s: %v", strings.Join(args, " "), err)
	}
	t.Logf("bulklink %s on a terminal: exit %d\n%q", strings.Join(args, " "), code, tail(raw.String(), 3000))
	return raw.Bytes(), code
}

// screenOf is what a terminal of width columns shows after out.
func screenOf(width int, out []byte) string {
	scr := newScreen(width)
	scr.Write(out)
	return strings.Join(scr.lines(), "\n")
}

// hostileReport writes an input whose destination users are the hostile values, and
// validate's report of it, of the extension ext. The first four rows are invalid, the last
// two valid.
func hostileReport(t *testing.T, ext string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("user_pool_id,destination_user,source_provider,source_attribute,source_value\n")
	for i, v := range []string{clearScreen, hidden, override, c1CSI, backslash, `"""quoted"""`} {
		b.WriteString("us-east-1_Hostile1," + v + ",Google,Cognito_Subject,g" + itoa(i) + "\n")
	}
	in := writeFile(t, "hostile.csv", b.String())
	rep := in + ".report" + ext
	if res := bulklink(t, nil, "validate", "--input", in, "--offline", "--report", rep); res.code != exitRows {
		t.Fatalf("validate: exit %d, want %d", res.code, exitRows)
	}
	return rep
}

// `bulklink report` on a terminal: the table shows each hostile value escaped, in double
// quotes, and the columns stay aligned; a literal backslash is shown as it is, unquoted.
// In a pipe, the rows are the report's own bytes, CSV or JSONL.
func TestReportRowsAreInertOnATerminal(t *testing.T) {
	t.Parallel()
	rep := hostileReport(t, ".csv")
	const width = 160
	raw, code := onTerminal(t, width, "report", rep, "--status", "invalid,valid")
	if code != exitOK {
		t.Fatalf("exit %d, want 0", code)
	}
	checkInert(t, "the table", raw)
	scr := screenOf(width, raw)
	for _, want := range []string{`"\x1b[2Jbob"`, `"al\x1b[8mice"`, `"\u202eevil"`, `"c\u009b2Jx"`, `"\"quoted\""`} {
		if !strings.Contains(scr, want) {
			t.Errorf("the screen does not show %s:\n%s", want, scr)
		}
	}
	if !regexp.MustCompile(`(?m)^6 +valid +lit\\x1b\[2J +Google`).MatchString(scr) {
		t.Errorf("the literal backslash is not shown as it is, unquoted:\n%s", scr)
	}
	// Every row's SOURCE_PROVIDER starts where its header does.
	lines := strings.Split(scr, "\n")
	col := strings.Index(lines[0], "SOURCE_PROVIDER")
	rows := 0
	for _, l := range lines[1:] {
		if strings.Contains(l, "Google") {
			rows++
			if strings.Index(l, "Google") != col {
				t.Errorf("a row out of line with the header:\n%s\n%s", lines[0], l)
			}
		}
	}
	if rows != 6 || col < 0 {
		t.Errorf("%d rows under a header with SOURCE_PROVIDER at %d, want 6:\n%s", rows, col, scr)
	}
	if !strings.Contains(scr, `cells in double quotes`) {
		t.Errorf("nothing says what a quoted cell is:\n%s", scr)
	}

	// Asked for CSV or JSONL on a terminal, the rows are inert too; JSONL's values are
	// still exact, escaped the JSON way.
	for _, format := range []string{"csv", "jsonl"} {
		raw, code := onTerminal(t, width, "report", rep, "--status", "invalid,valid", "--output", format)
		if code != exitOK {
			t.Fatalf("--output %s: exit %d, want 0", format, code)
		}
		checkInert(t, "--output "+format, raw)
		if !strings.Contains(string(raw), `\x1b[2Jbob`) && !strings.Contains(string(raw), `\u001b[2Jbob`) {
			t.Errorf("--output %s does not show the escape:\n%s", format, raw)
		}
		if format == "jsonl" {
			var users []string
			for _, l := range strings.Split(strings.ReplaceAll(string(raw), "\r\n", "\n"), "\n") {
				var rec map[string]any
				if json.Unmarshal([]byte(l), &rec) == nil && rec["destination_user"] != nil {
					users = append(users, rec["destination_user"].(string))
				}
			}
			if want := []string{clearScreen, hidden, override, c1CSI, backslash, quoted}; strings.Join(users, "|") != strings.Join(want, "|") {
				t.Errorf("--output jsonl on a terminal decodes to %q, want %q", users, want)
			}
		}
	}
}

// Into a pipe, `bulklink report` prints the report's rows byte for byte: a CSV report's as
// CSV, a JSONL report's as JSONL.
func TestReportRowsAreExactInAPipe(t *testing.T) {
	t.Parallel()
	for _, ext := range []string{".csv", ".jsonl"} {
		rep := hostileReport(t, ext)
		res := bulklink(t, nil, "report", rep, "--status", "invalid,valid")
		want, err := os.ReadFile(rep)
		if err != nil {
			t.Fatal(err)
		}
		if res.code != exitOK || res.stdout != string(want) {
			t.Errorf("%s: exit %d; stdout is not the report's bytes:\n got %q\nwant %q", ext, res.code, res.stdout, want)
		}
		if strings.Contains(res.stderr, `\x1b`) || res.stderr != "6 of 6 rows (invalid, valid)\n" {
			t.Errorf("%s: stderr %q", ext, res.stderr)
		}
	}
}

// `bulklink report`'s summary of a report, its meta and summary tampered with: the command,
// the input, the state, the abort message and the error codes all come from files anyone
// can edit.
func TestReportSummaryIsInert(t *testing.T) {
	t.Parallel()
	rep := hostileReport(t, ".csv")
	edit := func(path string, f func(m map[string]any)) {
		t.Helper()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		if b, err = json.Marshal(m); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	edit(report.MetaPath(rep), func(m map[string]any) { m["input"] = override + ".csv" })
	edit(report.SummaryPath(rep), func(m map[string]any) {
		m["state"], m["aborted"] = "aborted", "fatal: "+hidden
	})
	b, _ := os.ReadFile(rep)
	os.WriteFile(rep, bytes.Replace(b, []byte("UnreadableRow"), []byte("Unreadable\u009b2JRow"), 1), 0o600)

	const width = 120
	raw, code := onTerminal(t, width, "report", rep)
	if code != exitOK {
		t.Fatalf("exit %d, want 0", code)
	}
	checkInert(t, "the summary", raw)
	scr := screenOf(width, raw)
	for _, want := range []string{`\u202eevil.csv`, `fatal: al\x1b[8mice`, `Unreadable\u009b2JRow`} {
		if !strings.Contains(scr, want) {
			t.Errorf("the summary does not show %s:\n%s", want, scr)
		}
	}
}

// validate's list of invalid rows quotes JSON keys as the input spells them: a carriage
// return would send the cursor back over the line, a C1 NEL to the next one.
func TestValidateListIsInert(t *testing.T) {
	t.Parallel()
	in := writeFile(t, "keys.jsonl",
		`{"user_pool_id":"us-east-1_Hostile1","\rdestination_user":5,"source_provider":"Google","source_value":"g1"}`+"\n"+
			`{"user_pool_id":"us-east-1_Hostile1","\u0085destination_user\u000b":5,"source_provider":"Google","source_value":"g2"}`+"\n")
	const width = 120
	raw, code := onTerminal(t, width, "validate", "--input", in, "--offline")
	if code != exitRows {
		t.Fatalf("exit %d, want %d", code, exitRows)
	}
	checkInert(t, "validate", raw)
	scr := screenOf(width, raw)
	for _, want := range []string{`line 1: UnreadableRow: \rdestination_user: want a string`, `line 2: UnreadableRow: \u0085destination_user\v: want a string`} {
		if !strings.Contains(scr, want) {
			t.Errorf("the screen does not show %q:\n%s", want, scr)
		}
	}
}

// undo's confirmation names the run's report and the pools before the first write: a report
// named to hide the rest of the line, or to clear the screen, is shown escaped. A report
// whose meta was tampered with is refused, and the refusal is inert too.
func TestUndoConfirmationIsInert(t *testing.T) {
	t.Parallel()
	s := linkScenario(3, 0)
	srv := startEmulator(t, emulator.Options{}, s.seed)
	in := writeFile(t, "links.csv", s.csv())
	rep := in + ".report.csv"
	if res := bulklink(t, nil, "run", "--input", in, "--report", rep, "--endpoint-url", srv.URL, "--read-rate", "0"); res.code != exitOK {
		t.Fatalf("run: exit %d", res.code)
	}
	hostile := filepath.Join(filepath.Dir(rep), "\x1b[2J\x1b[8mrun\u202e.report.csv")
	for _, p := range [][2]string{{rep, hostile}, {report.MetaPath(rep), report.MetaPath(hostile)}, {report.SummaryPath(rep), report.SummaryPath(hostile)}} {
		if err := os.Rename(p[0], p[1]); err != nil {
			t.Fatal(err)
		}
	}
	const width = 400
	undo := func(args ...string) (string, int) {
		t.Helper()
		cmd := exec.Command(binary, append([]string{"undo", "--report", hostile, "--undo-report", in + ".undo.csv", "--endpoint-url", srv.URL,
			"--read-rate", "0", "--progress", "never", "--log-format", "console"}, args...)...)
		cmd.Env = append(cleanEnv(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION=us-east-1", "TERM=xterm")
		tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: width})
		if err != nil {
			t.Fatalf("start in a pseudo-terminal: %v", err)
		}
		defer tty.Close()
		tty.Write([]byte("n\r")) // typed ahead: the terminal keeps it until undo reads its answer
		var raw bytes.Buffer
		if _, err := io.Copy(&raw, tty); err != nil && !errors.Is(err, syscall.EIO) {
			t.Fatalf("read the terminal: %v", err)
		}
		code := 0
		var ee *exec.ExitError
		if err := cmd.Wait(); errors.As(err, &ee) {
			code = ee.ExitCode()
		}
		out := bytes.ReplaceAll(raw.Bytes(), []byte("n\r\n"), nil) // the terminal's echo of the answer
		t.Logf("undo: exit %d\n%q", code, out)
		checkInert(t, "undo", out)
		return screenOf(width, out), code
	}
	scr, code := undo()
	if code != exitUsage || srv.Calls("AdminDisableProviderForUser") != 0 {
		t.Errorf("answered no: exit %d, %d unlink calls; want %d and none", code, srv.Calls("AdminDisableProviderForUser"), exitUsage)
	}
	if !regexp.MustCompile(`rows of [^\n]*\\x1b\[2J\\x1b\[8mrun\\u202e\.report\.csv[^\n]*us-east-1_`).MatchString(scr) || !strings.Contains(scr, "[y/N]") {
		t.Errorf("the question does not show the report's name escaped, then the pools:\n%s", scr)
	}

	// The meta says the run went to another region.
	var meta map[string]any
	b, _ := os.ReadFile(report.MetaPath(hostile))
	json.Unmarshal(b, &meta)
	meta["region"] = "eu-west-1\x1b[8m"
	b, _ = json.Marshal(meta)
	os.WriteFile(report.MetaPath(hostile), b, 0o600)
	scr, code = undo()
	if code != exitUsage || !strings.Contains(scr, `eu-west-1\x1b[8m`) {
		t.Errorf("a tampered meta: exit %d, want %d and the refusal to show its region escaped:\n%s", code, exitUsage, scr)
	}
}

// Errors name files, and quote what an input or a report holds.
func TestErrorsAreInert(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	named := filepath.Join(dir, "\x1b[2Jlinks\u202etxt.csv.bak")
	os.WriteFile(named, []byte("x\n"), 0o600)

	valid := writeFile(t, "links.csv", "user_pool_id,destination_user,source_provider,source_value\nus-east-1_Hostile1,bob,Google,g1\n")
	rep := valid + ".report.csv"
	if res := bulklink(t, nil, "validate", "--input", valid, "--offline", "--report", rep); res.code != exitOK {
		t.Fatalf("validate: exit %d", res.code)
	}
	b, _ := os.ReadFile(report.MetaPath(rep))
	var meta map[string]any
	json.Unmarshal(b, &meta)
	meta["command"] = "\x1b[8mvalidate"
	b, _ = json.Marshal(meta)
	os.WriteFile(report.MetaPath(rep), b, 0o600)

	tests := []struct {
		name string
		args []string
		want string // on stderr, escaped
	}{
		{"an input's name", []string{"validate", "--input", named, "--offline"}, `\x1b[2Jlinks\u202etxt.csv.bak`},
		{"a header's column names", []string{"validate", "--input", writeFile(t, "h.csv",
			"user_pool_id,destination_user,source_provider,source_value,\x1b[8mx,\x1b[8mx\n"), "--offline"}, `"\x1b[8mx"`},
		{"a report's meta", []string{"validate", "--input", valid, "--offline", "--report", rep}, `the report of a \x1b[8mvalidate`},
		{"an error code asked for", []string{"report", rep, "--error-code", clearScreen}, `\x1b[2Jbob`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := bulklink(t, nil, tt.args...)
			checkInert(t, "stderr", []byte(res.stderr))
			if !strings.Contains(res.stderr, tt.want) {
				t.Errorf("stderr does not show %s:\n%s", tt.want, res.stderr)
			}
		})
	}
}

// Console logs show what they quote escaped, in their messages and their fields; JSON logs
// escape it the JSON way, so that the line is inert and the value exact.
func TestLogsAreInert(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	in := filepath.Join(dir, "links"+override+c1CSI+"\x7f.csv")
	os.WriteFile(in, []byte("user_pool_id,destination_user,source_provider,source_value\nus-east-1_Hostile1,bob,Google,g1\n"), 0o600)

	res := bulklink(t, nil, "validate", "--input", in, "--offline", "--log-format", "console")
	checkInert(t, "console log", []byte(res.stderr))
	if !strings.Contains(res.stderr, `links\u202eevilc\u009b2Jx\u007f.csv`) {
		t.Errorf("the console log does not show the input's name escaped:\n%s", res.stderr)
	}

	res = bulklink(t, nil, "validate", "--input", in, "--offline", "--log-format", "json")
	checkInert(t, "JSON log", []byte(res.stderr))
	found := false
	for _, l := range strings.Split(strings.TrimSpace(res.stderr), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("not a JSON record: %q", l)
		}
		if rec["input"] != nil {
			found = true
			if rec["input"] != in {
				t.Errorf("the JSON log's input is %q, want %q", rec["input"], in)
			}
		}
	}
	if !found {
		t.Errorf("no JSON record names the input:\n%s", res.stderr)
	}

	// The emulator's own log quotes what clients send it.
	p := startEmulate(t, "", "--log-format", "console", "--log-level", "debug")
	_, err := p.client().AdminGetUser(context.Background(), &cip.AdminGetUserInput{
		UserPoolId: aws.String("us-east-1_" + override + c1CSI), Username: aws.String(clearScreen)})
	if err == nil {
		t.Fatalf("AdminGetUser of a pool that does not exist: no error")
	}
	logs := p.stop(t)
	checkInert(t, "the emulator's log", []byte(logs))
	if !strings.Contains(logs, `us-east-1_\u202eevilc\u009b2Jx`) {
		t.Errorf("the emulator's log does not show the pool id escaped:\n%s", logs)
	}
}

// The table measures its columns on its first 200 rows, then prints those and the rest:
// each row once.
func TestReportTablePrintsEachRowOnce(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("user_pool_id,destination_user,source_provider,source_value\n")
	for i := range 250 {
		b.WriteString("us-east-1_Hostile1,u" + itoa(i) + ",Google,g" + itoa(i) + "\n")
	}
	in := writeFile(t, "many.csv", b.String())
	rep := in + ".report.csv"
	if res := bulklink(t, nil, "validate", "--input", in, "--offline", "--report", rep); res.code != exitOK {
		t.Fatalf("validate: exit %d", res.code)
	}
	res := bulklink(t, nil, "report", rep, "--status", "valid", "--output", "table")
	lines := strings.Split(strings.TrimSpace(res.stdout), "\n")
	seen := map[string]int{}
	for _, l := range lines[1:] {
		seen[strings.Fields(l)[0]]++
	}
	if len(lines) != 251 || len(seen) != 250 {
		t.Errorf("%d lines for 250 rows and a header, %d rows seen", len(lines), len(seen))
	}
	for line, n := range seen {
		if n != 1 {
			t.Errorf("line %s printed %d times", line, n)
		}
	}
}
