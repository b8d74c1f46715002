package postgres_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/umamiai/umami"
	"github.com/umamiai/umami/postgres"
)

// vec is a dims-long vector literal, all zeros but 1 at position hot.
func vec(dims, hot int) string {
	v := make([]string, dims)
	for i := range v {
		v[i] = "0"
	}
	v[hot] = "1"
	return "[" + strings.Join(v, ",") + "]"
}

// indexDefs returns the definitions of the chunks table's indexes.
func indexDefs(t *testing.T, db *postgres.DB) string {
	t.Helper()
	rows, _ := db.Pool().Query(ctx, `SELECT indexdef FROM pg_indexes WHERE tablename = 'chunks' ORDER BY indexname`)
	defs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(defs, "\n")
}

// Chunks take embeddings of any dimension in one column; keyword search
// goes through the GIN index of the generated tsvector.
func TestChunksTakeAnyDimension(t *testing.T) {
	db := open(t).(*postgres.DB)
	if defs := indexDefs(t, db); !strings.Contains(defs, "USING gin (tsv)") {
		t.Errorf("chunks lack the GIN index on tsv:\n%s", defs)
	}
	org := "0190a000-0000-7000-8000-000000000001"
	if _, err := db.Pool().Exec(ctx, `INSERT INTO orgs (id, name, created_at) VALUES ($1, 'o', now())`, org); err != nil {
		t.Fatal(err)
	}
	for _, dims := range []int{384, 1536, 3072} {
		if _, err := db.Pool().Exec(ctx, `INSERT INTO chunks (id, org_id, content, embedding)
			VALUES (gen_random_uuid(), $1, $2, $3::vector)`, org, fmt.Sprintf("Umami is the fifth taste, %d", dims), vec(dims, 0)); err != nil {
			t.Fatalf("insert a %d-dimension chunk: %v", dims, err)
		}
	}
	rows, _ := db.Pool().Query(ctx, `SELECT embedding_dims FROM chunks
		WHERE tsv @@ plainto_tsquery('simple', 'taste') ORDER BY embedding_dims`)
	got, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil || fmt.Sprint(got) != "[384 1536 3072]" {
		t.Errorf("keyword match: embedding_dims %v, %v; want [384 1536 3072]", got, err)
	}
}

// EnsureEmbeddingIndex builds one HNSW index per dimension, once, even when
// nodes ask at the same time; searches of that dimension use it.
func TestEnsureEmbeddingIndex(t *testing.T) {
	db := open(t).(*postgres.DB)
	org := "0190a000-0000-7000-8000-000000000002"
	if _, err := db.Pool().Exec(ctx, `INSERT INTO orgs (id, name, created_at) VALUES ($1, 'o', now())`, org); err != nil {
		t.Fatal(err)
	}
	// Rows of another dimension are in the table before the index is built.
	for hot := range 50 {
		for _, dims := range []int{384, 768} {
			if _, err := db.Pool().Exec(ctx, `INSERT INTO chunks (id, org_id, content, embedding)
				VALUES (gen_random_uuid(), $1, $2, $3::vector)`, org, fmt.Sprint(hot), vec(dims, hot)); err != nil {
				t.Fatal(err)
			}
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { errs[i] = db.EnsureEmbeddingIndex(ctx, 384) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("EnsureEmbeddingIndex(384) #%d: %v", i, err)
		}
	}
	if err := db.EnsureEmbeddingIndex(ctx, 3072); err != nil {
		t.Fatal(err)
	}
	defs := indexDefs(t, db)
	for _, want := range []string{
		"chunks_embedding_384 ON public.chunks USING hnsw (((embedding)::vector(384)) vector_cosine_ops) WHERE (embedding_dims = 384)",
		"chunks_embedding_3072 ON public.chunks USING hnsw (((embedding)::halfvec(3072)) halfvec_cosine_ops) WHERE (embedding_dims = 3072)",
	} {
		if !strings.Contains(defs, want) {
			t.Errorf("chunks indexes lack\n%s\nhave\n%s", want, defs)
		}
	}
	if n := strings.Count(defs, "hnsw"); n != 2 {
		t.Errorf("%d HNSW indexes, want 2:\n%s", n, defs)
	}

	tx, err := db.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SET LOCAL enable_seqscan = off`); err != nil {
		t.Fatal(err)
	}
	const search = `SELECT content FROM chunks WHERE embedding_dims = 384
		ORDER BY embedding::vector(384) <=> $1::vector(384) LIMIT 1`
	var content string
	if err := tx.QueryRow(ctx, search, vec(384, 7)).Scan(&content); err != nil || content != "7" {
		t.Errorf("nearest 384-dimension chunk = %q, %v; want \"7\"", content, err)
	}
	rows, _ := tx.Query(ctx, "EXPLAIN "+search, vec(384, 7))
	plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || !strings.Contains(strings.Join(plan, "\n"), "Index Scan using chunks_embedding_384") {
		t.Errorf("the search does not use the HNSW index (%v):\n%s", err, strings.Join(plan, "\n"))
	}
}

// An index left invalid by an interrupted build is built again.
func TestEnsureEmbeddingIndexRepairsInvalid(t *testing.T) {
	db := open(t).(*postgres.DB)
	if err := db.EnsureEmbeddingIndex(ctx, 8); err != nil {
		t.Fatal(err)
	}
	// What a build killed halfway leaves behind (the test role is a superuser).
	if _, err := db.Pool().Exec(ctx, `UPDATE pg_index SET indisvalid = false
		WHERE indexrelid = 'chunks_embedding_8'::regclass`); err != nil {
		t.Fatal(err)
	}
	if err := db.EnsureEmbeddingIndex(ctx, 8); err != nil {
		t.Fatal(err)
	}
	var valid bool
	if err := db.Pool().QueryRow(ctx, `SELECT indisvalid FROM pg_index
		WHERE indexrelid = 'chunks_embedding_8'::regclass`).Scan(&valid); err != nil || !valid {
		t.Errorf("chunks_embedding_8 valid = %v, %v; want rebuilt and valid", valid, err)
	}
}

func TestEnsureEmbeddingIndexLimits(t *testing.T) {
	db := open(t).(*postgres.DB)
	for _, dims := range []int{0, -1, postgres.MaxEmbeddingDims + 1} {
		err := db.EnsureEmbeddingIndex(ctx, dims)
		if umami.ErrorCode(err) != umami.EInvalid || !strings.Contains(err.Error(), fmt.Sprint(dims)) {
			t.Errorf("EnsureEmbeddingIndex(%d) = %v; want invalid_request naming %d", dims, err, dims)
		}
	}
	if err := db.EnsureEmbeddingIndex(ctx, postgres.MaxEmbeddingDims); err != nil {
		t.Errorf("EnsureEmbeddingIndex(%d) = %v", postgres.MaxEmbeddingDims, err)
	}
}
