package postgres

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/umamiai/umami"
)

// Tx is one PostgreSQL transaction, or for View the pool itself.
type Tx struct {
	q  querier
	tx pgx.Tx // nil in View
	db *DB
}

// querier is what pgx.Tx and *pgxpool.Pool have in common.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

var _ umami.Tx = (*Tx)(nil)

// writeTx returns the transaction River must enqueue in; View has none.
func (t *Tx) writeTx() (pgx.Tx, error) {
	if t.tx == nil {
		return nil, fmt.Errorf("enqueue outside a write transaction")
	}
	return t.tx, nil
}

// CreateOrg stores a new org.
func (t *Tx) CreateOrg(ctx context.Context, o *umami.Org) error {
	_, err := t.q.Exec(ctx, `INSERT INTO orgs (id, name, created_at) VALUES ($1, $2, $3)`, o.ID, o.Name, o.CreatedAt)
	return conflict(err, "org")
}

// GetOrg finds an org by id.
func (t *Tx) GetOrg(ctx context.Context, id string) (*umami.Org, error) {
	if !validID(id) {
		return nil, notFoundID("org", id)
	}
	o, err := scanOrg(t.q.QueryRow(ctx, `SELECT id, name, created_at FROM orgs WHERE id = $1`, id))
	return o, notFound(err, "org", id)
}

// ListOrgs lists every org, oldest first.
func (t *Tx) ListOrgs(ctx context.Context) ([]*umami.Org, error) {
	rows, err := t.q.Query(ctx, `SELECT id, name, created_at FROM orgs ORDER BY id`)
	return queryAll(rows, err, scanOrg)
}

func scanOrg(r rowScanner) (*umami.Org, error) {
	var o umami.Org
	if err := r.Scan(&o.ID, &o.Name, &o.CreatedAt); err != nil {
		return nil, err
	}
	o.CreatedAt = utc(o.CreatedAt)
	return &o, nil
}

// CreateUser stores a new user.
func (t *Tx) CreateUser(ctx context.Context, u *umami.User) error {
	_, err := t.q.Exec(ctx, `INSERT INTO users (id, org_id, email, password_hash, role, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, u.ID, u.OrgID, u.Email, u.PasswordHash, u.Role, u.CreatedAt)
	return conflict(err, "user with this email")
}

const keyColumns = `id, org_id, name, prefix, hash, scopes, created_at, last_used_at, expires_at, revoked_at`

// CreateAPIKey stores a new key.
func (t *Tx) CreateAPIKey(ctx context.Context, k *umami.APIKey) error {
	_, err := t.q.Exec(ctx, `INSERT INTO api_keys (`+keyColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		k.ID, k.OrgID, k.Name, k.Prefix, k.Hash, scopeStrings(k.Scopes), k.CreatedAt, k.LastUsedAt, k.ExpiresAt, k.RevokedAt)
	return conflict(err, "api key")
}

// GetAPIKeyByHash finds a key by its hash.
func (t *Tx) GetAPIKeyByHash(ctx context.Context, hash string) (*umami.APIKey, error) {
	k, err := scanKey(t.q.QueryRow(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE hash = $1`, hash))
	return k, notFound(err, "api key", "with this secret")
}

// GetAPIKey finds a key by id.
func (t *Tx) GetAPIKey(ctx context.Context, id string) (*umami.APIKey, error) {
	if !validID(id) {
		return nil, notFoundID("api key", id)
	}
	k, err := scanKey(t.q.QueryRow(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE id = $1`, id))
	return k, notFound(err, "api key", id)
}

// ListAPIKeys lists an org's keys, newest first.
func (t *Tx) ListAPIKeys(ctx context.Context, orgID string) ([]*umami.APIKey, error) {
	if !validID(orgID) {
		return nil, nil
	}
	rows, err := t.q.Query(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE org_id = $1 ORDER BY id DESC`, orgID)
	return queryAll(rows, err, scanKey)
}

// RevokeAPIKey marks a key revoked; revoking twice keeps the first time.
func (t *Tx) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	if !validID(id) {
		return notFoundID("api key", id)
	}
	tag, err := t.q.Exec(ctx, `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2`, at, id)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return notFoundID("api key", id)
	}
	return nil
}

