//go:build !race

package main

// raceEnabled says the tests run under the race detector: the binary they drive is built
// with it too.
const raceEnabled = false
