package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/umamiai/umami/bench"
)

// bench drives a live server: "runs" creates runs and waits for them, "get"
// hammers GET of one run. Both print one JSON object.
func benchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "runs" && args[0] != "get") {
		return fmt.Errorf("bench: want runs or get")
	}
	fs := flag.NewFlagSet("bench "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("base-url", os.Getenv("BASE_URL"), "server URL (BASE_URL)")
	key := fs.String("api-key", os.Getenv("UMAMI_API_KEY"), "API key (UMAMI_API_KEY)")
	org := fs.String("org", os.Getenv("ORG_ID"), "org id (ORG_ID)")
	version := fs.String("agent-version", os.Getenv("AGENT_VERSION_ID"), "published agent version id (AGENT_VERSION_ID)")
	runID := fs.String("run", "", "run id to read (get)")
	input := fs.String("input", "", "input of every run (runs)")
	n := fs.Int("n", 1000, "number of runs (runs) or requests (get)")
	c := fs.Int("c", 32, "concurrency")
	rate := fs.Float64("rate", 0, "runs: create at this many runs per second (open loop); 0 = as fast as possible")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if args[0] == "runs" {
		res, err := bench.Runs(ctx, bench.RunsConfig{BaseURL: *base, APIKey: *key, OrgID: *org,
			AgentVersionID: *version, Input: *input, N: *n, Concurrency: *c, Rate: *rate})
		if res != nil {
			enc.Encode(res)
		}
		return err
	}
	res, err := bench.GetRuns(ctx, bench.GetConfig{BaseURL: *base, APIKey: *key, RunID: *runID, N: *n, Concurrency: *c})
	if res != nil {
		enc.Encode(res)
	}
	return err
}
