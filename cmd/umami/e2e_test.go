package main

// End-to-end tests of the real umami binary. TestMain builds it once; the
// helpers below run its admin commands and start "umami serve" as a
// subprocess on a free port with its own data directory.
//
// Set UMAMI_E2E_BINARY=/path/to/umami to test a prebuilt binary instead.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/umamiai/umami/internal/pgtest"
)

// umamiBin is the binary under test, built by TestMain.
var umamiBin string

func TestMain(m *testing.M) {
	code := e2eMain(m)
	pgtest.Shutdown() // the throwaway PostgreSQL of the scale-out tests, if started
	os.Exit(code)
}

func e2eMain(m *testing.M) int {
	if p := os.Getenv("UMAMI_E2E_BINARY"); p != "" {
		umamiBin = p
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "umami-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	umamiBin = filepath.Join(dir, "umami")
	build := exec.Command("go", "build", "-o", umamiBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: go build of cmd/umami failed:", err)
		return 1
	}
	return m.Run()
}

var (
	uuidRE   = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	apiKeyRE = regexp.MustCompile(`^umami_[0-9A-Za-z]{20,}$`)
)

// childEnv is the test process's environment without anything that would
// change how umami behaves (UMAMI_* settings, provider keys that would make
// the demo pick a real model, the guide's exports).
func childEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "UMAMI_"), strings.HasPrefix(name, "OPENAI_"), strings.HasPrefix(name, "ANTHROPIC_"),
			name == "BASE_URL", name == "ORG_ID", name == "AGENT_VERSION_ID", name == "RUN_ID":
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// cliResult is what one admin command did.
type cliResult struct {
	args           []string
	stdout, stderr string
	code           int
}

func (r cliResult) String() string {
	return fmt.Sprintf("umami %s\nexit code: %d\nstdout:\n%s\nstderr:\n%s", strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

// runCLI runs the binary with args to completion (at most 60 s).
func runCLI(t *testing.T, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, umamiBin, args...)
	cmd.Env = childEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := cliResult{args: args, stdout: stdout.String(), stderr: stderr.String()}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		r.code = exitErr.ExitCode()
	default:
		t.Fatalf("umami %s: %v", strings.Join(args, " "), err)
	}
	if ctx.Err() != nil {
		t.Fatalf("umami %s did not finish within 60 s\n%s", strings.Join(args, " "), r)
	}
	return r
}

// mustCLI runs an admin command that must succeed.
func mustCLI(t *testing.T, args ...string) cliResult {
	t.Helper()
	r := runCLI(t, args...)
	if r.code != 0 {
		t.Fatalf("want exit code 0\n%s", r)
	}
	return r
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
// serve --demo needs a real port up front: BASE_URL is printed from it.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// syncBuffer collects a subprocess's output while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// server is one "umami serve" subprocess.
type server struct {
	t       *testing.T
	name    string
	dataDir string
	port    int
	baseURL string
	cmd     *exec.Cmd
	stdout  syncBuffer
	stderr  syncBuffer
	started time.Time

	done     chan struct{} // closed when the process has exited
	waitErr  error
	exitedAt time.Time
	stopped  bool // stopped or killed on purpose by the test

	logFilter func(string) string // if set, shortens stderr in the failure log
}

// startServer starts "umami serve --data-dir dataDir --addr 127.0.0.1:port
// extra..." and waits until /readyz answers 200. The process is stopped with
// SIGTERM at cleanup (and must then exit 0); its output is logged if the
// test failed.
func startServer(t *testing.T, name, dataDir string, port int, extra ...string) *server {
	t.Helper()
	s := &server{t: t, name: name, dataDir: dataDir, port: port,
		baseURL: fmt.Sprintf("http://127.0.0.1:%d", port), done: make(chan struct{})}
	args := append([]string{"serve", "--data-dir", dataDir, "--addr", fmt.Sprintf("127.0.0.1:%d", port)}, extra...)
	s.cmd = exec.Command(umamiBin, args...)
	s.cmd.Env = childEnv()
	s.cmd.Stdout, s.cmd.Stderr = &s.stdout, &s.stderr
	s.started = time.Now()
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start umami %s: %v", strings.Join(args, " "), err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		s.exitedAt = time.Now()
		close(s.done)
	}()
	// Cleanups run last-in first-out: stop first, then show the output.
	t.Cleanup(func() {
		if t.Failed() {
			stderr := s.stderr.String()
			if s.logFilter != nil {
				stderr = s.logFilter(stderr)
			}
			t.Logf("--- %s: umami %s\n--- stdout:\n%s--- stderr:\n%s", s.name, strings.Join(args, " "), s.stdout.String(), stderr)
		}
	})
	t.Cleanup(func() {
		if s.stopped {
			return
		}
		select {
		case <-s.done:
			t.Errorf("%s exited before the test stopped it: %v", s.name, s.waitErr)
			return
		default:
		}
		if code, _ := s.stop(); code != 0 {
			t.Errorf("%s: exit code on SIGTERM = %d, want 0", s.name, code)
		}
	})
	s.waitReady()
	return s
}

