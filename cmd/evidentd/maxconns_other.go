//go:build !unix

package main

// defaultMaxConns is a fixed limit where the open-file limit is not known.
func defaultMaxConns() int { return 4096 }
