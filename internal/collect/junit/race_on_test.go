//go:build race

package junit

// raceEnabled shrinks the large-report test: the race detector makes XML
// decoding some fifty times slower and finds nothing more in a larger input.
const raceEnabled = true