// waitReady polls /readyz until it answers 200 (at most 30 s).
func (s *server) waitReady() {
	s.t.Helper()
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-s.done:
			s.stopped = true
			s.t.Fatalf("%s exited before it was ready: %v\nstderr:\n%s", s.name, s.waitErr, s.stderr.String())
		default:
		}
		resp, err := hc.Get(s.baseURL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				s.t.Logf("%s ready after %v", s.name, time.Since(s.started).Round(time.Millisecond))
				return
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%s not ready within 30 s (last error %v)", s.name, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop sends SIGTERM and waits for the exit (kill -9 after 15 s). It returns
// the exit code (-1 if killed by a signal) and how long the exit took.
func (s *server) stop() (code int, took time.Duration) {
	s.t.Helper()
	s.stopped = true
	sent := time.Now()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		s.t.Errorf("%s: SIGTERM: %v", s.name, err)
	}
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		s.t.Errorf("%s did not exit within 15 s of SIGTERM; killing it", s.name)
		s.cmd.Process.Kill()
		<-s.done
	}
	return s.cmd.ProcessState.ExitCode(), s.exitedAt.Sub(sent)
}

// kill9 kills the process with SIGKILL, as a crash would.
func (s *server) kill9() {
	s.t.Helper()
	s.stopped = true
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		s.t.Fatalf("%s: SIGKILL: %v", s.name, err)
	}
	<-s.done
}

