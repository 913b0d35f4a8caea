package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"go.uber.org/zap"

	"github.com/bulklink/bulklink/emulator"
)

// emulateOptions are the flags of `bulklink emulate`.
type emulateOptions struct {
	listen   string
	addrFile string
	seed     string
	opt      emulator.Options
	out      outputOptions
}

// register defines the flags, in groups that its help prints under their titles.
func (o *emulateOptions) register(g *flagGroups) {
	serve := g.group("Serving")
	serve.StringVar(&o.listen, "listen", "127.0.0.1:9229", "serve on `ADDRESS` (port 0 picks a free one)")
	serve.StringVar(&o.addrFile, "addr-file", "", "once listening, write the endpoint URL to `FILE` (for scripts)")
	// Every output option keeps its default; of their flags, those about logs apply here.
	output := newFlagGroups()
	o.out.register(output)
	serve.Var(output.lookup("log-level").Value, "log-level", "log at `debug|info|warn|error` and above: debug logs a line per call")
	serve.Var(output.lookup("log-format").Value, "log-format", output.lookup("log-format").Usage)

	state := g.group("State")
	state.StringVar(&o.seed, "seed", "", "start with the user pools, identity providers and users of the JSON `FILE` (or build them with create-user-pool, create-identity-provider, admin-create-user)")
	state.StringVar(&o.opt.Region, "region", o.opt.Region, "make the pools of CreateUserPool in `REGION`, which starts their IDs")

	quotas := g.group("Quotas, in calls per second across the emulator (0: unlimited); TooManyRequestsException beyond")
	quotas.Float64Var(&o.opt.WriteQuota, "quota", o.opt.WriteQuota, "admit `N` UserUpdate calls: link, unlink, delete users, sign them out, add them to groups")
	quotas.Float64Var(&o.opt.ReadQuota, "read-quota", o.opt.ReadQuota, "admit `N` AdminGetUser calls (UserRead)")
	quotas.Float64Var(&o.opt.ListQuota, "list-quota", o.opt.ListQuota, "admit `N` ListUsers calls (UserList)")
	quotas.Float64Var(&o.opt.ResourceReadQuota, "resource-read-quota", o.opt.ResourceReadQuota, "admit `N` AdminListGroupsForUser calls (UserResourceRead)")
	quotas.Float64Var(&o.opt.CreateQuota, "create-quota", o.opt.CreateQuota, "admit `N` AdminCreateUser calls (UserCreation)")
	quotas.Float64Var(&o.opt.AdminQuota, "admin-quota", o.opt.AdminQuota, "admit `N` calls that create, describe or list pools and identity providers")
	quotas.Float64Var(&o.opt.PerUserWriteQuota, "user-quota", o.opt.PerUserWriteQuota, "admit `N` write calls to any one user")

	faults := g.group("Faults, on write calls only (each P a probability in [0,1]), and latency")
	faults.Float64Var(&o.opt.Fault5xx, "fault-5xx", 0, "with probability `P`, answer InternalErrorException (500), the call not applied")
	faults.Float64Var(&o.opt.Fault5xxAfter, "fault-5xx-after", 0, "with probability `P`, apply the call, then answer InternalErrorException (500)")
	faults.Float64Var(&o.opt.FaultDrop, "fault-drop", 0, "with probability `P`, close the connection, the call not applied")
	faults.Float64Var(&o.opt.FaultLost, "fault-lost", 0, "with probability `P`, apply the call, then close its connection unanswered")
	faults.Int64Var(&o.opt.Seed, "fault-seed", 0, "roll the faulty calls and application traffic's times from `SEED`, for reproducible rehearsals (0: random)")
	faults.DurationVar(&o.opt.Latency, "latency", 0, "add `DURATION` to every call, reads included, e.g. 20ms")

	traffic := g.group("Application traffic: write calls the emulator makes itself, from the same write quota")
	traffic.Float64Var(&o.opt.BackgroundRate, "background-rate", 0, "make `N` calls per second, at random times (0: none); counted apart, printed on exit "+
		"and at GET "+emulator.BackgroundPath)
	traffic.Func("background-schedule", "changes of the rate over time, from the start: comma-separated `AT:RATE` "+
		"(RATE from AT on) or AT:RATE/FOR (a burst of RATE for FOR, then the rate before);\n"+
		"AT and FOR are durations, e.g. 0s:5,30s:15,2m:60/10s (--background-rate is the rate\nbefore the first change)", o.setSchedule)

	answers := g.group("Answers")
	answers.BoolVar(&o.opt.LegacyRepeatAnswer, "legacy-repeat-answer", false,
		`answer a repeated link as Cognito did before mid-2024, with "Invalid SourceUser:`+"\n"+
			`Cognito users..." instead of "SourceUser is already linked to DestinationUser"`)
	answers.DurationVar(&o.opt.ClockSkew, "clock-skew", 0, "set the emulator's clock `DURATION` ahead of the machine's (negative: behind), e.g. -90s: "+
		"its recorded dates and the Date header of its answers")
	answers.Func("auth-error", "answer every call signed with access key KEY with error CODE, given as `KEY=CODE`; "+
		"CODE is UnrecognizedClientException, ExpiredTokenException, AccessDeniedException\nor NotAuthorizedException (repeatable)", o.addAuthError)
}

