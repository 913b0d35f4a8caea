package main

import (
	"bufio"
	"errors"
	"io"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/bulklink/bulklink/emulator"
)

// On a terminal, undo says what it will unlink and asks before the first write: "n" unlinks
// nothing (exit 2), "y" goes on; the first Ctrl-C at the question ends it (130).
func TestUndoAsksOnATerminal(t *testing.T) {
	t.Parallel()
	s := linkScenario(6, 0)
	srv := startEmulator(t, emulator.Options{}, s.seed)
	in := writeFile(t, "links.csv", s.csv())
	rep := in + ".report.csv"
	if res := bulklink(t, nil, "run", "--input", in, "--report", rep, "--endpoint-url", srv.URL, "--read-rate", "0"); res.code != exitOK {
		t.Fatalf("run: exit %d", res.code)
	}
	undo := func(answer string) (int, string) {
		t.Helper()
		cmd := exec.Command(binary, "undo", "--report", rep, "--undo-report", in+".undo.csv", "--endpoint-url", srv.URL,
			"--read-rate", "0", "--progress", "never", "--log-format", "console")
		cmd.Env = append(cleanEnv(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION=us-east-1", "TERM=xterm")
		tty, err := pty.Start(cmd)
		if err != nil {
			t.Fatalf("start in a pseudo-terminal: %v", err)
		}
		defer tty.Close()
		var screen strings.Builder // written by the reader below until done closes
		r := bufio.NewReader(io.TeeReader(tty, &screen))
		asked := make(chan bool, 1)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				line, err := r.ReadString(']')
				if strings.Contains(line, "[y/N]") {
					asked <- true
					io.Copy(io.Discard, r)
					return
				}
				if err != nil {
					asked <- false
					return
				}
			}
		}()
		select {
		case ok := <-asked:
			if !ok {
				cmd.Wait()
				<-done
				t.Fatalf("undo did not ask:\n%s", screen.String())
			}
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			cmd.Wait()
			tty.Close()
			<-done
			t.Fatalf("no question after 30s:\n%s", screen.String())
		}
		if srv.Calls("AdminDisableProviderForUser") != 0 {
			t.Errorf("unlink calls before the answer")
		}
		tty.Write([]byte(answer))
		err = cmd.Wait()
		<-done // the program's end ends the terminal's output
		var ee *exec.ExitError
		code := 0
		if errors.As(err, &ee) {
			code = ee.Sys().(syscall.WaitStatus).ExitStatus()
		}
		return code, screen.String()
	}
	code, out := undo("\x03") // Ctrl-C at the question
	if code != 130 || srv.Calls("AdminDisableProviderForUser") != 0 {
		t.Errorf("Ctrl-C at the question: exit %d, %d unlink calls; want 130 and none\n%s", code, srv.Calls("AdminDisableProviderForUser"), out)
	}
	code, out = undo("n\r")
	if code != exitUsage || srv.Calls("AdminDisableProviderForUser") != 0 {
		t.Errorf("answered no: exit %d, %d unlink calls; want %d and none\n%s", code, srv.Calls("AdminDisableProviderForUser"), exitUsage, out)
	}
	if !strings.Contains(out, "6 rows of") || !strings.Contains(out, "us-east-1_") {
		t.Errorf("the question does not say how many rows from which pools:\n%s", out)
	}
	code, out = undo("y\r")
	if code != exitOK || srv.Calls("AdminDisableProviderForUser") != 6 {
		t.Errorf("answered yes: exit %d, %d unlink calls; want 0 and 6\n%s", code, srv.Calls("AdminDisableProviderForUser"), out)
	}
}
