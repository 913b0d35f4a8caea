package job

import (
	"math"
	"sync"

	"go.uber.org/zap"

	"github.com/bulklink/bulklink/input"
)

// regions paces each region's write calls apart: the quota is per account and region, so a
// file with pools in two regions runs each at its own pace, under --rate each (the region is
// the pool id's prefix, as Cognito names pools).
type regions struct {
	cfg Config
	mu  sync.Mutex
	by  map[string]*pacer
}

func newRegions(cfg Config) *regions { return &regions{cfg: cfg, by: map[string]*pacer{}} }

// of returns the pacer of a pool's region.
func (r *regions) of(pool string) *pacer { return r.region(input.PoolRegion(pool)) }

// region returns the pacer of a region, made on first use.
func (r *regions) region(region string) *pacer {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.by[region]
	if !ok {
		p = newPacer(r.cfg.Rate, r.cfg.Logger.With(zap.String("region", region)), r.cfg.Now)
		r.by[region] = p
	}
	return p
}

// rate is the pace of every region together; the ceiling when none has paced yet.
func (r *regions) rate() float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.by) == 0 {
		if r.cfg.Rate <= 0 {
			return math.Inf(1)
		}
		return r.cfg.Rate
	}
	total := 0.0
	for _, p := range r.by {
		total += p.Rate()
	}
	return total
}

// setCeiling sets the ceiling of a region's pace (--rate auto); ≤ 0 removes it.
func (r *regions) setCeiling(region string, c float64) { r.region(region).SetCeiling(c) }

// calls is the number of write calls sent to a region's pools so far.
func (r *regions) calls(region string) int64 {
	r.mu.Lock()
	p := r.by[region]
	r.mu.Unlock()
	if p == nil {
		return 0
	}
	return p.calls.Load()
}
