// Package testseed gives randomised tests their seed, the same way in every package: taken
// from BULKLINK_TEST_SEED when it is set, else new, and logged either way, so that a failure
// can be replayed.
package testseed

import (
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
)

// Env is the variable a seed is replayed from.
const Env = "BULKLINK_TEST_SEED"

// Seed returns the seed of t: Env's value when it is set, else a new one. It logs the seed.
func Seed(t testing.TB) uint64 {
	t.Helper()
	seed := rand.Uint64()
	if s := os.Getenv(Env); s != "" {
		if _, err := fmt.Sscan(s, &seed); err != nil {
			t.Fatalf("%s=%q: %v", Env, s, err)
		}
	}
	t.Logf("seed %d (replay with %s=%d)", seed, Env, seed)
	return seed
}
