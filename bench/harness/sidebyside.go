//go:build linux

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"time"
)

// contender is one way to link the rows of a CSV input against an endpoint.
type contender struct {
	name string
	how  string // the command, for the table
	rows int
	// underQuota is the --rate of a bulklink contender at or under the quota, whose runs
	// must not be throttled; empty otherwise.
	underQuota string
	// link links the rows of in against ep; failed is the tool's own count of failed rows,
	// -1 when it keeps none.
	link func(ctx context.Context, ep *endpoint, in string, rows int) (c child, failed int64, err error)
}

// sideBySide: the AWS CLI, a boto3 thread pool and bulklink against the same emulator
// settings, quota 25 and 30 ms latency.
func sideBySide(ctx context.Context, h *harness) (*section, error) {
	s := &section{title: "Side by side"}
	cliRows, rows := h.scale(200, 20), h.scale(500, 100)
	s.printf("Command: `go run ./bench/harness -only sidebyside`. Each contender links its rows against a freshly seeded " +
		"emulator with Cognito's default quotas (25 writes/s) and 30 ms latency, each tool with its default retry " +
		"settings. rows/s = rows / wall time, process start to exit; client CPU = user + system time of the tool's " +
		"processes (the emulator's is not in it), on these two cores; throttled share = TooManyRequestsException / all link " +
		"calls, and rows not linked = rows whose link is missing at the end, both counted by the emulator.\n\n")
	var contenders []contender
	var skipped []string

	if aws, err := exec.LookPath("aws"); err != nil {
		skipped = append(skipped, "the AWS CLI: no `aws` on PATH")
	} else {
		version := commandOutput(aws, "--version")
		for _, p := range []int{1, 8} {
			how := "`xargs -P 8 -L 1 aws cognito-idp admin-link-provider-for-user --endpoint-url URL` over one line of arguments per row"
			name := "AWS CLI, 8 in parallel (`xargs -P 8`)"
			if p == 1 {
				how = "one `aws cognito-idp admin-link-provider-for-user --endpoint-url URL ...` per row, one after another (`xargs -P 1 -L 1`)"
				name = "AWS CLI, sequential"
			}
			contenders = append(contenders, contender{name: name, how: how + "; " + version, rows: cliRows, link: h.awsCLI(aws, p)})
		}
	}

	if py, err := findBoto3(); err != nil {
		skipped = append(skipped, "boto3: "+err.Error())
	} else {
		for _, threads := range []int{8, 32} {
			contenders = append(contenders, contender{
				name: fmt.Sprintf("boto3, %d threads", threads),
				how:  fmt.Sprintf("`bench/boto3_link.py --threads %d`: ThreadPoolExecutor, one client, default botocore config; %s", threads, py.versions),
				rows: rows,
				link: h.boto3(py.path, threads),
			})
		}
	}

	for _, c := range []struct {
		name, underQuota string
		flags            []string
	}{
		{"bulklink, defaults (--rate 10)", "--rate 10 (default)", nil},
		{"bulklink --rate 25", "--rate 25", []string{"--rate", "25"}},
		{"bulklink --rate 100", "", []string{"--rate", "100"}},
	} {
		contenders = append(contenders, contender{
			name:       c.name,
			how:        "`bulklink run --input links.csv --report r.csv --endpoint-url URL " + strings.Join(append(c.flags, "--progress never --log-format json"), " ") + "`",
			rows:       rows,
			underQuota: c.underQuota,
			link:       h.bulklinkContender(c.flags),
		})
	}

	var table [][]string
	var rates []float64 // rows/s of each contender, for the ratio column
	underQuota := true
	for _, c := range contenders {
		in, err := h.ws.input(c.rows)
		if err != nil {
			return nil, err
		}
		ep, err := startEndpoint(quotaOptions(), 0, c.rows)
		if err != nil {
			return nil, err
		}
		ch, failed, err := c.link(ctx, ep, in, c.rows)
		waitIdle(ctx, ep)
		ep.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.name, err)
		}
		calls, throttles, share := ep.throttledShare()
		missing := ep.notLinked(0, c.rows)
		own := "–"
		if failed >= 0 {
			own = strconv.FormatInt(failed, 10)
		}
		if c.underQuota != "" {
			underQuota = underQuota && throttles == 0
			s.check("no throttling at or under the quota of 25/s: "+c.underQuota, strconv.FormatInt(throttles, 10)+" throttled", throttles == 0)
		}
		rates = append(rates, float64(c.rows)/ch.wall.Seconds())
		table = append(table, []string{
			c.name, strconv.Itoa(c.rows), secs(ch.wall), f1(float64(c.rows) / ch.wall.Seconds()), f1(ch.cpu.Seconds() * 1000 / float64(c.rows)),
			strconv.FormatInt(calls, 10), strconv.FormatInt(throttles, 10), pct(share), own, strconv.Itoa(missing),
		})
	}
	// Each contender's rows/s as a share of bulklink's at the quota (--rate 25).
	ref := 0.0
	for i, c := range contenders {
		if c.name == "bulklink --rate 25" {
			ref = rates[i]
		}
	}
	for i := range table {
		cell := "–"
		if ref > 0 {
			cell = fmt.Sprintf("%.2f×", rates[i]/ref)
		}
		table[i] = append(table[i][:4:4], append([]string{cell}, table[i][4:]...)...)
	}
	s.table([]string{"contender", "rows", "wall", "rows/s", "rows/s vs bulklink --rate 25", "client CPU, ms/row", "link calls", "throttled", "throttled share", "rows failed (tool's count)", "rows not linked (emulator)"}, table)
	s.printf("How each ran:\n\n")
	for _, c := range contenders {
		s.printf("- %s: %s\n", c.name, c.how)
	}
	for _, why := range skipped {
		s.printf("- skipped %s\n", why)
	}
	s.printf("\n")
	if underQuota {
		s.verdict("bulklink at or under the quota is never throttled.")
	} else {
		s.verdict("bulklink was throttled with --rate at or under the quota.")
	}
	return s, nil
}

