-- Core platform tables. Times are integer microseconds since the Unix epoch, UTC.
CREATE TABLE orgs (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES orgs(id),
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES orgs(id),
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    hash         TEXT NOT NULL UNIQUE,
    scopes       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    expires_at   INTEGER,
    revoked_at   INTEGER
);
CREATE INDEX api_keys_org ON api_keys (org_id, id);

CREATE TABLE agents (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs(id),
    name        TEXT NOT NULL,
    description TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX agents_org ON agents (org_id, id);

CREATE TABLE agent_versions (
    id                TEXT PRIMARY KEY,
    agent_id          TEXT NOT NULL REFERENCES agents(id),
    org_id            TEXT NOT NULL REFERENCES orgs(id),
    number            INTEGER NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('draft', 'published')),
    model             TEXT NOT NULL,
    instructions      TEXT NOT NULL,
    temperature       REAL,
    max_output_tokens INTEGER,
    tools             TEXT NOT NULL,
    metadata          TEXT NOT NULL,
    created_at        INTEGER NOT NULL,
    published_at      INTEGER,
    UNIQUE (agent_id, number)
);
CREATE INDEX agent_versions_agent ON agent_versions (agent_id, id);

CREATE TABLE runs (
    id               TEXT PRIMARY KEY,
    org_id           TEXT NOT NULL REFERENCES orgs(id),
    agent_id         TEXT NOT NULL REFERENCES agents(id),
    agent_version_id TEXT NOT NULL REFERENCES agent_versions(id),
    status           TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'canceled')),
    input            TEXT NOT NULL,
    output           TEXT,
    error_code       TEXT,
    error_message    TEXT,
    input_tokens     INTEGER NOT NULL DEFAULT 0,
    output_tokens    INTEGER NOT NULL DEFAULT 0,
    metadata         TEXT NOT NULL,
    job_id           INTEGER NOT NULL DEFAULT 0,
    attempt          INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    started_at       INTEGER,
    completed_at     INTEGER
);
CREATE INDEX runs_org ON runs (org_id, id);
CREATE INDEX runs_org_status ON runs (org_id, status, id);
CREATE INDEX runs_org_version ON runs (org_id, agent_version_id, id);

CREATE TABLE run_steps (
    run_id        TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    idx           INTEGER NOT NULL,
    type          TEXT NOT NULL,
    name          TEXT NOT NULL,
    input         TEXT NOT NULL,
    output        TEXT NOT NULL,
    error_code    TEXT,
    error_message TEXT,
    input_tokens  INTEGER,
    output_tokens INTEGER,
    started_at    INTEGER NOT NULL,
    completed_at  INTEGER NOT NULL,
    PRIMARY KEY (run_id, idx)
);

CREATE TABLE idempotency_keys (
    org_id       TEXT NOT NULL REFERENCES orgs(id),
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    run_id       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (org_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
