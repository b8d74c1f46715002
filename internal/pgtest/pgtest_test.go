package pgtest_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/umamiai/umami/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var ctx = context.Background()

func query(t *testing.T, url, sql string) string {
	t.Helper()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var s string
	if err := conn.QueryRow(ctx, sql).Scan(&s); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return s
}

func TestURLGivesFreshDatabasesWithVector(t *testing.T) {
	a, b := pgtest.URL(t), pgtest.URL(t)
	if a == b {
		t.Fatalf("URL returned %s twice", a)
	}
	for _, u := range []string{a, b} {
		if v := query(t, u, `SELECT extversion FROM pg_extension WHERE extname = 'vector'`); v == "" {
			t.Errorf("%s: no vector extension", u)
		}
		if n := query(t, u, `SELECT count(*)::text FROM pg_tables WHERE schemaname = 'public'`); n != "0" {
			t.Errorf("%s: %s tables in a fresh database", u, n)
		}
	}
}

func TestDatabaseDroppedAtCleanup(t *testing.T) {
	var name string
	t.Run("inner", func(t *testing.T) {
		name = query(t, pgtest.URL(t), `SELECT current_database()`)
	})
	n := query(t, pgtest.Server(t).URL, `SELECT count(*)::text FROM pg_database WHERE datname = '`+name+`'`)
	if n != "0" {
		t.Errorf("database %s still exists after its test", name)
	}
}

func TestRestart(t *testing.T) {
	srv := pgtest.Server(t)
	url := pgtest.URL(t)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	srv.Restart(t)
	if err := conn.Ping(ctx); err == nil {
		t.Error("a session survived the restart")
	}
	if got := query(t, url, `SELECT 'up'`); got != "up" {
		t.Errorf("after restart: %q", got)
	}
	if !strings.HasPrefix(srv.Addr, "127.0.0.1:") || srv.DataDir == "" {
		t.Errorf("ServerInfo = %+v", srv)
	}
}
