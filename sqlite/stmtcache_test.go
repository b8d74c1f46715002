package sqlite

import (
	"context"
	"path/filepath"
	"testing"
)

// A cached statement whose rows are still open must not be reused: a second
// query with the same text runs uncached and both results stay intact.
func TestStmtCacheNestedQueries(t *testing.T) {
	db := openDB("file:" + filepath.Join(t.TempDir(), "t.db"))
	defer db.Close()
	db.SetMaxOpenConns(1)
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (n INTEGER)`); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		if _, err := db.ExecContext(ctx, `INSERT INTO t (n) VALUES (?)`, i); err != nil {
			t.Fatal(err)
		}
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	const q = `SELECT n FROM t WHERE n >= ? ORDER BY n`
	outer, err := tx.QueryContext(ctx, q, 1)
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for outer.Next() {
		var n, inner int
		if err := outer.Scan(&n); err != nil {
			t.Fatal(err)
		}
		if err := tx.QueryRowContext(ctx, q, 3).Scan(&inner); err != nil || inner != 3 {
			t.Fatalf("inner query = %d, %v", inner, err)
		}
		got = append(got, n)
	}
	if err := outer.Close(); err != nil || len(got) != 3 || got[2] != 3 {
		t.Fatalf("outer rows = %v, %v", got, err)
	}
	// Reused after release, with other arguments.
	var n int
	if err := tx.QueryRowContext(ctx, q, 2).Scan(&n); err != nil || n != 2 {
		t.Fatalf("reused statement = %d, %v", n, err)
	}
	// A broken query still reports its error.
	if _, err := tx.ExecContext(ctx, `INSERT INTO nope VALUES (?)`, 1); err == nil {
		t.Fatal("insert into a missing table succeeded")
	}
}