// waitStdoutLines waits until the process has printed at least n lines.
func (s *server) waitStdoutLines(n int) string {
	s.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		out := s.stdout.String()
		if strings.Count(out, "\n") >= n || time.Now().After(deadline) {
			return out
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// demoEnv is what "serve --demo" exports.
type demoEnv struct {
	Lines          []string // the four lines as printed
	BaseURL        string
	APIKey         string
	OrgID          string
	AgentVersionID string
}

var demoLineREs = []*regexp.Regexp{
	regexp.MustCompile(`^export BASE_URL="(http://127\.0\.0\.1:[0-9]+)"$`),
	regexp.MustCompile(`^export UMAMI_API_KEY="(umami_[0-9A-Za-z]{20,})"$`),
	regexp.MustCompile(`^export ORG_ID="([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"$`),
	regexp.MustCompile(`^export AGENT_VERSION_ID="([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"$`),
}

// parseDemo checks that out is exactly the demo's four export lines.
func parseDemo(t *testing.T, out string) demoEnv {
	t.Helper()
	if !strings.HasSuffix(out, "\n") {
		t.Fatalf("demo output does not end with a newline: %q", out)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("demo printed %d lines on stdout, want exactly 4:\n%s", len(lines), out)
	}
	var vals [4]string
	for i, re := range demoLineREs {
		m := re.FindStringSubmatch(lines[i])
		if m == nil {
			t.Fatalf("demo stdout line %d = %q, want it to match %s", i+1, lines[i], re)
		}
		vals[i] = m[1]
	}
	return demoEnv{Lines: lines, BaseURL: vals[0], APIKey: vals[1], OrgID: vals[2], AgentVersionID: vals[3]}
}

// startDemo starts "serve --demo" and returns the exports it printed.
func startDemo(t *testing.T, name, dataDir string, port int, extra ...string) (*server, demoEnv) {
	t.Helper()
	s := startServer(t, name, dataDir, port, append([]string{"--demo"}, extra...)...)
	d := parseDemo(t, s.waitStdoutLines(4))
	if d.BaseURL != s.baseURL {
		t.Fatalf("demo BASE_URL = %q, want %q", d.BaseURL, s.baseURL)
	}
	return s, d
}

// api is a small HTTP client of the Platform API for the tests. It does not
// reuse connections, so a restarted server is reached afresh.
type api struct {
	t       *testing.T
	baseURL string
	key     string
	hc      *http.Client
}

func newAPI(t *testing.T, baseURL, key string) *api {
	return &api{t: t, baseURL: baseURL, key: key,
		hc: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}}
}

// do sends a request and returns the status and the decoded JSON object.
func (a *api) do(method, path string, body any) (int, map[string]any) {
	a.t.Helper()
	status, data := a.doRaw(method, path, body)
	var obj map[string]any
	if err := json.Unmarshal(data, &obj); err != nil {
		a.t.Fatalf("%s %s: status %d, body is not a JSON object: %v\n%s", method, path, status, err, data)
	}
	return status, obj
}

func (a *api) doRaw(method, path string, body any) (int, []byte) {
	a.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			a.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.baseURL+path, r)
	if err != nil {
		a.t.Fatal(err)
	}
	if a.key != "" {
		req.Header.Set("Authorization", "Bearer "+a.key)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return resp.StatusCode, data
}

// createRun creates a run of the demo version and returns its id.
func (a *api) createRun(d demoEnv, input string) string {
	a.t.Helper()
	status, run := a.do("POST", "/api/v1/agent-runs",
		map[string]any{"org_id": d.OrgID, "agent_version_id": d.AgentVersionID, "input": input})
	if status != http.StatusCreated || run["status"] != "queued" {
		a.t.Fatalf("create run: status %d, body %v; want 201 and a queued run", status, run)
	}
	id, _ := run["run_id"].(string)
	if !uuidRE.MatchString(id) {
		a.t.Fatalf("create run: run_id = %q, want a UUID", id)
	}
	return id
}

// getRun returns a run, which must exist.
func (a *api) getRun(id string) map[string]any {
	a.t.Helper()
	status, run := a.do("GET", "/api/v1/agent-runs/"+id, nil)
	if status != http.StatusOK {
		a.t.Fatalf("GET run %s: status %d, body %v", id, status, run)
	}
	return run
}

// waitStatus polls a run until its status is want (or a terminal status),
// for at most timeout, and returns the last run read.
func (a *api) waitStatus(id, want string, timeout time.Duration) map[string]any {
	a.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		run := a.getRun(id)
		st, _ := run["status"].(string)
		if st == want || isTerminal(st) || time.Now().After(deadline) {
			return run
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func isTerminal(status string) bool {
	return status == "succeeded" || status == "failed" || status == "canceled"
}

// parseTime parses one of the API's RFC 3339 timestamps.
func parseTime(t *testing.T, field string, v any) time.Time {
	t.Helper()
	s, ok := v.(string)
	if !ok {
		t.Fatalf("%s = %v, want an RFC 3339 string", field, v)
	}
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("%s = %q: %v", field, s, err)
	}
	return tm
}