// TouchAPIKeys records last-use times in one statement, keeping the later
// of stored and given.
func (t *Tx) TouchAPIKeys(ctx context.Context, used map[string]time.Time) error {
	var ids []string
	for id := range used {
		if validID(id) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	slices.Sort(ids) // a stable lock order: two nodes flushing at once queue instead of deadlocking
	times := make([]time.Time, len(ids))
	for i, id := range ids {
		times[i] = used[id]
	}
	_, err := t.q.Exec(ctx, `UPDATE api_keys k SET last_used_at = GREATEST(k.last_used_at, u.at)
		FROM unnest($1::uuid[], $2::timestamptz[]) AS u(id, at) WHERE k.id = u.id`, ids, times)
	if err != nil {
		return fmt.Errorf("touch api keys: %w", err)
	}
	return nil
}

func scanKey(r rowScanner) (*umami.APIKey, error) {
	var k umami.APIKey
	var scopes []string
	if err := r.Scan(&k.ID, &k.OrgID, &k.Name, &k.Prefix, &k.Hash, &scopes, &k.CreatedAt,
		&k.LastUsedAt, &k.ExpiresAt, &k.RevokedAt); err != nil {
		return nil, err
	}
	k.Scopes = scopesOf(scopes)
	k.CreatedAt = utc(k.CreatedAt)
	k.LastUsedAt, k.ExpiresAt, k.RevokedAt = utcPtr(k.LastUsedAt), utcPtr(k.ExpiresAt), utcPtr(k.RevokedAt)
	return &k, nil
}

// CreateAgent stores a new agent.
func (t *Tx) CreateAgent(ctx context.Context, a *umami.Agent) error {
	_, err := t.q.Exec(ctx, `INSERT INTO agents (id, org_id, name, description, created_at) VALUES ($1, $2, $3, $4, $5)`,
		a.ID, a.OrgID, a.Name, a.Description, a.CreatedAt)
	return conflict(err, "agent")
}

// GetAgent finds an agent of an org.
func (t *Tx) GetAgent(ctx context.Context, orgID, id string) (*umami.Agent, error) {
	if !validID(orgID) || !validID(id) {
		return nil, notFoundID("agent", id)
	}
	a, err := scanAgent(t.q.QueryRow(ctx, `SELECT id, org_id, name, description, created_at
		FROM agents WHERE org_id = $1 AND id = $2`, orgID, id))
	return a, notFound(err, "agent", id)
}

// ListAgents lists an org's agents, newest first.
func (t *Tx) ListAgents(ctx context.Context, orgID string, p umami.Page) ([]*umami.Agent, error) {
	if err := checkPage(p); err != nil || !validID(orgID) {
		return nil, err
	}
	rows, err := t.q.Query(ctx, `SELECT id, org_id, name, description, created_at FROM agents
		WHERE org_id = $1 AND ($2::uuid IS NULL OR id < $2) ORDER BY id DESC LIMIT $3`, orgID, nilIfEmpty(p.After), p.Limit)
	return queryAll(rows, err, scanAgent)
}

func scanAgent(r rowScanner) (*umami.Agent, error) {
	var a umami.Agent
	if err := r.Scan(&a.ID, &a.OrgID, &a.Name, &a.Description, &a.CreatedAt); err != nil {
		return nil, err
	}
	a.CreatedAt = utc(a.CreatedAt)
	return &a, nil
}

const versionColumns = `id, agent_id, org_id, number, status, model, instructions, temperature,
	max_output_tokens, tools, metadata, created_at, published_at`

// CreateAgentVersion stores v as the next version of its agent. The agent's
// row is locked first, so concurrent creations number one after another.
func (t *Tx) CreateAgentVersion(ctx context.Context, v *umami.AgentVersion) error {
	if validID(v.AgentID) {
		if _, err := t.q.Exec(ctx, `SELECT 1 FROM agents WHERE id = $1 FOR NO KEY UPDATE`, v.AgentID); err != nil {
			return fmt.Errorf("lock agent: %w", err)
		}
	}
	err := t.q.QueryRow(ctx, `INSERT INTO agent_versions (`+versionColumns+`)
		SELECT $1::uuid, $2::uuid, $3::uuid, COALESCE(MAX(number), 0) + 1, $4::text, $5::text, $6::text,
			$7::double precision, $8::integer, $9::jsonb, $10::jsonb, $11::timestamptz, $12::timestamptz
		FROM agent_versions WHERE agent_id = $2 RETURNING number`,
		v.ID, v.AgentID, v.OrgID, v.Status, v.Model, v.Instructions, v.Temperature, v.MaxOutputTokens,
		toJSON(v.Tools), toJSON(v.Metadata), v.CreatedAt, v.PublishedAt).Scan(&v.Number)
	return conflict(err, "agent version")
}

// GetAgentVersion finds a version of an org.
func (t *Tx) GetAgentVersion(ctx context.Context, orgID, id string) (*umami.AgentVersion, error) {
	if !validID(orgID) || !validID(id) {
		return nil, notFoundID("agent version", id)
	}
	v, err := scanVersion(t.q.QueryRow(ctx, `SELECT `+versionColumns+` FROM agent_versions
		WHERE org_id = $1 AND id = $2`, orgID, id))
	return v, notFound(err, "agent version", id)
}

// ListAgentVersions lists an agent's versions, newest first.
func (t *Tx) ListAgentVersions(ctx context.Context, orgID, agentID string, p umami.Page) ([]*umami.AgentVersion, error) {
	if err := checkPage(p); err != nil || !validID(orgID) || !validID(agentID) {
		return nil, err
	}
	rows, err := t.q.Query(ctx, `SELECT `+versionColumns+` FROM agent_versions
		WHERE org_id = $1 AND agent_id = $2 AND ($3::uuid IS NULL OR id < $3) ORDER BY id DESC LIMIT $4`,
		orgID, agentID, nilIfEmpty(p.After), p.Limit)
	return queryAll(rows, err, scanVersion)
}

// PublishAgentVersion publishes a draft.
func (t *Tx) PublishAgentVersion(ctx context.Context, orgID, id string, at time.Time) error {
	if !validID(orgID) || !validID(id) {
		return notFoundID("agent version", id)
	}
	tag, err := t.q.Exec(ctx, `UPDATE agent_versions SET status = 'published', published_at = COALESCE(published_at, $1)
		WHERE org_id = $2 AND id = $3`, at, orgID, id)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return notFoundID("agent version", id)
	}
	return nil
}

