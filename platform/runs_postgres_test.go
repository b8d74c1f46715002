package platform_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/umamiai/umami"
	"github.com/umamiai/umami/internal/pgtest"
	"github.com/umamiai/umami/platform"
	"github.com/umamiai/umami/postgres"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// pgSetup returns a platform on a fresh PostgreSQL database, with a demo.
func pgSetup(t *testing.T, cfg platform.Config) (*postgres.DB, *platform.Platform, *platform.Demo) {
	t.Helper()
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cfg.Store, cfg.Providers = db, []string{"test"}
	p := platform.New(cfg)
	demo, err := p.CreateDemo(ctx, "test/echo")
	if err != nil {
		t.Fatal(err)
	}
	return db, p, demo
}

func createRun(t *testing.T, p *platform.Platform, demo *platform.Demo) *umami.Run {
	t.Helper()
	run, _, err := p.CreateRun(context.Background(), demo.Key.Key.Principal(),
		platform.CreateRunInput{OrgID: demo.Org.ID, AgentVersionID: demo.Version.ID, Input: "x"})
	if err != nil {
		t.Fatal(err)
	}
	return run
}

// lockRows begins a transaction that runs query (one taking row locks)
// and is rolled back at test end, or by the returned function.
func lockRows(t *testing.T, db *postgres.DB, query string, args ...any) (release func()) {
	t.Helper()
	ctx := context.Background()
	tx, err := db.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, query, args...); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release = func() { once.Do(func() { tx.Rollback(ctx) }) }
	t.Cleanup(release)
	return release
}

// waitForLockWaiters waits until n sessions wait for a row lock.
func waitForLockWaiters(t *testing.T, db *postgres.DB, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		var waiting int
		if err := db.Pool().QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions wait for a lock; want %d", waiting, n)
		}
	}
}

// A cancel that reads a running run while a worker's finish commits must
// answer from what is stored: 409 run_not_cancelable, not "canceled".
func TestCancelRacingAFinish(t *testing.T) {
	ctx := context.Background()
	db, p, demo := pgSetup(t, platform.Config{})
	run := createRun(t, p, demo)
	if _, _, err := p.StartRun(ctx, run.ID); err != nil {
		t.Fatal(err)
	}
	// The finish, written but not committed: the cancel reads the run as
	// running, then waits for the row.
	tx, err := db.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `UPDATE runs SET status = 'succeeded', output = 'done', completed_at = now() WHERE id = $1`, run.ID); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 1)
	go func() {
		_, err := p.CancelRun(ctx, demo.Key.Key.Principal(), run.ID)
		errs <- err
	}()
	waitForLockWaiters(t, db, 1)
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-errs; umami.ErrorCode(err) != umami.ERunNotCancelable {
		t.Errorf("CancelRun = %v; want run_not_cancelable", err)
	}
	if got, err := p.GetRun(ctx, demo.Key.Key.Principal(), run.ID); err != nil || got.Status != umami.RunSucceeded {
		t.Errorf("stored run = %v, %v; want succeeded", got, err)
	}
}

// A batch the database does not write in time fails as service_unavailable
// (503), not as an internal error; the next batch goes through.
func TestStalledBatchIsUnavailable(t *testing.T) {
	ctx := context.Background()
	db, p, demo := pgSetup(t, platform.Config{BatchTimeout: 300 * time.Millisecond})
	stuck, free := createRun(t, p, demo), createRun(t, p, demo)
	release := lockRows(t, db, `SELECT 1 FROM runs WHERE id = $1 FOR UPDATE`, stuck.ID)
	start := time.Now()
	_, _, err := p.StartRun(ctx, stuck.ID)
	if umami.ErrorCode(err) != umami.EUnavailable {
		t.Fatalf("StartRun of a locked run = %v (code %q); want service_unavailable", err, umami.ErrorCode(err))
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("StartRun failed after %v; want about the 300ms batch timeout", d)
	}
	if r, _, err := p.StartRun(ctx, free.ID); err != nil || r.Status != umami.RunRunning {
		t.Fatalf("StartRun of another run = %v, %v", r, err)
	}
	release()
	if r, _, err := p.StartRun(ctx, stuck.ID); err != nil || r.Attempt != 1 {
		t.Fatalf("StartRun once the lock is gone = %v, %v; want attempt 1 (the stalled one wrote nothing)", r, err)
	}
}

