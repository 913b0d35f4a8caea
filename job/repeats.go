package job

import (
	"sync"

	"github.com/bulklink/bulklink/plan"
)

// repeats runs the rows that repeat one another (the same identity for the same user,
// plan.Item.Repeat and Repeated) one after the other, in input order: run at once, whichever
// call came second would be told "already linked", by chance. The reader registers such a
// row before handing it to a worker, and the worker waits for the one before it. Only rows in
// flight are held, so memory follows the workers, not the input.
type repeats struct {
	// byUser orders every row by its destination user instead: the rows of one user run one
	// after the other (Config.OneRowPerUser).
	byUser bool
	mu     sync.Mutex
	last   map[string]chan struct{} // the latest row of each identity in flight: closed when done
}

// identityKey names a row's identity and destination user.
func identityKey(it *plan.Item) string {
	r := &it.Request
	return it.Key().String() + "\x00" + r.SourceProvider + "\x00" + r.SourceAttribute + "\x00" + r.SourceValue
}

// register returns, for a row that repeats or is repeated, what to wait for before it runs
// (nil: nothing) and what to call when it is done.
func (rp *repeats) register(row *plan.Item) (wait <-chan struct{}, done func()) {
	key := ""
	switch {
	case rp.byUser && row.Valid():
		key = row.Key().String()
	case row.Repeat || row.Repeated:
		key = identityKey(row)
	default:
		return nil, func() {}
	}
	mine := make(chan struct{})
	rp.mu.Lock()
	if rp.last == nil {
		rp.last = map[string]chan struct{}{}
	}
	wait = rp.last[key]
	rp.last[key] = mine
	rp.mu.Unlock()
	return wait, func() {
		close(mine)
		rp.mu.Lock()
		if rp.last[key] == mine {
			delete(rp.last, key)
		}
		rp.mu.Unlock()
	}
}
