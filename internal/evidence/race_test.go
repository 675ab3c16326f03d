//go:build race

package evidence_test

// raceEnabled lets tests that stream tens of megabytes do less under the
// race detector, which slows the JSON decoder about twentyfold.
const raceEnabled = true
