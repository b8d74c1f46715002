-- Embeddings of any dimension in one column, indexed per dimension in use.
-- A vector(384) column tied every deployment to one embedding model; models
-- differ (384 for small local models, 768, 1024, 1536, 3072 for OpenAI's
-- large one). The column is now an untyped vector, embedding_dims says how
-- long each one is, and DB.EnsureEmbeddingIndex builds one partial HNSW
-- index per dimension, over the expression embedding::vector(N) (halfvec(N)
-- above 2,000 dimensions, pgvector's HNSW limit for vector), as pgvector's
-- documentation recommends for mixed dimensions. Searches filter on
-- embedding_dims = N and order by the same expression, so that the planner
-- uses that index.
DROP INDEX IF EXISTS chunks_embedding;
ALTER TABLE chunks ALTER COLUMN embedding TYPE vector;
ALTER TABLE chunks ADD COLUMN embedding_dims integer
    GENERATED ALWAYS AS (vector_dims(embedding)) STORED;
