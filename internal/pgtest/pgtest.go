// Package pgtest gives tests a fresh, empty PostgreSQL database each.
//
// The server is UMAMI_TEST_DATABASE_URL's when that is set (a superuser URL:
// pgtest creates and drops databases on it). Otherwise pgtest starts one
// throwaway cluster per test binary from the local PostgreSQL binaries
// (pg_config --bindir, or /usr/lib/postgresql/15/bin), as the postgres user
// when running as root, on a free port of 127.0.0.1, with durability off.
// Packages that use it stop that cluster by calling Main from TestMain (or
// Shutdown after m.Run in a TestMain of their own):
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// Without a URL and without binaries, tests that ask for a database skip
// with one loud line, or fail when the CI environment variable is set.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names the variable holding an existing server's superuser URL.
const EnvURL = "UMAMI_TEST_DATABASE_URL"

// installHint tells a developer how to get a server for the tests.
const installHint = "set " + EnvURL + "=postgres://postgres@host:5432/postgres, or install PostgreSQL 15 " +
	"(apt-get install postgresql-15) and pgvector (scripts/install-pgvector.sh)"

// ServerInfo describes the server the test binary uses.
type ServerInfo struct {
	// URL connects as a superuser to the server's maintenance database.
	URL string
	// Addr is the server's host:port.
	Addr string
	// Owned reports whether this test binary started the server; only an
	// owned server can be stopped, started and restarted.
	Owned bool
	// DataDir is the owned cluster's data directory, "" otherwise.
	DataDir string

	cluster *cluster
}

// Stop shuts an owned server down (fast mode: sessions are ended). Tests
// that do this must not run in parallel with others using the server.
// It skips the test when the server is not owned.
func (s *ServerInfo) Stop(t testing.TB) {
	t.Helper()
	s.requireOwned(t)
	if err := s.cluster.stop(); err != nil {
		t.Fatalf("pgtest: stop PostgreSQL: %v", err)
	}
}

// Start starts an owned server stopped by Stop, on the same port.
func (s *ServerInfo) Start(t testing.TB) {
	t.Helper()
	s.requireOwned(t)
	if err := s.cluster.start(); err != nil {
		t.Fatalf("pgtest: start PostgreSQL: %v", err)
	}
}

// Restart stops and starts an owned server, like `pg_ctl restart -m fast`:
// every open session is terminated. It skips the test when the server is
// not owned (UMAMI_TEST_DATABASE_URL).
func (s *ServerInfo) Restart(t testing.TB) {
	t.Helper()
	s.Stop(t)
	s.Start(t)
}

func (s *ServerInfo) requireOwned(t testing.TB) {
	t.Helper()
	if !s.Owned {
		t.Skip("pgtest: the server comes from " + EnvURL + "; only a harness-owned cluster can be stopped")
	}
}

// setup is the outcome of finding or starting the server, once per binary.
type setup struct {
	info    *ServerInfo
	missing string // why there is no server at all (skip, or fail in CI)
	err     error  // the server should exist but could not be started
}

var (
	once    sync.Once
	current setup
)

// Server returns the test binary's server, starting it on first use.
func Server(t testing.TB) *ServerInfo {
	t.Helper()
	once.Do(func() { current = findServer() })
	switch {
	case current.err != nil:
		t.Fatalf("pgtest: %v", current.err)
	case current.missing != "":
		unavailable(t, current.missing)
	}
	return current.info
}

// unavailable skips the test with one loud line, or fails it in CI.
func unavailable(t testing.TB, why string) {
	t.Helper()
	msg := "pgtest: NO POSTGRESQL, test not run: " + why + "; " + installHint
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	} else {
		t.Skip(msg)
	}
}

func findServer() setup {
	if u := os.Getenv(EnvURL); u != "" {
		return externalServer(u)
	}
	bindir, ok := findBinaries()
	if !ok {
		return setup{missing: "no " + EnvURL + " and no PostgreSQL binaries (initdb, postgres)"}
	}
	c, err := startCluster(bindir)
	if err != nil {
		return setup{err: err}
	}
	return setup{info: &ServerInfo{URL: c.url("postgres"), Addr: c.addr(), Owned: true, DataDir: c.data, cluster: c}}
}

func externalServer(u string) setup {
	cfg, err := pgx.ParseConfig(u)
	if err != nil {
		return setup{err: fmt.Errorf("%s: %w", EnvURL, err)}
	}
	return setup{info: &ServerInfo{URL: u, Addr: fmt.Sprintf("%s:%d", cfg.Host, cfg.Port)}}
}

// Main runs the package's tests, then stops the cluster they started, if
// any. Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	Shutdown()
	os.Exit(code)
}

// Shutdown stops and removes the cluster this test binary started, if any.
// Main calls it; a TestMain that does more than Main calls it after m.Run.
// (Should neither run, the cluster still dies with the binary, and the next
// test binary removes its files.)
func Shutdown() {
	if current.info != nil && current.info.cluster != nil {
		current.info.cluster.destroy()
	}
}

// URL creates a fresh database for this test and returns its URL. The
// database has the vector extension (created as superuser, so the store's
// CREATE EXTENSION IF NOT EXISTS succeeds) and is dropped at cleanup, after
// cleanups registered later (such as closing a store) have run.
func URL(t testing.TB) string {
	t.Helper()
	srv := Server(t)
	name := dbName(t.Name())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := adminExec(ctx, srv.URL, `CREATE DATABASE `+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() { dropDatabase(t, srv.URL, name) })
	dbURL, err := withDatabase(srv.URL, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	if err := adminExec(ctx, dbURL, `CREATE EXTENSION IF NOT EXISTS vector`); err != nil {
		unavailable(t, fmt.Sprintf("CREATE EXTENSION vector failed on %s (%v)", srv.Addr, err))
	}
	return dbURL
}

func dropDatabase(t testing.TB, adminURL, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := adminExec(ctx, adminURL, `DROP DATABASE IF EXISTS `+pgx.Identifier{name}.Sanitize()+` WITH (FORCE)`); err != nil {
		t.Logf("pgtest: drop database %s: %v", name, err)
	}
}

// adminExec runs one statement on its own connection.
func adminExec(ctx context.Context, connURL, sql string) error {
	conn, err := pgx.Connect(ctx, connURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, sql)
	return err
}

var unsafeChars = regexp.MustCompile(`[^a-z0-9]+`)

// dbName is unique and readable: "t_" + the test's name + random hex,
// within PostgreSQL's 63-byte identifier limit.
func dbName(testName string) string {
	base := strings.Trim(unsafeChars.ReplaceAllString(strings.ToLower(testName), "_"), "_")
	if len(base) > 40 {
		base = base[:40]
	}
	b := make([]byte, 5)
	rand.Read(b)
	return "t_" + base + "_" + hex.EncodeToString(b)
}

// withDatabase returns connURL pointing at database name. It accepts both
// URLs and keyword/value strings.
func withDatabase(connURL, name string) (string, error) {
	if !strings.HasPrefix(connURL, "postgres://") && !strings.HasPrefix(connURL, "postgresql://") {
		return connURL + " dbname=" + name, nil
	}
	u, err := url.Parse(connURL)
	if err != nil {
		return "", fmt.Errorf("parse server URL: %w", err)
	}
	u.Path = "/" + name
	return u.String(), nil
}
