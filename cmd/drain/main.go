// Command drain takes a web server out of load-balancer rotation, waits until
// its in-flight work has finished, then stops or recycles it.
package main

import (
	"os"

	"github.com/drain-cli/drain/internal/cli"
)

func main() { os.Exit(cli.Main()) }
