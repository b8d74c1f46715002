package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// cluster is a throwaway PostgreSQL cluster owned by this test binary. The
// postmaster runs as a direct child (not daemonized by pg_ctl) with a
// parent-death signal, so it dies with the test binary even when the binary
// is killed or times out before Main's cleanup.
type cluster struct {
	bindir string
	root   string // temp dir: socket, log, owner.pid and the data dir
	data   string
	port   int
	cred   *syscall.Credential // run as this user (postgres) when we are root

	mu     sync.Mutex
	proc   *os.Process
	exited chan struct{} // closed when the postmaster exits
}

// settings make a fast, disposable server for tests.
var settings = []string{
	"listen_addresses=127.0.0.1",
	"fsync=off",
	"synchronous_commit=off",
	"full_page_writes=off",
	"max_connections=300",
	"shared_buffers=128MB",
	"log_min_messages=warning",
}

const tempPrefix = "umami-pgtest-"

// fallbackBindirs are searched after pg_config's answer: Debian's
// PostgreSQL 15 location.
var fallbackBindirs = []string{"/usr/lib/postgresql/15/bin"}

// findBinaries looks for initdb and postgres where pg_config says, then in
// fallbackBindirs.
func findBinaries() (string, bool) {
	var dirs []string
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dirs = append(dirs, strings.TrimSpace(string(out)))
	}
	dirs = append(dirs, fallbackBindirs...)
	for _, d := range dirs {
		if isExecutable(filepath.Join(d, "initdb")) && isExecutable(filepath.Join(d, "postgres")) {
			return d, true
		}
	}
	return "", false
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// startCluster creates and starts a cluster in a new temp dir.
func startCluster(bindir string) (*cluster, error) {
	sweepStale()
	cred, err := serverCredential()
	if err != nil {
		return nil, err
	}
	root, err := os.MkdirTemp("", tempPrefix)
	if err != nil {
		return nil, err
	}
	c := &cluster{bindir: bindir, root: root, data: filepath.Join(root, "data"), cred: cred}
	if err := c.prepare(); err != nil {
		os.RemoveAll(root)
		return nil, err
	}
	if err := c.startOnFreePort(); err != nil {
		os.RemoveAll(root)
		return nil, err
	}
	return c, nil
}

// serverCredential is the postgres user's when running as root (initdb and
// postgres refuse root), nil otherwise.
func serverCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, and PostgreSQL refuses root: need a 'postgres' user to run it as: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// prepare marks the dir as ours, hands it to the server user and runs initdb.
func (c *cluster) prepare() error {
	if err := os.WriteFile(filepath.Join(c.root, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return err
	}
	if c.cred != nil {
		if err := os.Chown(c.root, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			return err
		}
	}
	out, err := c.command(filepath.Join(c.bindir, "initdb"), "-D", c.data, "-U", "postgres", "--auth=trust",
		"-E", "UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions").CombinedOutput()
	if err != nil {
		return fmt.Errorf("initdb: %v\n%s", err, out)
	}
	return nil
}

// command runs a PostgreSQL program as the server user, from the temp dir.
func (c *cluster) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = c.root
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	return cmd
}

// startOnFreePort starts the server, retrying if another process took the
// port between choosing it and binding it.
func (c *cluster) startOnFreePort() error {
	var err error
	for range 3 {
		if c.port, err = freePort(); err != nil {
			return err
		}
		if err = c.start(); err == nil {
			return nil
		}
	}
	return err
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// start runs the postmaster and waits until it accepts connections.
func (c *cluster) start() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc != nil {
		return errors.New("already running")
	}
	logFile, err := os.OpenFile(c.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	args := []string{"-D", c.data, "-p", strconv.Itoa(c.port), "-k", c.root}
	for _, s := range settings {
		args = append(args, "-c", s)
	}
	cmd := c.command(filepath.Join(c.bindir, "postgres"), args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr.Pdeathsig = syscall.SIGQUIT // immediate shutdown if the test binary dies
	if err := c.spawn(cmd); err != nil {
		return err
	}
	if err := c.waitReady(30 * time.Second); err != nil {
		c.kill(syscall.SIGQUIT)
		return err
	}
	return nil
}

// spawn starts cmd from a goroutine locked to its OS thread for the life of
// the process: the parent-death signal fires when the forking thread ends,
// and a locked thread only ends with its goroutine.
func (c *cluster) spawn(cmd *exec.Cmd) error {
	started := make(chan error, 1)
	exited := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		cmd.Wait()
		close(exited)
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	c.proc, c.exited = cmd.Process, exited
	return nil
}

// waitReady polls until the server answers, or reports the log's tail if
// it exits or does not answer in time.
func (c *cluster) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case <-c.exited:
			return fmt.Errorf("postgres exited during startup:\n%s", c.logTail())
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, c.url("postgres"))
		cancel()
		if err == nil {
			conn.Close(context.Background())
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("postgres did not accept connections within %v:\n%s", limit, c.logTail())
}

// stop shuts the server down in fast mode and waits for it to exit.
func (c *cluster) stop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.kill(syscall.SIGINT)
}

// kill signals the postmaster (SIGINT fast, SIGQUIT immediate shutdown) and
// waits for it, escalating to SIGKILL after 30 s. Callers hold c.mu.
func (c *cluster) kill(sig syscall.Signal) error {
	if c.proc == nil {
		return nil
	}
	defer func() { c.proc = nil }()
	c.proc.Signal(sig)
	select {
	case <-c.exited:
		return nil
	case <-time.After(30 * time.Second):
		c.proc.Kill()
		<-c.exited
		return fmt.Errorf("postgres ignored signal %v for 30 s; killed", sig)
	}
}

// destroy stops the server at once and removes its files.
func (c *cluster) destroy() {
	c.mu.Lock()
	c.kill(syscall.SIGQUIT)
	c.mu.Unlock()
	os.RemoveAll(c.root)
}

func (c *cluster) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)) }

// url connects as the superuser over TCP.
func (c *cluster) url(db string) string {
	return fmt.Sprintf("postgres://postgres@%s/%s?sslmode=disable", c.addr(), db)
}

func (c *cluster) logPath() string { return filepath.Join(c.root, "postgres.log") }

func (c *cluster) logTail() string {
	b, _ := os.ReadFile(c.logPath())
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(bytes.TrimSpace(b))
}

// sweepStale removes clusters left by test binaries that died before their
// cleanup (their postmasters died with them through the parent-death signal).
func sweepStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), tempPrefix+"*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, "owner.pid"))
		if err != nil {
			continue // being created, or not ours
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || processAlive(pid) || postmasterAlive(dir) {
			continue
		}
		os.RemoveAll(dir)
	}
}

func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// postmasterAlive reads the pid file in dir's data directory.
func postmasterAlive(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid"))
	if err != nil {
		return false
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	return err == nil && processAlive(pid)
}
