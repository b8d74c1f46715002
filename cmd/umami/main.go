// Command umami is UmamiAI's single binary: the server (API, console and
// workers), the admin commands, and the benchmark client.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `umami — self-hostable AI agent platform

Usage:
  umami serve [flags]                 start the API, console and workers (umami serve -h)
  umami migrate [--data-dir DIR | --database-url URL]
  umami orgs create NAME              print the new org's id
  umami orgs list                     JSON lines
  umami keys create --org ID --name NAME --scopes runs:create,runs:read [--expires-in 720h]
                                      print only the new key (shown once)
  umami keys list --org ID            JSON lines
  umami keys revoke KEY_ID
  umami bench runs|get [flags]        drive a live server and print JSON figures
  umami version
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "umami:", err)
		}
		os.Exit(2)
	}
}

// run dispatches a command line.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stdout, stderr)
	case "migrate":
		return migrate(ctx, args[1:], stdout, stderr)
	case "orgs":
		return orgs(ctx, args[1:], stdout, stderr)
	case "keys":
		return keys(ctx, args[1:], stdout, stderr)
	case "bench":
		return benchCmd(ctx, args[1:], stdout, stderr)
	case "version":
		return version(stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	m := &Main{Stdout: stdout, Stderr: stderr}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	serveFlags(fs, &m.Config)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve: unexpected argument %q", fs.Arg(0))
	}
	if err := m.Open(ctx); err != nil {
		return err
	}
	return m.Run(ctx)
}