// setSchedule reads --background-schedule.
func (o *emulateOptions) setSchedule(s string) error {
	sched, err := emulator.ParseSchedule(s)
	if err != nil {
		return err
	}
	o.opt.BackgroundSchedule = sched
	return nil
}

// addAuthError reads one --auth-error; validate checks the code.
func (o *emulateOptions) addAuthError(s string) error {
	key, code, ok := strings.Cut(s, "=")
	if !ok || key == "" || code == "" {
		return errors.New("want ACCESS_KEY_ID=CODE, e.g. AKIADENIED=AccessDeniedException")
	}
	if o.opt.AuthErrors == nil {
		o.opt.AuthErrors = make(map[string]string)
	}
	o.opt.AuthErrors[key] = code
	return nil
}

// runEmulate is `bulklink emulate`.
func runEmulate() *command {
	o := emulateOptions{opt: emulator.Defaults()}
	return &command{
		name:     "emulate",
		synopsis: "[--listen 127.0.0.1:9229] [--seed PATH] [fault flags]",
		short:    "serve a local Cognito endpoint, for rehearsals",
		long: `Serve a local Amazon Cognito user-pools endpoint, in memory, until Ctrl-C: the operations
bulklink uses, answered as Cognito answers them, under Cognito's quotas, with faults on
request. The AWS CLI, the SDKs and bulklink reach it with --endpoint-url. Any credentials
are accepted, and so are unsigned calls (aws --no-sign-request). For --rate auto it also
answers Service Quotas and CloudWatch (AWS/Usage) from its own quotas and call counts. An
identity signs in as it would through its provider with a POST to /_emulator/sign-in
(docs/emulator.md), which lands in the user it is linked to or makes its profile.`,
		examples: `bulklink emulate --seed seed.json --fault-5xx 0.05
bulklink run --endpoint-url http://127.0.0.1:9229 --region us-east-1 --input links.csv --report report.csv
aws cognito-idp admin-get-user --endpoint-url http://127.0.0.1:9229 --region us-east-1 \
    --no-sign-request --user-pool-id us-east-1_Example1 --username alice`,
		groups: newFlagGroups("Serving"),
		flags:  o.register,
		run: func(ctx context.Context, _ []string, e env) int {
			if err := o.validate(); err != nil {
				errorf(e, "emulate", err)
				return exitUsage
			}
			log := o.out.logger(e, e.red)
			defer log.Sync()
			stop, _, release := withSignals(ctx, e.signals)
			defer release()
			if err := emulate(stop, &o, e, log); err != nil {
				errorf(e, "emulate", err)
				var ue usageError
				if errors.As(err, &ue) {
					return exitUsage
				}
				return exitFatal
			}
			return exitOK
		},
	}
}

