// Command duesight is the one CLI of duesight: generate or import payment
// history, inspect it, train and evaluate models, serve scores.
// Run `duesight help` for the commands.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	_ "time/tzdata" // IANA zones resolve even on machines without zoneinfo

	_ "github.com/duesight/duesight/model/kinds" // registers every model kind (the one list)
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], stdio{in: os.Stdin, out: os.Stdout, err: os.Stderr}, os.Getenv)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "duesight:", err)
		os.Exit(exitCode(err))
	}
}
