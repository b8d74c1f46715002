package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// rescueFlags make a lost run attempt rescuable quickly. River rescues a
// running job only once it is older than both RescueStuckJobsAfter and the
// job's timeout, and requires RescueStuckJobsAfter >= JobTimeout; so the
// rescue threshold must exceed the run timeout, which must exceed the 4 s
// run. (--rescue-after 2s alone would either never rescue or cut a resumed
// 4 s run off at 2 s.)
var rescueFlags = []string{"--run-timeout", "5s", "--rescue-after", "8s"}

// TestWorkerKilledMidRunIsRescued: a serve process dies (kill -9) while it
// executes a run; a new serve on the same data dir must resume the run
// (River's rescuer re-queues the stuck job) and finish it.
func TestWorkerKilledMidRunIsRescued(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	port := freePort(t)
	t0 := time.Now()
	since := func() time.Duration { return time.Since(t0).Round(10 * time.Millisecond) }

	first, d := startDemo(t, "serve #1 (killed)", dir, port, rescueFlags...)
	a := newAPI(t, d.BaseURL, d.APIKey)
	id := a.createRun(d, "[[sleep:4s]] rescue me")
	run := a.waitStatus(id, "running", 10*time.Second)
	if run["status"] != "running" {
		t.Fatalf("run before the kill: %v, want running", run)
	}
	t.Logf("%v: run %s running; kill -9", since(), id)
	first.kill9()
	killedAt := time.Now()

	second := startServer(t, "serve #2 (rescuer)", dir, port, slices.Concat(rescueFlags, []string{"--log-level", "debug"})...)
	t.Logf("%v: serve #2 ready", since())

	last := ""
	deadline := time.Now().Add(90 * time.Second)
	for {
		run = a.getRun(id)
		st := run["status"].(string)
		if st != last {
			t.Logf("%v: run %s (%v after the kill)", since(), st, time.Since(killedAt).Round(10*time.Millisecond))
			last = st
		}
		if isTerminal(st) || time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if run["status"] != "succeeded" || run["output"] != "Echo: rescue me" {
		logs := second.stderr.String()
		t.Errorf("run %s after kill -9 and restart: status %v, error %v (%v after the kill); want succeeded with output %q",
			id, run["status"], run["error"], time.Since(killedAt).Round(time.Second), "Echo: rescue me")
		// Say how far River got, to tell a slow rescue from none.
		for _, step := range []string{"Gained leadership", "JobRescuer: Run loop started",
			"JobRescuer: Ran successfully", "JobScheduler: Ran successfully", "Distributed batch of jobs"} {
			t.Logf("serve #2 log has %q: %v", step, strings.Contains(logs, step))
		}
		// The process's output is logged at cleanup: keep River's story only.
		second.logFilter = riverLines
		return
	}
	t.Logf("rescued: run succeeded %v after the kill", time.Since(killedAt).Round(10*time.Millisecond))
}

// riverLines drops request logs and periodic chatter from a server's log,
// keeping the lines that tell what the workers and River did.
func riverLines(logs string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(logs, "\n") {
		if strings.Contains(l, "msg=request") || strings.Contains(l, "Job stats") ||
			strings.Contains(l, "Reporting producer status") || strings.Contains(l, "attempting reelect") {
			continue
		}
		b.WriteString(l)
	}
	return b.String()
}

// TestGracefulShutdown: SIGTERM lets a run in flight finish before the
// process exits 0.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	port := freePort(t)

	s, d := startDemo(t, "serve #1 (SIGTERM)", dir, port)
	s.logFilter = riverLines
	a := newAPI(t, d.BaseURL, d.APIKey)
	id := a.createRun(d, "[[sleep:2s]] finish me")
	if run := a.waitStatus(id, "running", 10*time.Second); run["status"] != "running" {
		t.Fatalf("run before SIGTERM: %v, want running", run)
	}
	code, took := s.stop()
	exitedAt := s.exitedAt
	t.Logf("serve exited with code %d %v after SIGTERM", code, took.Round(time.Millisecond))
	if code != 0 {
		t.Errorf("exit code on SIGTERM = %d, want 0", code)
	}

	startServer(t, "serve #2 (reopen)", dir, port).logFilter = riverLines
	run := a.getRun(id)
	if run["status"] != "succeeded" || run["output"] != "Echo: finish me" {
		t.Errorf("right after restart the run is %v (error %v); want succeeded with output %q, finished before the first process exited",
			run["status"], run["error"], "Echo: finish me")
		run = a.waitStatus(id, "succeeded", 30*time.Second)
		t.Logf("after waiting on the restarted server the run is %v (completed_at %v)", run["status"], run["completed_at"])
		return
	}
	if done := parseTime(t, "completed_at", run["completed_at"]); done.After(exitedAt) {
		t.Errorf("run completed at %v, after the SIGTERM'd process exited (%v): it was finished by the restarted server, not drained on shutdown",
			done.Format(time.RFC3339Nano), exitedAt.UTC().Format(time.RFC3339Nano))
	}
}

// TestServeConfigErrors: bad settings stop serve at once with a message
// naming the flag.
func TestServeConfigErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"worker role on SQLite", []string{"--role", "worker"}, []string{"--role", "PostgreSQL"}},
		{"api role on SQLite", []string{"--role", "api"}, []string{"--role", "PostgreSQL"}},
		{"bad addr", []string{"--addr", "nonsense"}, []string{"--addr", "nonsense"}},
		{"bad log level", []string{"--log-level", "loud"}, []string{"--log-level", "loud"}},
		{"bad log format", []string{"--log-format", "xml"}, []string{"--log-format"}},
		{"bad base url", []string{"--base-url", "example.com"}, []string{"--base-url"}},
		{"unknown flag", []string{"--frobnicate"}, []string{"frobnicate"}},
		{"unreachable database", []string{"--database-url", "postgres://umami:s3cret@127.0.0.1:1/umami"},
			[]string{"--database-url", "cannot reach PostgreSQL at 127.0.0.1:1"}},
		{"malformed database url", []string{"--database-url", "postgres://umami:s3cret@127.0.0.1:notaport/umami"},
			[]string{"--database-url"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "data")
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			args := append([]string{"serve", "--data-dir", dir}, c.args...)
			cmd := exec.CommandContext(ctx, umamiBin, args...)
			cmd.Env = childEnv()
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if ctx.Err() != nil {
				t.Fatalf("umami %s kept running; want it to exit at once with an error", strings.Join(args, " "))
			}
			if err == nil || cmd.ProcessState.ExitCode() == 0 {
				t.Fatalf("umami %s: exit code 0, want non-zero\nstderr:\n%s", strings.Join(args, " "), stderr.String())
			}
			for _, w := range c.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("umami %s: stderr does not mention %q:\n%s", strings.Join(args, " "), w, stderr.String())
				}
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout = %q, want nothing", stdout.String())
			}
			// Database errors: one line, never the password (flag errors print usage).
			if slices.Contains(c.args, "--database-url") &&
				(strings.Contains(stderr.String(), "s3cret") || strings.Count(strings.TrimSpace(stderr.String()), "\n") > 0) {
				t.Errorf("want one line without the password, got:\n%s", stderr.String())
			}
			if _, err := os.Stat(dir); err == nil {
				t.Errorf("a rejected configuration still created the data dir %s", dir)
			}
		})
	}
}