// python is a Python interpreter that has boto3.
type python struct {
	path     string // the interpreter itself, not a shim
	versions string // "boto3 X, botocore Y"
}

// findBoto3 finds a Python with boto3: the python3 on PATH first, as a user would run the
// script, then Debian's /usr/bin/python3, where scripts/bench.sh installs python3-boto3
// when no Python has it.
func findBoto3() (python, error) {
	const probe = "import sys, boto3, botocore; print(sys.executable, boto3.__version__, botocore.__version__)"
	for _, name := range []string{"python3", "/usr/bin/python3"} {
		out, err := exec.Command(name, "-c", probe).Output()
		if v := strings.Fields(string(out)); err == nil && len(v) == 3 {
			return python{path: v[0], versions: "boto3 " + v[1] + ", botocore " + v[2]}, nil
		}
	}
	return python{}, fmt.Errorf("neither python3 on PATH nor /usr/bin/python3 imports boto3 (scripts/bench.sh installs Debian's python3-boto3)")
}

// awsCLI runs the AWS CLI once per row, parallel at a time.
func (h *harness) awsCLI(aws string, parallel int) func(context.Context, *endpoint, string, int) (child, int64, error) {
	return func(ctx context.Context, ep *endpoint, in string, rows int) (child, int64, error) {
		argsFile := h.ws.path("cli-args.txt")
		if err := writeCLIArgs(argsFile, rows); err != nil {
			return child{}, 0, err
		}
		c, err := h.tools.start(ctx, time.Duration(rows)*3*time.Second+time.Minute, fmt.Sprintf("aws-cli-P%d", parallel),
			"xargs", "-a", argsFile, "-P", strconv.Itoa(parallel), "-L", "1",
			aws, "cognito-idp", "admin-link-provider-for-user", "--endpoint-url", ep.URL)
		if err != nil {
			return c, 0, err
		}
		failed, err := countLines(c.log, "An error occurred (")
		return c, failed, err
	}
}

// writeCLIArgs writes, for each row, the AWS CLI arguments that link it, on one line.
func writeCLIArgs(path string, rows int) error {
	var b strings.Builder
	for i := range rows {
		fmt.Fprintf(&b, "--user-pool-id %s --destination-user ProviderName=Cognito,ProviderAttributeValue=%s "+
			"--source-user ProviderName=Google,ProviderAttributeName=Cognito_Subject,ProviderAttributeValue=%s\n",
			benchPool, username(i), sourceValue(i))
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}

// countLines counts the lines of the file at path that contain sub.
func countLines(path, sub string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var n int64
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), sub) {
			n++
		}
	}
	return n, sc.Err()
}

// boto3 runs bench/boto3_link.py with a pool of threads, and its extra flags.
func (h *harness) boto3(python string, threads int, extra ...string) func(context.Context, *endpoint, string, int) (child, int64, error) {
	return func(ctx context.Context, ep *endpoint, in string, rows int) (child, int64, error) {
		result := h.ws.path("boto3.json")
		args := append([]string{h.boto3Script, "--input", in, "--endpoint-url", ep.URL, "--threads", strconv.Itoa(threads), "--result", result}, extra...)
		c, err := h.tools.start(ctx, time.Duration(rows)*time.Second+time.Minute, fmt.Sprintf("boto3-%d", threads), python, args...)
		if err != nil {
			return c, 0, err
		}
		if c.exit != 0 {
			return c, 0, fmt.Errorf("%s exited %d (log: %s)", h.boto3Script, c.exit, c.log)
		}
		var res struct {
			Failed int64            `json:"failed"`
			Errors map[string]int64 `json:"errors"`
		}
		b, err := os.ReadFile(result)
		if err == nil {
			err = json.Unmarshal(b, &res)
		}
		if len(res.Errors) > 0 {
			codes := make([]string, 0, len(res.Errors))
			for code, n := range res.Errors {
				codes = append(codes, fmt.Sprintf("%s %d", code, n))
			}
			sort.Strings(codes)
			h.logf("boto3, %d threads: errors %s", threads, strings.Join(codes, ", "))
		}
		return c, res.Failed, err
	}
}

// bulklinkContender runs bulklink with its defaults and flags.
func (h *harness) bulklinkContender(flags []string) func(context.Context, *endpoint, string, int) (child, int64, error) {
	return func(ctx context.Context, ep *endpoint, in string, rows int) (child, int64, error) {
		rep := h.ws.path("side.csv")
		r, err := h.tools.bulklinkReport(ctx, time.Duration(rows)*time.Second/5+2*time.Minute, "bulklink-side", rep, runArgs(ep, in, rep, flags...)...)
		if err != nil {
			return r.child, 0, err
		}
		return r.child, r.failed(), nil
	}
}