// Creates beyond MaxPendingCreates waiting on one node are refused at once
// with service_unavailable; the others are all written once the database
// answers again.
func TestTooManyPendingCreatesAreRefused(t *testing.T) {
	ctx := context.Background()
	db, p, demo := pgSetup(t, platform.Config{BatchTimeout: time.Minute})
	// New runs reference the version: locking its row holds every insert.
	release := lockRows(t, db, `SELECT 1 FROM agent_versions WHERE id = $1 FOR UPDATE`, demo.Version.ID)
	pr := demo.Key.Key.Principal()
	in := platform.CreateRunInput{OrgID: demo.Org.ID, AgentVersionID: demo.Version.ID, Input: "x"}
	held := make(chan error, 1)
	go func() { _, _, err := p.CreateRun(ctx, pr, in); held <- err }()
	waitForLockWaiters(t, db, 1) // its batch is being written: the next creates wait
	const extra = 10
	errs := make(chan error, platform.MaxPendingCreates+extra)
	for range platform.MaxPendingCreates + extra {
		go func() { _, _, err := p.CreateRun(ctx, pr, in); errs <- err }()
	}
	// The refused return at once, the others only after the release.
	for range extra {
		select {
		case err := <-errs:
			if umami.ErrorCode(err) != umami.EUnavailable {
				t.Fatalf("create beyond %d pending = %v; want service_unavailable", platform.MaxPendingCreates, err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("no create was refused")
		}
	}
	release()
	for range platform.MaxPendingCreates {
		if err := <-errs; err != nil {
			t.Fatalf("a pending create failed: %v", err)
		}
	}
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.Pool().QueryRow(ctx, `SELECT count(*) FROM runs`).Scan(&n); err != nil || n != platform.MaxPendingCreates+1 {
		t.Errorf("%d runs stored (%v); want %d", n, err, platform.MaxPendingCreates+1)
	}
}

// NUL from a model or a tool, which PostgreSQL cannot store, is stored as
// U+FFFD instead of failing the finish (and making River run it again).
func TestFinishStoresNULFromTheModel(t *testing.T) {
	ctx := context.Background()
	_, p, demo := pgSetup(t, platform.Config{})
	run := createRun(t, p, demo)
	started, _, err := p.StartRun(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	done, err := p.FinishRun(ctx, started, umami.Outcome{Output: "a\x00b", Steps: []umami.RunStep{{
		Type: umami.StepToolCall, Name: "current_time", Input: "{\x00}", Output: "\x00",
		Error: &umami.RunError{Code: "tool_error", Message: "bad \x00"}, StartedAt: now, CompletedAt: now}}})
	if err != nil || !done {
		t.Fatalf("FinishRun = %v, %v; want done", done, err)
	}
	pr := demo.Key.Key.Principal()
	got, err := p.GetRun(ctx, pr, run.ID)
	if err != nil || got.Output == nil || *got.Output != "a\uFFFDb" {
		t.Errorf("output = %v, %v; want a\\uFFFDb", got.Output, err)
	}
	steps, err := p.ListRunSteps(ctx, pr, run.ID)
	if err != nil || len(steps) != 1 || steps[0].Input != "{\uFFFD}" || steps[0].Output != "\uFFFD" ||
		steps[0].Error == nil || steps[0].Error.Message != "bad \uFFFD" {
		t.Errorf("steps = %+v, %v; want NUL stored as U+FFFD", steps, err)
	}
}
