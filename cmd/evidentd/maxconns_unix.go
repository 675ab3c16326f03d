//go:build unix

package main

import "syscall"

// defaultMaxConns is the open-file limit less a reserve for the stores and
// logs, so a flood of connections never starves the server of descriptors.
func defaultMaxConns() int {
	const reserve, fallback = 256, 4096
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur <= 2*reserve {
		return fallback
	}
	if rl.Cur > 1<<20 {
		return 1<<20 - reserve
	}
	return int(rl.Cur) - reserve
}
