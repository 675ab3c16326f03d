//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package signtest

import (
	"os"
	"path/filepath"
	"syscall"
)

// lockMetricsPort takes the machine-wide lock on the timestamp-server's
// metrics port: an exclusive flock on a file in the temporary directory,
// held until unlock (or until the process dies, when the kernel drops it).
func lockMetricsPort() (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(os.TempDir(), "evident-timestamp-server-2112.lock"), os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
