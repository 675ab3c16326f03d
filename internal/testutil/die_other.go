//go:build !linux

package testutil

import "os/exec"

// dieWithParent does nothing here: only Linux can tie a child's life to
// its parent's. StopS3 stops the server.
func dieWithParent(*exec.Cmd) {}
