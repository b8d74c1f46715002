-- Core platform tables, as in the SQLite store, with native types: uuid ids,
-- timestamptz times (microseconds), jsonb documents and text[] scopes.
-- pgvector must be installed on the server (scripts/install-pgvector.sh);
-- creating the extension needs a superuser once per database.
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE orgs (
    id         uuid PRIMARY KEY,
    name       text NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE TABLE users (
    id            uuid PRIMARY KEY,
    org_id        uuid NOT NULL REFERENCES orgs(id),
    email         text NOT NULL UNIQUE,
    password_hash text NOT NULL,
    role          text NOT NULL,
    created_at    timestamptz NOT NULL
);
CREATE INDEX users_org ON users (org_id);

CREATE TABLE api_keys (
    id           uuid PRIMARY KEY,
    org_id       uuid NOT NULL REFERENCES orgs(id),
    name         text NOT NULL,
    prefix       text NOT NULL,
    hash         text NOT NULL UNIQUE,
    scopes       text[] NOT NULL,
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz,
    expires_at   timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX api_keys_org ON api_keys (org_id, id);

CREATE TABLE agents (
    id          uuid PRIMARY KEY,
    org_id      uuid NOT NULL REFERENCES orgs(id),
    name        text NOT NULL,
    description text NOT NULL,
    created_at  timestamptz NOT NULL
);
CREATE INDEX agents_org ON agents (org_id, id);

CREATE TABLE agent_versions (
    id                uuid PRIMARY KEY,
    agent_id          uuid NOT NULL REFERENCES agents(id),
    org_id            uuid NOT NULL REFERENCES orgs(id),
    number            integer NOT NULL,
    status            text NOT NULL CHECK (status IN ('draft', 'published')),
    model             text NOT NULL,
    instructions      text NOT NULL,
    temperature       double precision,
    max_output_tokens integer,
    tools             jsonb NOT NULL,
    metadata          jsonb NOT NULL,
    created_at        timestamptz NOT NULL,
    published_at      timestamptz,
    UNIQUE (agent_id, number)
);
CREATE INDEX agent_versions_agent ON agent_versions (agent_id, id);
CREATE INDEX agent_versions_org ON agent_versions (org_id, id);

CREATE TABLE runs (
    id               uuid PRIMARY KEY,
    org_id           uuid NOT NULL REFERENCES orgs(id),
    agent_id         uuid NOT NULL REFERENCES agents(id),
    agent_version_id uuid NOT NULL REFERENCES agent_versions(id),
    status           text NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'canceled')),
    input            text NOT NULL,
    output           text,
    error_code       text,
    error_message    text,
    input_tokens     integer NOT NULL DEFAULT 0,
    output_tokens    integer NOT NULL DEFAULT 0,
    metadata         jsonb NOT NULL,
    job_id           bigint NOT NULL DEFAULT 0,
    attempt          integer NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL,
    started_at       timestamptz,
    completed_at     timestamptz
);
CREATE INDEX runs_org ON runs (org_id, id);
CREATE INDEX runs_org_status ON runs (org_id, status, id);
CREATE INDEX runs_org_version ON runs (org_id, agent_version_id, id);
-- The orphan sweep reads unfinished runs only.
CREATE INDEX runs_unfinished ON runs (id) WHERE status IN ('queued', 'running');

CREATE TABLE run_steps (
    run_id        uuid NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    idx           integer NOT NULL,
    type          text NOT NULL,
    name          text NOT NULL,
    input         text NOT NULL,
    output        text NOT NULL,
    error_code    text,
    error_message text,
    input_tokens  integer,
    output_tokens integer,
    started_at    timestamptz NOT NULL,
    completed_at  timestamptz NOT NULL,
    PRIMARY KEY (run_id, idx)
);

CREATE TABLE idempotency_keys (
    org_id       uuid NOT NULL REFERENCES orgs(id),
    key          text NOT NULL,
    request_hash text NOT NULL,
    run_id       uuid NOT NULL,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (org_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- Knowledge base, ready for the knowledge package: chunk text with a
-- full-text vector (GIN) and an embedding (HNSW, cosine distance). Its
-- documents table and the Tx methods arrive with that package.
CREATE TABLE chunks (
    id          uuid PRIMARY KEY,
    org_id      uuid NOT NULL REFERENCES orgs(id),
    document_id uuid,
    idx         integer NOT NULL DEFAULT 0,
    content     text NOT NULL,
    embedding   vector(384),
    tsv         tsvector GENERATED ALWAYS AS (to_tsvector('simple', content)) STORED,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX chunks_org ON chunks (org_id);
CREATE INDEX chunks_document ON chunks (document_id, idx);
CREATE INDEX chunks_tsv ON chunks USING gin (tsv);
CREATE INDEX chunks_embedding ON chunks USING hnsw (embedding vector_cosine_ops);
