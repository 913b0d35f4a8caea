package main

import (
	"errors"
	"math"
	"strconv"
	"strings"

	"github.com/bulklink/bulklink/job"
)

// rateValue is --rate: write calls per second, a ceiling, or auto: the ceiling read from the
// quota's headroom every minute (quota.Auto), job.DefaultRate until the first read. It is a
// flag.Value, and a pflag.Value (Type).
type rateValue struct {
	rate *float64
	auto *bool
}

func (v rateValue) String() string {
	switch {
	case v.rate == nil:
		return ""
	case *v.auto:
		return "auto"
	}
	return strconv.FormatFloat(*v.rate, 'f', -1, 64)
}

func (v rateValue) Set(s string) error {
	if strings.EqualFold(strings.TrimSpace(s), "auto") {
		*v.rate, *v.auto = job.DefaultRate, true
		return nil
	}
	r, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return errors.New("want a number of write calls per second, or auto")
	}
	*v.rate, *v.auto = r, false
	return nil
}

func (rateValue) Type() string { return "rate" }

// marginValue is --rate-margin: the share of the headroom --rate auto leaves unused, as a
// percentage (10%) or a fraction (0.1), under 100%.
type marginValue struct{ margin *float64 }

func (v marginValue) String() string {
	if v.margin == nil {
		return ""
	}
	return strconv.FormatFloat(100**v.margin, 'f', -1, 64) + "%"
}

func (v marginValue) Set(s string) error {
	s = strings.TrimSpace(s)
	pct, isPct := strings.CutSuffix(s, "%")
	m, err := strconv.ParseFloat(pct, 64)
	if isPct {
		m /= 100
	}
	if err != nil || math.IsNaN(m) || m < 0 || m >= 1 {
		return errors.New("want a share of the headroom in [0%, 100%), e.g. 10% or 0.1")
	}
	*v.margin = m
	return nil
}

func (marginValue) Type() string { return "margin" }