func (o *emulateOptions) validate() error {
	if err := o.opt.Validate(); err != nil {
		return usageError{err}
	}
	return o.out.validate()
}

// emulate serves until ctx ends (Ctrl-C).
func emulate(ctx context.Context, o *emulateOptions, e env, log *zap.Logger) error {
	o.opt.Logger = log
	emu := emulator.New(o.opt)
	var seed emulator.Seed
	if o.seed != "" {
		var err error
		if seed, err = emulator.LoadSeedFile(o.seed); err != nil {
			return usageError{err}
		}
		if err := emu.Load(seed); err != nil {
			return usagef("%s: %w", o.seed, err)
		}
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return usageError{err} // "listen tcp 127.0.0.1:9229: bind: address already in use"
	}
	url := "http://" + ln.Addr().String()
	if o.addrFile != "" {
		if err := os.WriteFile(o.addrFile, []byte(url+"\n"), 0o600); err != nil {
			ln.Close()
			return usagef("write --addr-file: %w", err)
		}
	}
	// The first line is for scripts too: it ends with the URL.
	fmt.Fprintf(e.stdout, "bulklink emulate: serving Cognito on %s\n", url)
	fmt.Fprintf(e.stdout, "  try: aws cognito-idp %s --endpoint-url %s --no-sign-request\n", tryCommand(seed, o.opt.Region), url)
	if o.opt.BackgroundRate > 0 || len(o.opt.BackgroundSchedule) > 0 {
		fmt.Fprintf(e.stdout, "  application traffic: %v calls/s%s; counts at %s%s\n",
			o.opt.BackgroundRate, scheduleNote(o.opt.BackgroundSchedule), url, emulator.BackgroundPath)
	}
	log.Info("emulator started", zap.String("url", url), zap.Int("user_pools", len(seed.UserPools)),
		zap.Float64("quota", o.opt.WriteQuota), zap.Float64("read_quota", o.opt.ReadQuota),
		zap.Duration("latency", o.opt.Latency), zap.Float64("fault_5xx", o.opt.Fault5xx), zap.Float64("fault_5xx_after", o.opt.Fault5xxAfter),
		zap.Float64("fault_drop", o.opt.FaultDrop), zap.Float64("fault_lost", o.opt.FaultLost),
		zap.Float64("background_rate", o.opt.BackgroundRate), zap.Stringer("background_schedule", o.opt.BackgroundSchedule),
		zap.Duration("clock_skew", o.opt.ClockSkew))
	err = emu.Serve(ctx, ln)
	bg := emu.Background()
	log.Info("emulator stopped", zap.Int64("background_calls", bg.Calls), zap.Int64("background_throttled", bg.Throttled))
	if o.opt.BackgroundRate > 0 || len(o.opt.BackgroundSchedule) > 0 {
		fmt.Fprintf(e.stdout, "bulklink emulate: background traffic: %d calls, %d throttled (%.1f%%)\n", bg.Calls, bg.Throttled, percent(bg.Throttled, bg.Calls))
	}
	return err
}

// percent returns part as a percentage of whole, 0 for nothing.
func percent(part, whole int64) float64 {
	if whole == 0 {
		return 0
	}
	return 100 * float64(part) / float64(whole)
}

// scheduleNote describes a background schedule in the startup lines.
func scheduleNote(s emulator.Schedule) string {
	if len(s) == 0 {
		return ""
	}
	return ", then " + s.String()
}

// tryCommand suggests a first AWS CLI call: list the users of the first seeded pool, or make
// a pool when there is none.
func tryCommand(seed emulator.Seed, region string) string {
	if len(seed.UserPools) == 0 {
		return "create-user-pool --pool-name rehearsal --region " + region
	}
	id := seed.UserPools[0].ID
	return fmt.Sprintf("list-users --user-pool-id %s --region %s", id, id[:strings.LastIndex(id, "_")])
}