func scanVersion(r rowScanner) (*umami.AgentVersion, error) {
	var v umami.AgentVersion
	var tools, metadata []byte
	if err := r.Scan(&v.ID, &v.AgentID, &v.OrgID, &v.Number, &v.Status, &v.Model, &v.Instructions, &v.Temperature,
		&v.MaxOutputTokens, &tools, &metadata, &v.CreatedAt, &v.PublishedAt); err != nil {
		return nil, err
	}
	var err error
	if v.Tools, err = fromJSON[[]string](tools); err != nil {
		return nil, err
	}
	if v.Metadata, err = fromJSON[map[string]string](metadata); err != nil {
		return nil, err
	}
	v.CreatedAt, v.PublishedAt = utc(v.CreatedAt), utcPtr(v.PublishedAt)
	return &v, nil
}

const runColumns = `id, org_id, agent_id, agent_version_id, status, input, output, error_code, error_message,
	input_tokens, output_tokens, metadata, job_id, attempt, created_at, started_at, completed_at`

// runColumnsOfR is runColumns qualified by the alias r, for joins.
var runColumnsOfR = prefixed("r.", runColumns)

// CreateRuns stores new runs in one statement.
func (t *Tx) CreateRuns(ctx context.Context, runs ...*umami.Run) error {
	if len(runs) == 0 {
		return nil
	}
	c := newRunColumns(len(runs))
	for i, r := range runs {
		c.set(i, r)
	}
	_, err := t.q.Exec(ctx, `INSERT INTO runs (`+runColumns+`)
		SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::text[],
			$8::text[], $9::text[], $10::int[], $11::int[], $12::jsonb[], $13::bigint[], $14::int[],
			$15::timestamptz[], $16::timestamptz[], $17::timestamptz[])`,
		c.id, c.orgID, c.agentID, c.versionID, c.status, c.input, c.output, c.code, c.msg, c.inTokens, c.outTokens,
		c.metadata, c.jobID, c.attempt, c.created, c.started, c.completed)
	return conflict(err, "run")
}

