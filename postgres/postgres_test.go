package postgres_test

import (
	"context"
	"errors"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/umamiai/umami"
	"github.com/umamiai/umami/internal/pgtest"
	"github.com/umamiai/umami/postgres"
	"github.com/umamiai/umami/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var ctx = context.Background()

func open(t testing.TB) umami.Store {
	db, err := postgres.Open(ctx, pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		Open: func(t *testing.T) umami.Store { return open(t) },
		JobState: func(t *testing.T, s umami.Store, jobID int64) string {
			var state string
			err := s.(*postgres.DB).Pool().QueryRow(ctx, `SELECT state FROM river_job WHERE id = $1`, jobID).Scan(&state)
			if errors.Is(err, pgx.ErrNoRows) {
				return ""
			} else if err != nil {
				t.Fatal(err)
			}
			return state
		},
		SetJobState: func(t *testing.T, s umami.Store, jobID int64, state string) {
			// River's check constraint wants finalized_at set exactly for final states.
			if _, err := s.(*postgres.DB).Pool().Exec(ctx, `UPDATE river_job SET state = $1::river_job_state,
				finalized_at = CASE WHEN $1 IN ('completed', 'cancelled', 'discarded') THEN now() END
				WHERE id = $2`, state, jobID); err != nil {
				t.Fatal(err)
			}
		},
	})
}

