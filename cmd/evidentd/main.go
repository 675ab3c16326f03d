// Command evidentd is the evident archive server. It is built by a later
// milestone; until then it only says so.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "evidentd: the archive server is not built yet; see the README's roadmap")
	os.Exit(1)
}
