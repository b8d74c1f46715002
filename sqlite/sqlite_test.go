package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"

	"github.com/umamiai/umami"
	"github.com/umamiai/umami/sqlite"
	"github.com/umamiai/umami/storetest"
)

func open(t *testing.T) umami.Store {
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "umami.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		Open: open,
		JobState: func(t *testing.T, s umami.Store, jobID int64) string {
			var state string
			err := s.(*sqlite.DB).Writer().QueryRow(`SELECT state FROM river_job WHERE id = ?`, jobID).Scan(&state)
			if errors.Is(err, sql.ErrNoRows) {
				return ""
			} else if err != nil {
				t.Fatal(err)
			}
			return state
		},
		SetJobState: func(t *testing.T, s umami.Store, jobID int64, state string) {
			if _, err := s.(*sqlite.DB).Writer().Exec(`UPDATE river_job SET state = ?, finalized_at = CURRENT_TIMESTAMP WHERE id = ?`, state, jobID); err != nil {
				t.Fatal(err)
			}
		},
	})
}

func TestMigrationsAreIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "umami.db")
	for range 2 {
		db, err := sqlite.Open(context.Background(), path)
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		db.Close()
	}
}