// Nodes that start together must not race on the migrations.
func TestConcurrentMigrations(t *testing.T) {
	url := pgtest.URL(t)
	const nodes = 4
	var wg sync.WaitGroup
	errs := make([]error, nodes)
	for i := range nodes {
		wg.Go(func() {
			db, err := postgres.Open(ctx, url)
			if err == nil {
				db.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open %d: %v", i, err)
		}
	}
	db, err := postgres.Open(ctx, url) // and once more, on a migrated database
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	files, _ := filepath.Glob("migrations/*.sql")
	var applied int
	if err := db.Pool().QueryRow(ctx, `SELECT count(*) FROM umami_migrations`).Scan(&applied); err != nil || applied != len(files) || applied < 2 {
		t.Errorf("umami_migrations has %d rows (%v), want one per file of migrations/ (%d)", applied, err, len(files))
	}
}

func TestMalformedURL(t *testing.T) {
	for _, url := range []string{
		"postgres://umami:s3cret@db.example:notaport/umami",
		"postgres://umami:s3cret@db.example:5432/umami?sslmode=bogus",
		"host=db.example password=s3cret port=x",
		"",
	} {
		_, err := postgres.Open(ctx, url)
		if err == nil || !strings.Contains(err.Error(), "invalid PostgreSQL URL") {
			t.Errorf("Open(%q) = %v, want an invalid URL error", url, err)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("error leaks the password: %v", err)
		}
		t.Logf("%q: %v", url, err)
	}
}

func TestUnreachableServer(t *testing.T) {
	port := closedPort(t)
	start := time.Now()
	_, err := postgres.Open(ctx, "postgres://umami:s3cret@127.0.0.1:"+port+"/umami")
	if err == nil {
		t.Fatal("Open succeeded on a port with nothing listening")
	}
	msg := err.Error()
	t.Logf("%v (after %v)", msg, time.Since(start))
	want := "cannot reach PostgreSQL at 127.0.0.1:" + port + ": "
	if !strings.HasPrefix(msg, want) || strings.Contains(msg, "s3cret") || strings.Contains(msg, "\n") || len(msg) > 120 {
		t.Errorf("error = %q; want one short line starting %q, without the password", msg, want)
	}
}

func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return strconv.Itoa(port)
}

// A role that may not create the extension gets told who can.
func TestExtensionNeedsSuperuser(t *testing.T) {
	dbURL := pgtest.URL(t)
	u, err := url.Parse(dbURL)
	if err != nil || u.Scheme == "" {
		t.Skip("needs a URL-form " + pgtest.EnvURL)
	}
	role := "umami_noext_" + strconv.FormatInt(time.Now().UnixNano(), 36)
	db := strings.TrimPrefix(u.Path, "/")
	admin(t, dbURL, `DROP EXTENSION vector`, `CREATE ROLE `+role+` LOGIN`,
		`ALTER DATABASE `+pgx.Identifier{db}.Sanitize()+` OWNER TO `+role)
	t.Cleanup(func() { // before pgtest drops the database: give it back, then drop the role
		admin(t, dbURL, `ALTER DATABASE `+pgx.Identifier{db}.Sanitize()+` OWNER TO CURRENT_USER`, `DROP ROLE `+role)
	})
	u.User = url.User(role)
	_, err = postgres.Open(ctx, u.String())
	if err == nil || !strings.Contains(err.Error(), "CREATE EXTENSION vector") || !strings.Contains(err.Error(), "superuser") {
		t.Fatalf("Open as %s = %v; want advice to have a superuser create the extension", role, err)
	}
	t.Log(err)
}

// admin runs statements as the harness's superuser.
func admin(t *testing.T, connURL string, statements ...string) {
	t.Helper()
	conn, err := pgx.Connect(ctx, connURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, sql := range statements {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
}

// While PostgreSQL is down the store answers service_unavailable (the API's
// 503), and it recovers by itself once the server is back.
func TestServerRestartIsUnavailableThenRecovers(t *testing.T) {
	s := open(t)
	srv := pgtest.Server(t)
	getOrg := func() error {
		return s.View(ctx, func(tx umami.Tx) error {
			_, err := tx.GetOrg(ctx, "0190a000-0000-7000-8000-000000000001")
			return err
		})
	}
	if code := umami.ErrorCode(getOrg()); code != umami.ENotFound {
		t.Fatalf("before: code %q", code)
	}
	srv.Stop(t)
	stopped := true
	defer func() {
		if stopped {
			srv.Start(t)
		}
	}()
	for name, err := range map[string]error{
		"view": getOrg(),
		"update": s.Update(ctx, func(tx umami.Tx) error {
			return tx.CreateOrg(ctx, &umami.Org{ID: "0190a000-0000-7000-8000-000000000002"})
		}),
		"ping": s.Ping(ctx),
	} {
		if umami.ErrorCode(err) != umami.EUnavailable || umami.ErrorMessage(err) != "database unavailable" {
			t.Errorf("%s while down: %v (code %q), want %s", name, err, umami.ErrorCode(err), umami.EUnavailable)
		}
	}
	srv.Start(t)
	stopped = false
	if code := umami.ErrorCode(getOrg()); code != umami.ENotFound {
		t.Errorf("after restart: code %q, want %s", code, umami.ENotFound)
	}
}

// Two requests with the same Idempotency-Key racing in separate
// transactions: the second to write must not record a second run.
func TestConcurrentIdempotencyKey(t *testing.T) {
	s := open(t)
	org := &umami.Org{ID: "0190a000-0000-7000-8000-000000000003", Name: "o", CreatedAt: time.Now()}
	if err := s.Update(ctx, func(tx umami.Tx) error { return tx.CreateOrg(ctx, org) }); err != nil {
		t.Fatal(err)
	}
	firstPut := make(chan struct{})
	secondDone := make(chan error, 1)
	put := func(tx umami.Tx, runID string) error {
		return tx.PutIdempotencyKey(ctx, &umami.IdempotencyKey{OrgID: org.ID, Key: "k", RequestHash: "h",
			RunID: runID, CreatedAt: time.Now()})
	}
	err := s.Update(ctx, func(tx umami.Tx) error {
		if err := put(tx, "0190a000-0000-7000-8000-00000000000a"); err != nil {
			return err
		}
		go func() {
			<-firstPut
			secondDone <- s.Update(ctx, func(tx umami.Tx) error { return put(tx, "0190a000-0000-7000-8000-00000000000b") })
		}()
		close(firstPut)
		time.Sleep(200 * time.Millisecond) // the second insert now waits on this transaction's row
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-secondDone; umami.ErrorCode(err) != umami.EConflict {
		t.Errorf("second Put = %v, want %s", err, umami.EConflict)
	}
	s.View(ctx, func(tx umami.Tx) error {
		k, err := tx.GetIdempotencyKey(ctx, org.ID, "k", time.Now().Add(-time.Hour))
		if err != nil || k.RunID != "0190a000-0000-7000-8000-00000000000a" {
			t.Errorf("key = %+v, %v; want the first run", k, err)
		}
		return nil
	})
}
