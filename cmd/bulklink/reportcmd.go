package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/bulklink/bulklink/internal/inert"
	"github.com/bulklink/bulklink/report"
	"github.com/bulklink/bulklink/schema"
)

// reportOptions are the flags of `bulklink report`.
type reportOptions struct {
	statuses string
	codes    string
	output   string
	limit    int
}

// reportCommand is `bulklink report`: a report at a glance, so that nobody needs grep or
// a spreadsheet to see what a run did and which rows to look at.
func reportCommand() *command {
	var o reportOptions
	return &command{
		name:     "report",
		synopsis: "PATH [--status STATUS,...] [--error-code CODE,...] [flags]",
		short:    "show a report's summary, and the rows of a status or error code",
		long: `Show what a run, validate or undo wrote to a report: its state and exit code, its rows by
status and by error code, its calls and throttles. With --status or --error-code, show
those rows instead: a table on a terminal, or CSV or JSONL when the output is a file or a
pipe, in the report's own columns, so that what it prints is itself an input for run
(--only) or a spreadsheet. On a terminal, what a terminal would act on is shown escaped:
the table quotes such a cell as a Go string, "\x1b[2Jbob". It only reads: a report being
written can be looked at.`,
		examples: `bulklink report links.report.csv
bulklink report links.report.csv --status failed
bulklink report links.report.csv --error-code LimitExceededException --output jsonl | jq .
bulklink report links.report.csv --status failed,invalid > to-fix.csv`,
		args:    "PATH",
		argsDoc: "the report",
		flags: func(g *flagGroups) {
			fs := g.group("Rows")
			fs.StringVar(&o.statuses, "status", "", "show the rows of these statuses, `STATUS,...`, e.g. failed or failed,invalid")
			fs.StringVar(&o.codes, "error-code", "", "show the rows of these error codes, `CODE,...`, e.g. LimitExceededException")
			fs.StringVar(&o.output, "output", "auto", "print rows as `auto|table|csv|jsonl`: auto is a table on a terminal, else the report's own format")
			fs.IntVar(&o.limit, "limit", 0, "show at most `N` rows (0: all)")
		},
		groups: newFlagGroups("Rows"),
		// report only reads, and has nothing to drain: it leaves SIGINT and SIGTERM to main,
		// and the first ends it, whatever it is doing (signals.go).
		run: func(ctx context.Context, args []string, e env) int {
			if err := o.show(ctx, args[0], e); err != nil {
				errorf(e, "report", err)
				return exitUsage
			}
			return exitOK
		},
	}
}

// filter is the rows asked for.
type filter struct {
	statuses []report.Status
	codes    []string
}

func (f filter) any() bool { return len(f.statuses) > 0 || len(f.codes) > 0 }

func (f filter) matches(e *report.Entry) bool {
	return (len(f.statuses) == 0 || slices.Contains(f.statuses, e.Status())) &&
		(len(f.codes) == 0 || slices.Contains(f.codes, e.Get(schema.ColErrorCode)))
}

func (o *reportOptions) filter() (filter, error) {
	var f filter
	if o.statuses != "" {
		var known []schema.Status
		for _, i := range schema.Statuses {
			known = append(known, i.Status)
		}
		var err error
		if f.statuses, err = parseStatuses("--status", o.statuses, known); err != nil {
			return f, err
		}
	}
	f.codes = splitList(o.codes)
	switch {
	case o.limit < 0:
		return f, usagef("--limit must not be negative")
	case !slices.Contains([]string{"auto", "table", "csv", "jsonl"}, o.output):
		return f, usagef("--output must be auto, table, csv or jsonl")
	}
	return f, nil
}

// parseStatuses reads flag's comma-separated list of statuses, each one of allowed, sorted
// and without repeats. An unknown one is a usage error naming the nearest, and so is a list
// of none (",").
func parseStatuses(flag, list string, allowed []schema.Status) ([]schema.Status, error) {
	names := statusNames(allowed)
	var sts []schema.Status
	for _, s := range splitList(list) {
		if !slices.Contains(allowed, schema.Status(s)) {
			msg := fmt.Sprintf("%s: unknown status %q", flag, s)
			if n := nearest(s, names, 0); n != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", n)
			}
			return nil, usagef("%s; the statuses: %s", msg, strings.Join(names, ", "))
		}
		sts = append(sts, schema.Status(s))
	}
	if len(sts) == 0 {
		return nil, usagef("%s: no status in %q; the statuses: %s", flag, list, strings.Join(names, ", "))
	}
	slices.Sort(sts)
	return slices.Compact(sts), nil
}

