package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"

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

func runEmulate(ctx context.Context, args []string, e env) int {
	o := emulateOptions{opt: emulator.Defaults()}
	fs := newFlagSet("emulate", e)
	fs.StringVar(&o.listen, "listen", "127.0.0.1:9229", "address to serve on (port 0 picks a free one)")
	fs.StringVar(&o.addrFile, "addr-file", "", "once listening, write the endpoint URL to this file (for scripts)")
	fs.StringVar(&o.seed, "seed", "", "JSON file of pools, identity providers and users to start with")
	fs.StringVar(&o.opt.Region, "region", o.opt.Region, "region in the ids of pools made with CreateUserPool")
	fs.Float64Var(&o.opt.WriteQuota, "quota", o.opt.WriteQuota, "write calls per second across the emulator (link, unlink, create, delete); 0: unlimited")
	fs.Float64Var(&o.opt.ReadQuota, "read-quota", o.opt.ReadQuota, "AdminGetUser calls per second; 0: unlimited")
	fs.Float64Var(&o.opt.ListQuota, "list-quota", o.opt.ListQuota, "ListUsers calls per second; 0: unlimited")
	fs.Float64Var(&o.opt.AdminQuota, "admin-quota", o.opt.AdminQuota, "pool and identity provider calls per second; 0: unlimited")
	fs.Float64Var(&o.opt.PerUserWriteQuota, "user-quota", o.opt.PerUserWriteQuota, "write calls per second to one user; 0: unlimited")
	fs.DurationVar(&o.opt.Latency, "latency", 0, "added to every call, e.g. 20ms")
	fs.Float64Var(&o.opt.Fault5xx, "fault-5xx", 0, "probability that a write call answers InternalErrorException (500), not applied")
	fs.Float64Var(&o.opt.FaultDrop, "fault-drop", 0, "probability that a write call's connection closes before it is applied")
	fs.Float64Var(&o.opt.FaultLost, "fault-lost", 0, "probability that a write call is applied, then its connection closes unanswered")
	fs.BoolVar(&o.opt.LegacyRepeatAnswer, "legacy-repeat-answer", false, `answer a repeated link with the pre-2024 "Invalid SourceUser..." text`)
	o.out.register(fs)
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	if err := o.validate(); err != nil {
		errorf(e, "emulate", err)
		return exitUsage
	}
	log := o.out.logger(e)
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
	if o.seed != "" {
		seed, err := emulator.LoadSeedFile(o.seed)
		if err != nil {
			return usageError{err}
		}
		if err := emu.Load(seed); err != nil {
			return usagef("seed %s: %w", o.seed, err)
		}
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return usagef("listen: %w", err)
	}
	url := "http://" + ln.Addr().String()
	if o.addrFile != "" {
		if err := os.WriteFile(o.addrFile, []byte(url+"\n"), 0o600); err != nil {
			ln.Close()
			return usagef("write --addr-file: %w", err)
		}
	}
	fmt.Fprintf(e.stdout, "bulklink emulate: serving Cognito on %s\n", url)
	fmt.Fprintf(e.stdout, "  try: aws cognito-idp list-users --endpoint-url %s --region %s --user-pool-id POOL\n", url, o.opt.Region)
	log.Info("emulator started", zap.String("url", url), zap.Float64("quota", o.opt.WriteQuota),
		zap.Duration("latency", o.opt.Latency), zap.Float64("fault_5xx", o.opt.Fault5xx),
		zap.Float64("fault_drop", o.opt.FaultDrop), zap.Float64("fault_lost", o.opt.FaultLost))
	err = emu.Serve(ctx, ln)
	log.Info("emulator stopped")
	return err
}