// runArrays holds runs column by column, as the batched statements take them.
type runArrays struct {
	id, orgID, agentID, versionID, status, input []string
	output, code, msg                            []*string
	inTokens, outTokens, attempt                 []int
	metadata                                     []string
	jobID                                        []int64
	created                                      []time.Time
	started, completed                           []*time.Time
}

func newRunColumns(n int) *runArrays {
	return &runArrays{
		id: make([]string, n), orgID: make([]string, n), agentID: make([]string, n), versionID: make([]string, n),
		status: make([]string, n), input: make([]string, n),
		output: make([]*string, n), code: make([]*string, n), msg: make([]*string, n),
		inTokens: make([]int, n), outTokens: make([]int, n), attempt: make([]int, n),
		metadata: make([]string, n), jobID: make([]int64, n),
		created: make([]time.Time, n), started: make([]*time.Time, n), completed: make([]*time.Time, n),
	}
}

func (c *runArrays) set(i int, r *umami.Run) {
	c.id[i], c.orgID[i], c.agentID[i], c.versionID[i] = r.ID, r.OrgID, r.AgentID, r.AgentVersionID
	c.status[i], c.input[i], c.output[i] = r.Status, r.Input, r.Output
	c.code[i], c.msg[i] = errorParts(r.Error)
	c.inTokens[i], c.outTokens[i], c.attempt[i] = r.Usage.InputTokens, r.Usage.OutputTokens, r.Attempt
	c.metadata[i], c.jobID[i] = toJSON(r.Metadata), r.JobID
	c.created[i], c.started[i], c.completed[i] = r.CreatedAt, r.StartedAt, r.CompletedAt
}

// GetRun finds a run; an empty orgID matches any org.
func (t *Tx) GetRun(ctx context.Context, orgID, id string) (*umami.Run, error) {
	if !validID(id) || (orgID != "" && !validID(orgID)) {
		return nil, notFoundID("run", id)
	}
	r, err := scanRun(t.q.QueryRow(ctx, `SELECT `+runColumns+` FROM runs
		WHERE id = $1 AND ($2::uuid IS NULL OR org_id = $2)`, id, nilIfEmpty(orgID)))
	return r, notFound(err, "run", id)
}