// quoteAll returns vs, each as a message shows it (inert.Value).
func quoteAll(vs []string) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = inert.Value(v)
	}
	return out
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// show prints the report's summary, or the rows the filter asks for. The report and the
// files beside it are read as every command reads them: a FIFO, a link or another user's file
// in their place is refused (exit 2), never waited on.
func (o *reportOptions) show(ctx context.Context, path string, e env) error {
	f, err := o.filter()
	if err != nil {
		return err
	}
	if _, err := report.FormatOf(path); err != nil {
		return usageError{err}
	}
	if fi, err := os.Stat(path); err != nil {
		return usageError{err}
	} else if fi.IsDir() {
		return usagef("%s is a directory: want a report, .csv or .jsonl", path)
	}
	var about *reportAbout
	if !f.any() {
		if about, err = readAbout(path, e); err != nil {
			return usageError{err}
		}
	}
	counts := &reportCounts{byStatus: map[report.Status]int64{}, byCode: map[string]int64{}}
	var rows *rowPrinter
	if f.any() {
		rows = o.printer(path, e)
	}
	torn, err := report.ReadEntries(ctx, path, func(en *report.Entry) error {
		counts.add(en)
		if rows != nil && f.matches(en) {
			return rows.add(en)
		}
		return nil
	})
	if rows != nil {
		if ferr := rows.flush(); err == nil {
			err = ferr
		}
	}
	var unsafe *report.UnsafeFileError
	switch {
	case errors.As(err, &unsafe):
		return usageError{err} // it names the file
	case err != nil:
		return usagef("%s: %w", path, err)
	}
	if rows == nil {
		o.summary(e.stdout, path, about, counts, torn, e)
		return nil
	}
	what := strings.Join(append(statusNames(f.statuses), quoteAll(f.codes)...), ", ")
	shown := ""
	if rows.printed < rows.matched {
		shown = fmt.Sprintf(" (the first %d shown)", rows.printed)
	}
	fmt.Fprintf(e.stderr, "%d of %s (%s)%s\n", rows.matched, report.Plural(counts.rows, "row"), e.line(what), shown)
	if rows.quoted {
		fmt.Fprintln(e.stderr, quotedCells)
	}
	if torn {
		fmt.Fprintln(e.stderr, "the report's last record is being written, or was cut off: it is left out")
	}
	return nil
}

// reportAbout is what the files beside a report say of it: each nil when it is missing.
type reportAbout struct {
	meta *report.Meta
	sum  *report.Summary
	pid  int // the process that holds the lock of a summary that says running, 0 for none
}

// readAbout reads the meta, the summary and, for a summary that says running, the lock of
// the report at path. A missing file is left out, and so is one that cannot be read (said on
// stderr); one that is not bulklink's to read (a FIFO, a link, another user's) is refused.
func readAbout(path string, e env) (*reportAbout, error) {
	a := &reportAbout{}
	var unsafe *report.UnsafeFileError
	usable := func(what string, err error) (bool, error) {
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, fs.ErrNotExist):
			return false, nil
		case errors.As(err, &unsafe):
			return false, err
		}
		fmt.Fprintf(e.stderr, "bulklink report: its %s cannot be read, and is left out: %s\n", what, e.line(err.Error()))
		return false, nil
	}
	meta, err := report.ReadMeta(path)
	if ok, err := usable("meta", err); err != nil {
		return nil, err
	} else if ok {
		a.meta = meta
	}
	sum, err := report.ReadSummary(path)
	if ok, err := usable("summary", err); err != nil {
		return nil, err
	} else if ok {
		a.sum = sum
	}
	if a.sum != nil && a.sum.State == report.StateRunning {
		pid, err := report.LockHolder(path)
		if _, err := usable("lock", err); err != nil {
			return nil, err
		}
		a.pid = pid
	}
	return a, nil
}

// reportCounts are a report's records, counted.
type reportCounts struct {
	rows     int64
	byStatus map[report.Status]int64
	byCode   map[string]int64
}

func (c *reportCounts) add(e *report.Entry) {
	c.rows++
	c.byStatus[e.Status()]++
	if code := e.Get(schema.ColErrorCode); code != "" {
		c.byCode[code]++
	}
}

