package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	_ "modernc.org/sqlite" // the plain driver, for the uncached comparison

	"github.com/umamiai/umami"
	"github.com/umamiai/umami/storetest"
)

// benchStore opens a store with one org, agent, version and run.
func benchStore(b *testing.B) (*DB, *umami.Run) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(b.TempDir(), "umami.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	now := time.Now().UTC()
	id := func() string { return uuid.Must(uuid.NewV7()).String() }
	org := &umami.Org{ID: id(), Name: "o", CreatedAt: now}
	ag := &umami.Agent{ID: id(), OrgID: org.ID, Name: "a", CreatedAt: now}
	v := &umami.AgentVersion{ID: id(), AgentID: ag.ID, OrgID: org.ID, Status: umami.VersionPublished, Model: "test/echo",
		Tools: []string{}, Metadata: map[string]string{}, CreatedAt: now}
	run := &umami.Run{ID: id(), OrgID: org.ID, AgentID: ag.ID, AgentVersionID: v.ID, Status: umami.RunQueued,
		Input: "hello", Metadata: map[string]string{}, CreatedAt: now}
	err = db.Update(ctx, func(tx umami.Tx) error {
		if err := tx.CreateOrg(ctx, org); err != nil {
			return err
		}
		if err := tx.CreateAgent(ctx, ag); err != nil {
			return err
		}
		if err := tx.CreateAgentVersion(ctx, v); err != nil {
			return err
		}
		return tx.CreateRuns(ctx, run)
	})
	if err != nil {
		b.Fatal(err)
	}
	return db, run
}

// BenchmarkGetRun compares a run lookup through the statement-caching pool
// with the same query through modernc's plain driver on the same file.
func BenchmarkGetRun(b *testing.B) {
	db, run := benchStore(b)
	ctx := context.Background()
	b.Run("cached", func(b *testing.B) {
		for b.Loop() {
			if err := db.View(ctx, func(tx umami.Tx) error { _, err := tx.GetRun(ctx, run.OrgID, run.ID); return err }); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("uncached", func(b *testing.B) {
		plain, err := sql.Open("sqlite", dsn(db.path, true))
		if err != nil {
			b.Fatal(err)
		}
		defer plain.Close()
		tx := &Tx{tx: plain, db: db}
		for b.Loop() {
			if _, err := tx.GetRun(ctx, run.OrgID, run.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRunWrites measures a run's writes, one run at a time and 16
// together (storetest.BenchmarkRunWrites).
func BenchmarkRunWrites(b *testing.B) {
	db, _ := benchStore(b)
	storetest.BenchmarkRunWrites(b, db)
}
