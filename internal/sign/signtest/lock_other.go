//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package signtest

// lockMetricsPort does nothing where flock is not available: tests that
// start the timestamp-server must then not run in parallel processes.
func lockMetricsPort() (unlock func(), err error) { return func() {}, nil }