// summary prints what the report holds, and what its command's summary says of the run.
// The report, its meta and its summary are files anyone can edit: what they hold is quoted
// when a terminal would act on it (inert.Value), and the rest is printed inert.
func (o *reportOptions) summary(w io.Writer, path string, about *reportAbout, c *reportCounts, torn bool, e env) {
	var b strings.Builder
	meta, sum := about.meta, about.sum
	cmd := "a bulklink report"
	if meta != nil {
		cmd = "the report of bulklink " + inert.Value(string(cmdOf(meta)))
		if meta.Input != "" {
			cmd += " of " + inert.Value(meta.Input)
		}
	}
	byCode := make(map[string]int64, len(c.byCode))
	for code, n := range c.byCode {
		byCode[inert.Value(code)] = n // Value is one to one: no two codes merge
	}
	fmt.Fprintf(&b, "%s: %s\n", inert.Value(path), cmd)
	if sum != nil {
		fmt.Fprintf(&b, "  %s\n", runState(sum, about.pid))
	}
	fmt.Fprintf(&b, "  %s\n", report.Plural(c.rows, "row"))
	report.WriteCounts(&b, "    ", c.byStatus, byCode, commas)
	if sum != nil && sum.Calls > 0 {
		fmt.Fprintf(&b, "  last run: calls %s, retries %s, throttled %s, verified %s\n",
			commas(sum.Calls), commas(sum.Retries), commas(sum.Throttles), commas(sum.Checks))
	}
	if torn {
		fmt.Fprintf(&b, "  the last record is being written, or was cut off: it is not counted\n")
	}
	report.WriteSeeRows(&b, path, c.byStatus)
	fmt.Fprint(w, e.text(b.String()))
}

func cmdOf(m *report.Meta) schema.Command {
	if m.Command == "" {
		return schema.Run
	}
	return m.Command
}

// runState says how the report's last command ended, or that it is running; a summary that
// says running while no process holds the report's lock (pid 0) is a run that was killed.
func runState(s *report.Summary, pid int) string {
	when := s.StartedAt.Local().Format("2006-01-02 15:04:05")
	switch s.State {
	case report.StateRunning:
		if pid > 0 {
			return fmt.Sprintf("running since %s (pid %d)", when, pid)
		}
		return fmt.Sprintf("started %s and never ended (killed, or the machine stopped): run the same command to resume", when)
	case "":
		return fmt.Sprintf("ran %s, exit %d", when, s.ExitCode)
	}
	line := fmt.Sprintf("%s, exit %d: started %s, took %s", s.State, s.ExitCode, when, report.HumanDuration(s.Seconds))
	if s.Aborted != "" {
		line += "; " + s.Aborted
	}
	return line
}

// rowPrinter prints the rows asked for: a table for a person, CSV or JSONL for a program.
// The table is inert: a cell that a terminal would act on is shown quoted and escaped
// (inert.Value), and so are CSV and JSONL when they are printed on a terminal; into a pipe
// or a file they are the report's own bytes.
type rowPrinter struct {
	out      *bufio.Writer
	e        env
	format   string // table, csv or jsonl
	terminal bool   // stdout is a terminal
	limit    int
	matched  int64 // rows that match
	printed  int64 // of those, the rows printed: --limit of them

	csv     *csv.Writer
	record  bytes.Buffer // on a terminal, the CSV record being written
	header  bool
	pending [][]string // table rows kept to measure the columns, as shown
	widths  []int
	termW   int
	quoted  bool // a cell of the table is quoted
}

// quotedCells says, below a table, what a quoted cell is.
const quotedCells = `cells in double quotes are Go strings, escaped: the report holds characters there that a terminal would act on (\x1b is ESC, \u202e a right-to-left override), or a leading quote or space`

func (o *reportOptions) printer(path string, e env) *rowPrinter {
	p := &rowPrinter{out: bufio.NewWriter(e.stdout), e: e, limit: o.limit, format: o.output, terminal: isTerminal(e.stdout)}
	if p.format == "auto" {
		switch f, _ := report.FormatOf(path); {
		case p.terminal:
			p.format = "table"
		case f == report.JSONL:
			p.format = "jsonl"
		default:
			p.format = "csv"
		}
	}
	p.csv = csv.NewWriter(p.out)
	if p.terminal {
		p.csv = csv.NewWriter(&p.record)
	}
	p.termW = terminalWidth(e.stdout)
	if p.termW == 0 {
		p.termW = 120
	}
	return p
}

func (p *rowPrinter) add(en *report.Entry) error {
	p.matched++
	if p.limit > 0 && p.printed >= int64(p.limit) {
		return nil
	}
	p.printed++
	switch p.format {
	case "jsonl":
		p.out.Write(p.jsonl(en))
		p.out.WriteByte('\n')
	case "csv":
		if !p.header {
			p.header = true
			p.csvRecord(report.CSVHeader(en))
		}
		p.csvRecord(p.redactCSV(en))
	default:
		cells := p.cells(en)
		if p.widths == nil {
			p.pending = append(p.pending, cells)
			if len(p.pending) < 200 {
				return nil
			}
			p.measure()
			return nil
		}
		p.writeCells(cells)
	}
	return nil
}

