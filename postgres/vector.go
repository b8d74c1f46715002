package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/umamiai/umami"
)

// pgvector's HNSW indexes take vectors of up to 2,000 dimensions, and
// half-precision vectors (halfvec) of up to 4,000.
const (
	maxVectorIndexDims  = 2000
	maxHalfvecIndexDims = 4000
)

// MaxEmbeddingDims is the longest embedding the knowledge tables index.
const MaxEmbeddingDims = maxHalfvecIndexDims

// embeddingIndexLock is the advisory lock key ("umami" + "v") held while
// an embedding index is built: nodes asking for the same dimension at once
// build it once, and builds for different dimensions run one at a time
// (two concurrent builds on one table wait for each other's transaction).
const embeddingIndexLock int64 = 0x756d616d6976

// embeddingExpr is the expression over chunks.embedding that the HNSW index
// of dims dimensions covers, with its cosine operator class. A search for a
// query vector of dims dimensions filters on embedding_dims = dims and
// orders by embeddingExpr(dims) <=> $query::<same type>, so that it uses
// that index.
func embeddingExpr(dims int) (expr, opclass string, err error) {
	switch {
	case dims < 1 || dims > MaxEmbeddingDims:
		return "", "", umami.Errorf(umami.EInvalid,
			"embedding dimensions must be between 1 and %d, got %d", MaxEmbeddingDims, dims)
	case dims <= maxVectorIndexDims:
		return fmt.Sprintf("(embedding::vector(%d))", dims), "vector_cosine_ops", nil
	default:
		return fmt.Sprintf("(embedding::halfvec(%d))", dims), "halfvec_cosine_ops", nil
	}
}

// EnsureEmbeddingIndex makes sure that chunks whose embedding has dims
// dimensions are indexed for cosine search by an HNSW index, and builds
// that index if it is missing or was left invalid by an interrupted build.
// The index is built CONCURRENTLY, so writes to chunks go on meanwhile; it
// covers only rows of that dimension, so a new dimension's index starts
// empty whatever the table holds. It is safe to call from many nodes at
// once, and cheap when the index exists.
func (db *DB) EnsureEmbeddingIndex(ctx context.Context, dims int) error {
	expr, opclass, err := embeddingExpr(dims)
	if err != nil {
		return err
	}
	name := fmt.Sprintf("chunks_embedding_%d", dims)
	create := fmt.Sprintf(`CREATE INDEX CONCURRENTLY %s ON chunks USING hnsw (%s %s) WHERE embedding_dims = %d`,
		pgx.Identifier{name}.Sanitize(), expr, opclass, dims)
	if err := db.ensureIndex(ctx, name, create); err != nil {
		return translate(fmt.Errorf("embedding index %s: %w", name, err))
	}
	return nil
}

// ensureIndex runs create unless index name exists and is valid, dropping
// an invalid one first, under a session advisory lock (CREATE INDEX
// CONCURRENTLY cannot run in a transaction, so neither can its lock).
func (db *DB) ensureIndex(ctx context.Context, name, create string) error {
	if exists, valid, err := indexState(ctx, db.pool, name); err != nil || (exists && valid) {
		return err
	}
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if err := tryLock(ctx, conn, embeddingIndexLock); err != nil {
		return err
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, embeddingIndexLock)
	exists, valid, err := indexState(ctx, conn, name) // again: another node may have built it meanwhile
	switch {
	case err != nil || valid:
		return err
	case exists: // left invalid by an interrupted build
		if _, err := conn.Exec(ctx, `DROP INDEX CONCURRENTLY IF EXISTS `+pgx.Identifier{name}.Sanitize()); err != nil {
			return fmt.Errorf("drop invalid index: %w", err)
		}
	}
	_, err = conn.Exec(ctx, create)
	return err
}

// indexState reports whether index name exists and whether it is valid.
func indexState(ctx context.Context, q querier, name string) (exists, valid bool, err error) {
	err = q.QueryRow(ctx, `SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)`, name).Scan(&valid)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, false, nil
	}
	return err == nil, valid, err
}

// tryLock takes the session advisory lock key on conn, polling for it
// rather than waiting in pg_advisory_lock: CREATE INDEX CONCURRENTLY waits
// for every open transaction to end, a session blocked in pg_advisory_lock
// is one, and the two would deadlock.
func tryLock(ctx context.Context, conn *pgxpool.Conn, key int64) error {
	for {
		var ok bool
		if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&ok); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