// ListRuns lists an org's runs, newest first.
func (t *Tx) ListRuns(ctx context.Context, f umami.RunFilter) ([]*umami.Run, error) {
	if err := checkPage(f.Page); err != nil || !validID(f.OrgID) ||
		(f.AgentVersionID != "" && !validID(f.AgentVersionID)) {
		return nil, err
	}
	where, args := []string{"org_id = $1"}, []any{f.OrgID}
	add := func(cond string, arg any) {
		args = append(args, arg)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	if f.Status != "" {
		add("status = ?", f.Status)
	}
	if f.AgentVersionID != "" {
		add("agent_version_id = ?", f.AgentVersionID)
	}
	if f.After != "" {
		add("id < ?", f.After)
	}
	args = append(args, f.Limit)
	rows, err := t.q.Query(ctx, `SELECT `+runColumns+` FROM runs WHERE `+strings.Join(where, " AND ")+
		` ORDER BY id DESC LIMIT $`+strconv.Itoa(len(args)), args...)
	return queryAll(rows, err, scanRun)
}

// UpdateRun writes r's mutable fields if it is a run of r.OrgID whose
// stored status is one of from. PostgreSQL re-checks the condition after
// waiting for a concurrent writer of the row, so exactly one of two racing
// transitions applies.
func (t *Tx) UpdateRun(ctx context.Context, r *umami.Run, from ...string) (bool, error) {
	if !validID(r.ID) || !validID(r.OrgID) {
		return false, nil
	}
	code, msg := errorParts(r.Error)
	tag, err := t.q.Exec(ctx, `UPDATE runs SET status = $1, output = $2, error_code = $3, error_message = $4,
		input_tokens = $5, output_tokens = $6, attempt = $7, started_at = $8, completed_at = $9
		WHERE id = $10 AND org_id = $11 AND status = ANY($12)`,
		r.Status, r.Output, code, msg, r.Usage.InputTokens, r.Usage.OutputTokens, r.Attempt,
		r.StartedAt, r.CompletedAt, r.ID, r.OrgID, from)
	if err != nil {
		return false, fmt.Errorf("update run: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

func scanRun(r rowScanner) (*umami.Run, error) {
	var run umami.Run
	var code, msg *string
	var metadata []byte
	if err := r.Scan(&run.ID, &run.OrgID, &run.AgentID, &run.AgentVersionID, &run.Status, &run.Input, &run.Output,
		&code, &msg, &run.Usage.InputTokens, &run.Usage.OutputTokens, &metadata, &run.JobID, &run.Attempt,
		&run.CreatedAt, &run.StartedAt, &run.CompletedAt); err != nil {
		return nil, err
	}
	var err error
	if run.Metadata, err = fromJSON[map[string]string](metadata); err != nil {
		return nil, err
	}
	run.Error = runError(code, msg)
	run.CreatedAt, run.StartedAt, run.CompletedAt = utc(run.CreatedAt), utcPtr(run.StartedAt), utcPtr(run.CompletedAt)
	return &run, nil
}

// AddRunSteps appends steps after the run's existing ones, numbering them.
// Each run's row is locked first, so concurrent appends number one after
// another; everything goes in one round trip.
func (t *Tx) AddRunSteps(ctx context.Context, steps []umami.RunStep) error {
	if len(steps) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	locked := map[string]bool{}
	for _, s := range steps {
		if !locked[s.RunID] && validID(s.RunID) {
			locked[s.RunID] = true
			b.Queue(`SELECT 1 FROM runs WHERE id = $1 FOR NO KEY UPDATE`, s.RunID)
		}
	}
	for _, s := range steps {
		queueStep(b, s)
	}
	if err := t.q.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("add run steps: %w", err)
	}
	return nil
}

func queueStep(b *pgx.Batch, s umami.RunStep) {
	code, msg := errorParts(s.Error)
	var in, out *int
	if s.Usage != nil {
		in, out = &s.Usage.InputTokens, &s.Usage.OutputTokens
	}
	b.Queue(`INSERT INTO run_steps (run_id, idx, type, name, input, output, error_code, error_message,
		input_tokens, output_tokens, started_at, completed_at)
		VALUES ($1, (SELECT COALESCE(MAX(idx), -1) + 1 FROM run_steps WHERE run_id = $1), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		s.RunID, s.Type, s.Name, s.Input, s.Output, code, msg, in, out, s.StartedAt, s.CompletedAt)
}

// StartRuns moves queued or running runs to running for a new attempt, in
// one statement. Two batches sharing runs (which only a rescue makes) could
// deadlock; PostgreSQL detects it and the batch is written again in parts.
func (t *Tx) StartRuns(ctx context.Context, at time.Time, ids ...string) ([]*umami.Run, error) {
	valid := make([]string, 0, len(ids))
	for _, id := range ids {
		if validID(id) {
			valid = append(valid, id)
		}
	}
	out := make([]*umami.Run, len(ids))
	if len(valid) == 0 {
		return out, nil
	}
	rows, err := t.q.Query(ctx, `UPDATE runs r SET status = 'running', attempt = r.attempt + 1,
		started_at = COALESCE(r.started_at, $1)
		FROM (SELECT DISTINCT id FROM unnest($2::uuid[]) AS u(id)) u
		WHERE r.id = u.id AND r.status IN ('queued', 'running') RETURNING `+runColumnsOfR, at, valid)
	started, err := queryAll(rows, err, scanRun)
	if err != nil {
		return nil, fmt.Errorf("start runs: %w", err)
	}
	byID := make(map[string]*umami.Run, len(started))
	for _, r := range started {
		byID[r.ID] = r
	}
	for i, id := range ids {
		id = strings.ToLower(id)
		out[i] = byID[id]
		delete(byID, id) // a later duplicate gets nil
	}
	return out, nil
}

// finishRuns updates running runs of the attempt that finishes them and
// appends their steps, in one statement: a run's steps are inserted only if
// its update applied, numbered after its existing steps (the update holds
// the run's row lock). The ids must be distinct.
const finishRuns = `WITH f AS (
	SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::int[],
		$8::int[], $9::timestamptz[], $10::timestamptz[], $22::uuid[])
		AS f(id, status, output, error_code, error_message, input_tokens, output_tokens, attempt, started_at, completed_at,
			org_id)
), u AS (
	UPDATE runs r SET status = f.status, output = f.output, error_code = f.error_code, error_message = f.error_message,
		input_tokens = f.input_tokens, output_tokens = f.output_tokens, attempt = f.attempt,
		started_at = f.started_at, completed_at = f.completed_at
	FROM f WHERE r.id = f.id AND r.org_id = f.org_id AND r.status = 'running' AND r.attempt = f.attempt
	RETURNING r.id
), s AS (
	SELECT * FROM unnest($11::uuid[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[],
		$18::int[], $19::int[], $20::timestamptz[], $21::timestamptz[])
		WITH ORDINALITY AS s(run_id, type, name, input, output, error_code, error_message,
			input_tokens, output_tokens, started_at, completed_at, ord)
), ins AS (
	INSERT INTO run_steps (run_id, idx, type, name, input, output, error_code, error_message,
		input_tokens, output_tokens, started_at, completed_at)
	SELECT s.run_id,
		(SELECT COALESCE(MAX(idx), -1) FROM run_steps x WHERE x.run_id = s.run_id)
			+ row_number() OVER (PARTITION BY s.run_id ORDER BY s.ord),
		s.type, s.name, s.input, s.output, s.error_code, s.error_message,
		s.input_tokens, s.output_tokens, s.started_at, s.completed_at
	FROM s JOIN u ON u.id = s.run_id
)
SELECT id FROM u`

// FinishRuns writes running runs' outcomes (each only to a run of its
// OrgID) and their steps, in one statement.
func (t *Tx) FinishRuns(ctx context.Context, fs ...umami.RunFinish) ([]bool, error) {
	done := make([]bool, len(fs))
	var runs []*umami.Run
	var steps []umami.RunStep
	first := make(map[string]int, len(fs)) // run id → the finish that may apply
	for i, f := range fs {
		id := strings.ToLower(f.Run.ID)
		if _, dup := first[id]; dup {
			continue
		}
		first[id] = i
		if validID(f.Run.ID) && validID(f.Run.OrgID) {
			runs = append(runs, f.Run)
			for _, st := range f.Steps {
				st.RunID = f.Run.ID
				steps = append(steps, st)
			}
		}
	}
	if len(runs) == 0 {
		return done, nil
	}
	c := newRunColumns(len(runs))
	for i, r := range runs {
		c.set(i, r)
	}
	st := newStepColumns(len(steps))
	for i, s := range steps {
		st.set(i, s)
	}
	rows, err := t.q.Query(ctx, finishRuns, c.id, c.status, c.output, c.code, c.msg, c.inTokens, c.outTokens,
		c.attempt, c.started, c.completed,
		st.runID, st.typ, st.name, st.input, st.output, st.code, st.msg, st.inTokens, st.outTokens, st.started, st.completed,
		c.orgID)
	finished, err := queryAll(rows, err, func(r rowScanner) (id string, err error) { return id, r.Scan(&id) })
	if err != nil {
		return nil, fmt.Errorf("finish runs: %w", err)
	}
	for _, id := range finished {
		done[first[id]] = true
	}
	return done, nil
}

// stepArrays holds steps column by column, as FinishRuns takes them.
type stepArrays struct {
	runID, typ, name, input, output []string
	code, msg                       []*string
	inTokens, outTokens             []*int
	started, completed              []time.Time
}

func newStepColumns(n int) *stepArrays {
	return &stepArrays{
		runID: make([]string, n), typ: make([]string, n), name: make([]string, n), input: make([]string, n),
		output: make([]string, n), code: make([]*string, n), msg: make([]*string, n),
		inTokens: make([]*int, n), outTokens: make([]*int, n), started: make([]time.Time, n), completed: make([]time.Time, n),
	}
}

func (c *stepArrays) set(i int, s umami.RunStep) {
	c.runID[i], c.typ[i], c.name[i], c.input[i], c.output[i] = s.RunID, s.Type, s.Name, s.Input, s.Output
	c.code[i], c.msg[i] = errorParts(s.Error)
	if s.Usage != nil {
		c.inTokens[i], c.outTokens[i] = &s.Usage.InputTokens, &s.Usage.OutputTokens
	}
	c.started[i], c.completed[i] = s.StartedAt, s.CompletedAt
}

// ListRunSteps lists a run's steps in order.
func (t *Tx) ListRunSteps(ctx context.Context, runID string) ([]umami.RunStep, error) {
	if !validID(runID) {
		return nil, nil
	}
	rows, err := t.q.Query(ctx, `SELECT run_id, idx, type, name, input, output, error_code, error_message,
		input_tokens, output_tokens, started_at, completed_at FROM run_steps WHERE run_id = $1 ORDER BY idx`, runID)
	return queryAll(rows, err, scanStep)
}

func scanStep(r rowScanner) (umami.RunStep, error) {
	var s umami.RunStep
	var code, msg *string
	var in, out *int
	if err := r.Scan(&s.RunID, &s.Index, &s.Type, &s.Name, &s.Input, &s.Output, &code, &msg, &in, &out,
		&s.StartedAt, &s.CompletedAt); err != nil {
		return s, err
	}
	s.Error = runError(code, msg)
	if in != nil {
		s.Usage = &umami.Usage{InputTokens: *in, OutputTokens: deref(out, 0)}
	}
	s.StartedAt, s.CompletedAt = utc(s.StartedAt), utc(s.CompletedAt)
	return s, nil
}

// GetIdempotencyKey returns a key recorded at or after since.
func (t *Tx) GetIdempotencyKey(ctx context.Context, orgID, key string, since time.Time) (*umami.IdempotencyKey, error) {
	if !validID(orgID) {
		return nil, notFoundID("idempotency key", key)
	}
	var k umami.IdempotencyKey
	err := t.q.QueryRow(ctx, `SELECT org_id, key, request_hash, run_id, created_at FROM idempotency_keys
		WHERE org_id = $1 AND key = $2 AND created_at >= $3`, orgID, key, since).
		Scan(&k.OrgID, &k.Key, &k.RequestHash, &k.RunID, &k.CreatedAt)
	if err != nil {
		return nil, notFound(err, "idempotency key", key)
	}
	k.CreatedAt = utc(k.CreatedAt)
	return &k, nil
}

// PutIdempotencyKey records k, replacing an expired record of the same key.
// A live record means a concurrent request with the same key committed
// first (its insert made this one wait): that is a conflict, and the
// transaction must not create a second run. Retried, the request finds the
// first one's record and replays its run.
func (t *Tx) PutIdempotencyKey(ctx context.Context, k *umami.IdempotencyKey) error {
	tag, err := t.q.Exec(ctx, `INSERT INTO idempotency_keys (org_id, key, request_hash, run_id, created_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (org_id, key) DO UPDATE SET request_hash = excluded.request_hash,
		run_id = excluded.run_id, created_at = excluded.created_at WHERE idempotency_keys.created_at < $6`,
		k.OrgID, k.Key, k.RequestHash, k.RunID, k.CreatedAt, k.CreatedAt.Add(-umami.IdempotencyTTL))
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return umami.Errorf(umami.EConflict, "a concurrent request with Idempotency-Key %q is in progress; retry it", k.Key)
	}
	return nil
}

// DeleteIdempotencyKeys deletes keys recorded before a time.
func (t *Tx) DeleteIdempotencyKeys(ctx context.Context, before time.Time) (int, error) {
	tag, err := t.q.Exec(ctx, `DELETE FROM idempotency_keys WHERE created_at < $1`, before)
	if err != nil {
		return 0, err
	}
	return int(tag.RowsAffected()), nil
}

// EnqueueRuns inserts the runs' jobs in this transaction.
func (t *Tx) EnqueueRuns(ctx context.Context, args ...umami.RunJobArgs) ([]int64, error) {
	tx, err := t.writeTx()
	if err != nil {
		return nil, err
	}
	return t.db.inserter.InsertRuns(ctx, tx, args...)
}

// CancelJob cancels a job in this transaction.
func (t *Tx) CancelJob(ctx context.Context, jobID int64) error {
	tx, err := t.writeTx()
	if err != nil {
		return err
	}
	return t.db.inserter.CancelJob(ctx, tx, jobID)
}

// ListOrphanedRuns returns unfinished runs whose job has ended or vanished.
func (t *Tx) ListOrphanedRuns(ctx context.Context, limit int) ([]*umami.Run, error) {
	rows, err := t.q.Query(ctx, `SELECT `+runColumnsOfR+` FROM runs r
		LEFT JOIN river_job j ON j.id = r.job_id
		WHERE r.status IN ('queued', 'running') AND (j.id IS NULL OR j.state IN ('completed', 'discarded', 'cancelled'))
		ORDER BY r.id LIMIT $1`, limit)
	return queryAll(rows, err, scanRun)
}