// csvRecord prints a CSV record: as it is into a pipe or a file, inert on a terminal.
func (p *rowPrinter) csvRecord(rec []string) {
	p.csv.Write(rec)
	if p.terminal {
		p.csv.Flush()
		p.out.WriteString(inert.Text(p.record.String()))
		p.record.Reset()
	}
}

// jsonl is a JSONL record to print: the report's own, or on a terminal, the same values
// with what a terminal would act on written as JSON escapes (inert.JSON), compacted so that
// no carriage return is left between its values.
func (p *rowPrinter) jsonl(en *report.Entry) []byte {
	b := p.redactJSON(en)
	if !p.terminal {
		return b
	}
	var c bytes.Buffer
	if json.Compact(&c, b) == nil {
		b = c.Bytes()
	}
	return inert.JSON(b)
}

func (p *rowPrinter) flush() error {
	if p.format == "table" {
		if p.widths == nil {
			p.measure()
		}
	}
	p.csv.Flush()
	if err := p.csv.Error(); err != nil {
		return err
	}
	return p.out.Flush()
}

// The table's columns; the last, the message, takes what is left of the width.
var tableColumns = []struct {
	name string
	max  int
}{
	{schema.ColLine, 9}, {schema.ColStatus, 14}, {schema.ColErrorCode, 30}, {schema.ColDestinationUser, 24},
	{schema.ColSourceProvider, 16}, {schema.ColSourceValue, 28}, {schema.ColErrorMessage, 0},
}

// measure sizes the table's columns to the rows kept, prints its header and those rows.
func (p *rowPrinter) measure() {
	p.widths = make([]int, len(tableColumns))
	for i, c := range tableColumns {
		p.widths[i] = len(c.name)
		for _, cells := range p.pending {
			p.widths[i] = max(p.widths[i], utf8.RuneCountInString(cells[i]))
		}
		if c.max > 0 {
			p.widths[i] = min(p.widths[i], c.max)
		}
	}
	used := 0
	for _, w := range p.widths[:len(p.widths)-1] {
		used += w + 2
	}
	p.widths[len(p.widths)-1] = max(20, p.termW-used-1)
	var head []string
	for _, c := range tableColumns {
		head = append(head, strings.ToUpper(c.name))
	}
	p.writeCells(head)
	for _, cells := range p.pending {
		p.writeCells(cells)
	}
	p.pending = nil
}

// cells are the table's cells of en as they are shown: scrubbed of secrets, and each value
// as it is, or quoted and escaped when a terminal would act on it. Every rune of a cell is
// printable, so that its width is its count of runes (but for wide characters).
func (p *rowPrinter) cells(en *report.Entry) []string {
	cells := make([]string, len(tableColumns))
	for i, c := range tableColumns {
		v := p.e.red.String(en.Get(c.name))
		cells[i] = inert.Value(v)
		if cells[i] != v {
			p.quoted = true
		}
	}
	return cells
}

func (p *rowPrinter) writeCells(cells []string) {
	var b strings.Builder
	for i, cell := range cells {
		w := p.widths[i]
		if n := utf8.RuneCountInString(cell); n > w {
			cell = string([]rune(cell)[:max(w-1, 0)]) + "…"
		}
		if i == len(cells)-1 {
			b.WriteString(cell)
			break
		}
		b.WriteString(cell)
		b.WriteString(strings.Repeat(" ", w-utf8.RuneCountInString(cell)+2))
	}
	p.out.WriteString(strings.TrimRight(b.String(), " "))
	p.out.WriteByte('\n')
}

// redactCSV and redactJSON scrub the error messages of what is printed for a program. The
// other cells are the input's own values, printed as the report holds them, so that the
// output reads back as an input.
func (p *rowPrinter) redactCSV(en *report.Entry) []string {
	row := slices.Clone(en.CSVRow())
	for i, c := range report.CSVHeader(en) {
		if c == schema.ColErrorMessage && i < len(row) {
			row[i] = p.e.red.String(row[i])
		}
	}
	return row
}

func (p *rowPrinter) redactJSON(en *report.Entry) []byte {
	msg := en.Get(schema.ColErrorMessage)
	if red := p.e.red.String(msg); red != msg {
		c := copyEntry(en)
		for i, col := range c.Columns {
			if col == schema.ColErrorMessage {
				c.Values[i] = red
			}
		}
		c.Raw = nil
		return c.AppendJSON(nil)
	}
	return en.AppendJSON(nil)
}

func copyEntry(en *report.Entry) *report.Entry {
	return &report.Entry{Columns: slices.Clone(en.Columns), Values: slices.Clone(en.Values), JSON: slices.Clone(en.JSON),
		Raw: slices.Clone(en.Raw)}
}
