// Package postgres implements umami.Store on PostgreSQL through a pgx pool:
// the scale-out deployment, where every node is stateless and shares this
// database. Embedded migrations (with pgvector and a tsvector/GIN plus
// HNSW-ready chunks table) and River's run under an advisory lock, so nodes
// may start together. Jobs are enqueued with River's pgx driver inside the
// store's transactions.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/umamiai/umami"
	"github.com/umamiai/umami/queue"
)

// Timeouts of connecting: a node must fail fast, with a clear message, when
// the database is down or unreachable.
const (
	connectTimeout = 5 * time.Second
	pingTimeout    = 10 * time.Second
)

// DB is the PostgreSQL store.
type DB struct {
	pool     *pgxpool.Pool // writes, and River
	read     *pgxpool.Pool // View: sessions with default_transaction_read_only
	addr     string        // host:port, for messages
	inserter *queue.Inserter[pgx.Tx]
}

var _ umami.Store = (*DB)(nil)

// Open connects to the database at url (postgres://user:password@host:5432/db
// or a keyword/value string), checks that it answers, and applies pending
// migrations, River's included. It opens two pools, one for writes and one
// whose sessions are read-only for View, each of up to max(16, 4×CPUs)
// connections unless the URL sets pool_max_conns; connections are opened
// as they are needed.
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := parseConfig(url)
	if err != nil {
		return nil, err
	}
	readCfg := cfg.Copy()
	if readCfg.ConnConfig.RuntimeParams == nil {
		readCfg.ConnConfig.RuntimeParams = map[string]string{}
	}
	readCfg.ConnConfig.RuntimeParams["default_transaction_read_only"] = "on"
	db := &DB{addr: addrOf(cfg.ConnConfig)}
	if db.pool, err = pgxpool.NewWithConfig(ctx, cfg); err == nil {
		db.read, err = pgxpool.NewWithConfig(ctx, readCfg)
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres pool: %s", redact(err.Error(), url))
	}
	if err := db.init(ctx, cfg.ConnConfig); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// init checks the connection, migrates and prepares the job inserter.
func (db *DB) init(ctx context.Context, conn *pgx.ConnConfig) error {
	pingCtx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if err := db.pool.Ping(pingCtx); err != nil {
		return reachError(db.addr, err)
	}
	if err := migrate(ctx, conn, db); err != nil {
		return err
	}
	var err error
	db.inserter, err = queue.NewInserter(db.RiverDriver())
	return err
}

// parseConfig parses url into a pool configuration with this package's
// defaults, and never echoes a password in its error.
func parseConfig(url string) (*pgxpool.Config, error) {
	if strings.TrimSpace(url) == "" {
		return nil, errors.New("invalid PostgreSQL URL: empty (want postgres://user:password@host:5432/dbname)")
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("invalid PostgreSQL URL (want postgres://user:password@host:5432/dbname): %s",
			redact(parseReason(err), url))
	}
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = int32(max(16, 4*runtime.NumCPU()))
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = connectTimeout
	}
	return cfg, nil
}

// RiverDriver returns River's pgx driver over the store's pool, for the
// workers' client.
func (db *DB) RiverDriver() riverdriver.Driver[pgx.Tx] { return riverpgxv5.New(db.pool) }

// Pool exposes the connection pool to tests and tools that inspect River's
// tables or the knowledge tables directly.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// Close closes the pools, waiting for connections in use to be released.
func (db *DB) Close() error {
	for _, p := range []*pgxpool.Pool{db.pool, db.read} {
		if p != nil {
			p.Close()
		}
	}
	return nil
}

// Ping checks that the database answers, on both pools.
func (db *DB) Ping(ctx context.Context) error {
	return translate(errors.Join(db.pool.Ping(ctx), db.read.Ping(ctx)))
}

// Update runs fn in a read-committed transaction, committed when fn returns
// nil. Conditional writes (UpdateRun, PutIdempotencyKey) and row locks make
// the methods safe under concurrent transactions.
func (db *DB) Update(ctx context.Context, fn func(umami.Tx) error) error {
	tx, err := db.pool.BeginTx(ctx, pgx.TxOptions{})
	if err != nil {
		return translate(fmt.Errorf("begin: %w", err))
	}
	defer rollback(ctx, tx)
	if err := fn(&Tx{q: tx, tx: tx, db: db}); err != nil {
		return translate(err)
	}
	if err := tx.Commit(ctx); err != nil {
		return translate(fmt.Errorf("commit: %w", err))
	}
	return nil
}

// rollback ends tx if Commit was not reached, even when ctx is already
// canceled, so that the connection goes back to the pool clean.
func rollback(ctx context.Context, tx pgx.Tx) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	tx.Rollback(ctx)
}

// Exec runs fn on the pool without a transaction: each of its calls is one
// autocommit statement, saving the BEGIN and COMMIT round trips.
func (db *DB) Exec(ctx context.Context, fn func(umami.Tx) error) error {
	return translate(fn(&Tx{q: db.pool, db: db}))
}

// View runs fn on the read-only pool without a transaction: each statement
// sees the latest committed data, as the Store contract allows, and
// PostgreSQL refuses any write.
func (db *DB) View(ctx context.Context, fn func(umami.Tx) error) error {
	err := fn(&Tx{q: db.read, db: db})
	if sqlState(err) == "25006" {
		// A write in View is a bug, not the demoted primary that 25006
		// means on the write pool: drop the code so that it is a 500.
		return fmt.Errorf("write attempted in a read-only View: %s", err)
	}
	return translate(err)
}
