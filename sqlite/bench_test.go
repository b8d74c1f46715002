package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	_ "modernc.org/sqlite" // the plain driver, for the uncached comparison

	"github.com/umamiai/umami"
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

// BenchmarkCreateRuns measures the write transaction of run creations (the
// River jobs and the run rows) with one run per transaction and with 16, as
// the platform's batches write them under load; ns/op is per run.
func BenchmarkCreateRuns(b *testing.B) {
	db, tmpl := benchStore(b)
	ctx := context.Background()
	for _, size := range []int{1, 16} {
		b.Run(fmt.Sprint("batch=", size), func(b *testing.B) {
			for b.Loop() {
				runs := make([]*umami.Run, size)
				args := make([]umami.RunJobArgs, size)
				for i := range runs {
					r := *tmpl
					r.ID = uuid.Must(uuid.NewV7()).String()
					runs[i], args[i] = &r, umami.RunJobArgs{RunID: r.ID}
				}
				err := db.Update(ctx, func(tx umami.Tx) error {
					jobIDs, err := tx.EnqueueRuns(ctx, args...)
					if err != nil {
						return err
					}
					for i, r := range runs {
						r.JobID = jobIDs[i]
					}
					return tx.CreateRuns(ctx, runs...)
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*size), "ns/run")
		})
	}
}
