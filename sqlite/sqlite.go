// Package sqlite implements umami.Store on an embedded SQLite file through
// modernc.org/sqlite (pure Go). One single-connection writer pool serves
// every write transaction and River; a separate pool serves reads.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/umamiai/umami"
	"github.com/umamiai/umami/queue"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is the SQLite store.
type DB struct {
	path     string
	writer   *sql.DB
	reader   *sql.DB
	inserter *queue.Inserter[*sql.Tx]
}

var _ umami.Store = (*DB)(nil)

// Open opens (creating if needed) the database file at path and applies
// pending migrations, River's included.
func Open(ctx context.Context, path string) (*DB, error) {
	if err := ensureDir(path); err != nil {
		return nil, err
	}
	writer := openDB(dsn(path, false))
	writer.SetMaxOpenConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)
	reader := openDB(dsn(path, true))
	reader.SetMaxOpenConns(max(4, 2*runtime.GOMAXPROCS(0)))
	reader.SetMaxIdleConns(max(4, 2*runtime.GOMAXPROCS(0)))
	db := &DB{path: path, writer: writer, reader: reader}
	var err error
	if err = db.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if db.inserter, err = queue.NewInserter(db.RiverDriver()); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// dsn sets busy_timeout first (so that every later pragma already waits for
// locks), then WAL, NORMAL sync and foreign keys. Writers take the write lock
// at BEGIN (IMMEDIATE), so a transaction never fails half-way on upgrade.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Add("_pragma", "cache_size(-32000)")   // 32 MB page cache per connection
	q.Add("_pragma", "mmap_size(268435456)") // read through a 256 MB map: fewer syscalls
	q.Add("_pragma", "temp_store(MEMORY)")
	if readOnly {
		q.Add("_pragma", "query_only(ON)")
	} else {
		q.Set("_txlock", "immediate")
	}
	return "file:" + path + "?" + q.Encode()
}

// RiverDriver returns the River driver over the writer pool, for the
// workers' client.
func (db *DB) RiverDriver() riverdriver.Driver[*sql.Tx] { return riversqlite.New(db.writer) }

// Close closes both pools.
func (db *DB) Close() error {
	return errors.Join(db.reader.Close(), db.writer.Close())
}

// Ping checks that the file can be read.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.reader.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("ping sqlite: %w", err)
	}
	return nil
}

// Update runs fn in a write transaction on the single writer connection.
func (db *DB) Update(ctx context.Context, fn func(umami.Tx) error) error {
	sqlTx, err := db.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer sqlTx.Rollback()
	if err := fn(&Tx{tx: sqlTx, db: db}); err != nil {
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Exec runs fn in a write transaction: on the single in-process writer a
// transaction costs no round trips.
func (db *DB) Exec(ctx context.Context, fn func(umami.Tx) error) error { return db.Update(ctx, fn) }

// View runs fn on the reader pool, each statement in its own implicit read
// transaction: a BEGIN/COMMIT pair around them cost a fifth of a GET.
func (db *DB) View(ctx context.Context, fn func(umami.Tx) error) error {
	return fn(&Tx{tx: db.reader, db: db})
}

// migrate applies the embedded migrations not yet recorded, each in its own
// transaction, then River's.
func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.writer.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS umami_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("create migrations table: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		if err := db.migrateFile(ctx, name); err != nil {
			return err
		}
	}
	migrator, err := rivermigrate.New(db.RiverDriver(), nil)
	if err != nil {
		return fmt.Errorf("river migrator: %w", err)
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("river migrations: %w", err)
	}
	return nil
}

func (db *DB) migrateFile(ctx context.Context, name string) error {
	base := filepath.Base(name)
	version, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
	if err != nil {
		return fmt.Errorf("migration %s: name must start with a number", base)
	}
	tx, err := db.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migration %s: %w", base, err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM umami_migrations WHERE version = ?`, version).Scan(&n); err != nil {
		return fmt.Errorf("migration %s: %w", base, err)
	} else if n > 0 {
		return nil
	}
	body, err := migrations.ReadFile(name)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, string(body)); err != nil {
		return fmt.Errorf("migration %s: %w", base, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO umami_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
		version, base, time.Now().UnixMicro()); err != nil {
		return fmt.Errorf("migration %s: %w", base, err)
	}
	return tx.Commit()
}

// Writer exposes the writer pool to tests that inspect River's tables.
func (db *DB) Writer() *sql.DB { return db.writer }

// ensureDir creates the directory that holds the database file, private to
// the owner: the file holds key hashes and every run's input and output.
func ensureDir(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create data dir %s: %w", dir, err)
	}
	return nil
}
