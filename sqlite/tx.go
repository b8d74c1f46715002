package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/umamiai/umami"
)

// Tx is one SQLite transaction, or for View the reader pool itself.
type Tx struct {
	tx querier
	db *DB
}

// querier is what *sql.Tx and *sql.DB have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// writeTx returns the transaction River must enqueue in; View has none.
func (t *Tx) writeTx() (*sql.Tx, error) {
	tx, ok := t.tx.(*sql.Tx)
	if !ok {
		return nil, fmt.Errorf("enqueue outside a write transaction")
	}
	return tx, nil
}

var _ umami.Tx = (*Tx)(nil)

// CreateOrg stores a new org.
func (t *Tx) CreateOrg(ctx context.Context, o *umami.Org) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO orgs (id, name, created_at) VALUES (?, ?, ?)`,
		o.ID, o.Name, micros(o.CreatedAt))
	return conflict(err, "org")
}

// GetOrg finds an org by id.
func (t *Tx) GetOrg(ctx context.Context, id string) (*umami.Org, error) {
	o, err := scanOrg(t.tx.QueryRowContext(ctx, `SELECT id, name, created_at FROM orgs WHERE id = ?`, id))
	return o, notFound(err, "org", id)
}

// ListOrgs lists every org, oldest first.
func (t *Tx) ListOrgs(ctx context.Context) ([]*umami.Org, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT id, name, created_at FROM orgs ORDER BY id`)
	return queryAll(rows, err, scanOrg)
}

func scanOrg(r rowScanner) (*umami.Org, error) {
	var o umami.Org
	var created int64
	if err := r.Scan(&o.ID, &o.Name, &created); err != nil {
		return nil, err
	}
	o.CreatedAt = fromMicros(created)
	return &o, nil
}

// CreateUser stores a new user.
func (t *Tx) CreateUser(ctx context.Context, u *umami.User) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO users (id, org_id, email, password_hash, role, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`, u.ID, u.OrgID, u.Email, u.PasswordHash, u.Role, micros(u.CreatedAt))
	return conflict(err, "user with this email")
}

const keyColumns = `id, org_id, name, prefix, hash, scopes, created_at, last_used_at, expires_at, revoked_at`

// CreateAPIKey stores a new key.
func (t *Tx) CreateAPIKey(ctx context.Context, k *umami.APIKey) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO api_keys (`+keyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.OrgID, k.Name, k.Prefix, k.Hash, umami.JoinScopes(k.Scopes), micros(k.CreatedAt),
		nullMicros(k.LastUsedAt), nullMicros(k.ExpiresAt), nullMicros(k.RevokedAt))
	return conflict(err, "api key")
}

// GetAPIKeyByHash finds a key by its hash.
func (t *Tx) GetAPIKeyByHash(ctx context.Context, hash string) (*umami.APIKey, error) {
	k, err := scanKey(t.tx.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE hash = ?`, hash))
	return k, notFound(err, "api key", "with this secret")
}

// GetAPIKey finds a key by id.
func (t *Tx) GetAPIKey(ctx context.Context, id string) (*umami.APIKey, error) {
	k, err := scanKey(t.tx.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE id = ?`, id))
	return k, notFound(err, "api key", id)
}

// ListAPIKeys lists an org's keys, newest first.
func (t *Tx) ListAPIKeys(ctx context.Context, orgID string) ([]*umami.APIKey, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE org_id = ? ORDER BY id DESC`, orgID)
	return queryAll(rows, err, scanKey)
}

// RevokeAPIKey marks a key revoked; revoking twice keeps the first time.
func (t *Tx) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	res, err := t.tx.ExecContext(ctx, `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`, micros(at), id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return umami.Errorf(umami.ENotFound, "api key %s not found", id)
	}
	return nil
}

// TouchAPIKeys records last-use times.
func (t *Tx) TouchAPIKeys(ctx context.Context, used map[string]time.Time) error {
	for id, at := range used {
		if _, err := t.tx.ExecContext(ctx, `UPDATE api_keys SET last_used_at = max(COALESCE(last_used_at, 0), ?) WHERE id = ?`,
			micros(at), id); err != nil {
			return fmt.Errorf("touch api key: %w", err)
		}
	}
	return nil
}

func scanKey(r rowScanner) (*umami.APIKey, error) {
	var k umami.APIKey
	var scopes string
	var created int64
	var lastUsed, expires, revoked sql.NullInt64
	if err := r.Scan(&k.ID, &k.OrgID, &k.Name, &k.Prefix, &k.Hash, &scopes, &created, &lastUsed, &expires, &revoked); err != nil {
		return nil, err
	}
	k.Scopes = scopesFromString(scopes)
	k.CreatedAt = fromMicros(created)
	k.LastUsedAt, k.ExpiresAt, k.RevokedAt = fromNullMicros(lastUsed), fromNullMicros(expires), fromNullMicros(revoked)
	return &k, nil
}

// CreateAgent stores a new agent.
func (t *Tx) CreateAgent(ctx context.Context, a *umami.Agent) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO agents (id, org_id, name, description, created_at) VALUES (?, ?, ?, ?, ?)`,
		a.ID, a.OrgID, a.Name, a.Description, micros(a.CreatedAt))
	return conflict(err, "agent")
}

// GetAgent finds an agent of an org.
func (t *Tx) GetAgent(ctx context.Context, orgID, id string) (*umami.Agent, error) {
	a, err := scanAgent(t.tx.QueryRowContext(ctx, `SELECT id, org_id, name, description, created_at
		FROM agents WHERE org_id = ? AND id = ?`, orgID, id))
	return a, notFound(err, "agent", id)
}

// ListAgents lists an org's agents, newest first.
func (t *Tx) ListAgents(ctx context.Context, orgID string, p umami.Page) ([]*umami.Agent, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT id, org_id, name, description, created_at FROM agents
		WHERE org_id = ? AND (? = '' OR id < ?) ORDER BY id DESC LIMIT ?`, orgID, p.After, p.After, p.Limit)
	return queryAll(rows, err, scanAgent)
}

func scanAgent(r rowScanner) (*umami.Agent, error) {
	var a umami.Agent
	var created int64
	if err := r.Scan(&a.ID, &a.OrgID, &a.Name, &a.Description, &created); err != nil {
		return nil, err
	}
	a.CreatedAt = fromMicros(created)
	return &a, nil
}

const versionColumns = `id, agent_id, org_id, number, status, model, instructions, temperature,
	max_output_tokens, tools, metadata, created_at, published_at`

// CreateAgentVersion stores v as the next version of its agent.
func (t *Tx) CreateAgentVersion(ctx context.Context, v *umami.AgentVersion) error {
	if err := t.tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(number), 0) + 1 FROM agent_versions WHERE agent_id = ?`,
		v.AgentID).Scan(&v.Number); err != nil {
		return fmt.Errorf("next version number: %w", err)
	}
	_, err := t.tx.ExecContext(ctx, `INSERT INTO agent_versions (`+versionColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		v.ID, v.AgentID, v.OrgID, v.Number, v.Status, v.Model, v.Instructions, v.Temperature,
		v.MaxOutputTokens, toJSON(v.Tools), toJSON(v.Metadata), micros(v.CreatedAt), nullMicros(v.PublishedAt))
	return conflict(err, "agent version")
}

// GetAgentVersion finds a version of an org.
func (t *Tx) GetAgentVersion(ctx context.Context, orgID, id string) (*umami.AgentVersion, error) {
	v, err := scanVersion(t.tx.QueryRowContext(ctx, `SELECT `+versionColumns+` FROM agent_versions
		WHERE org_id = ? AND id = ?`, orgID, id))
	return v, notFound(err, "agent version", id)
}

// ListAgentVersions lists an agent's versions, newest first.
func (t *Tx) ListAgentVersions(ctx context.Context, orgID, agentID string, p umami.Page) ([]*umami.AgentVersion, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT `+versionColumns+` FROM agent_versions
		WHERE org_id = ? AND agent_id = ? AND (? = '' OR id < ?) ORDER BY id DESC LIMIT ?`,
		orgID, agentID, p.After, p.After, p.Limit)
	return queryAll(rows, err, scanVersion)
}

// PublishAgentVersion publishes a draft.
func (t *Tx) PublishAgentVersion(ctx context.Context, orgID, id string, at time.Time) error {
	res, err := t.tx.ExecContext(ctx, `UPDATE agent_versions SET status = 'published', published_at = COALESCE(published_at, ?)
		WHERE org_id = ? AND id = ?`, micros(at), orgID, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return umami.Errorf(umami.ENotFound, "agent version %s not found", id)
	}
	return nil
}

func scanVersion(r rowScanner) (*umami.AgentVersion, error) {
	var v umami.AgentVersion
	var tools, metadata string
	var created int64
	var published sql.NullInt64
	var temp sql.NullFloat64
	var maxTokens sql.NullInt64
	if err := r.Scan(&v.ID, &v.AgentID, &v.OrgID, &v.Number, &v.Status, &v.Model, &v.Instructions, &temp,
		&maxTokens, &tools, &metadata, &created, &published); err != nil {
		return nil, err
	}
	if temp.Valid {
		v.Temperature = &temp.Float64
	}
	if maxTokens.Valid {
		n := int(maxTokens.Int64)
		v.MaxOutputTokens = &n
	}
	var err error
	if v.Tools, err = fromJSON[[]string](tools); err != nil {
		return nil, err
	}
	if v.Metadata, err = fromJSON[map[string]string](metadata); err != nil {
		return nil, err
	}
	v.CreatedAt, v.PublishedAt = fromMicros(created), fromNullMicros(published)
	return &v, nil
}

const runColumns = `id, org_id, agent_id, agent_version_id, status, input, output, error_code, error_message,
	input_tokens, output_tokens, metadata, job_id, attempt, created_at, started_at, completed_at`

// CreateRuns stores new runs, one statement each: in process, SQLite's
// statements cost little, and the transaction is what is shared.
func (t *Tx) CreateRuns(ctx context.Context, runs ...*umami.Run) error {
	for _, r := range runs {
		code, msg := errorParts(r.Error)
		_, err := t.tx.ExecContext(ctx, `INSERT INTO runs (`+runColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.ID, r.OrgID, r.AgentID, r.AgentVersionID, r.Status, r.Input, nullString(r.Output), code, msg,
			r.Usage.InputTokens, r.Usage.OutputTokens, toJSON(r.Metadata), r.JobID, r.Attempt,
			micros(r.CreatedAt), nullMicros(r.StartedAt), nullMicros(r.CompletedAt))
		if err != nil {
			return conflict(err, "run")
		}
	}
	return nil
}

// GetRun finds a run; an empty orgID matches any org.
func (t *Tx) GetRun(ctx context.Context, orgID, id string) (*umami.Run, error) {
	r, err := scanRun(t.tx.QueryRowContext(ctx, `SELECT `+runColumns+` FROM runs
		WHERE id = ? AND (? = '' OR org_id = ?)`, id, orgID, orgID))
	return r, notFound(err, "run", id)
}

// ListRuns lists an org's runs, newest first.
func (t *Tx) ListRuns(ctx context.Context, f umami.RunFilter) ([]*umami.Run, error) {
	where := []string{"org_id = ?"}
	args := []any{f.OrgID}
	if f.Status != "" {
		where, args = append(where, "status = ?"), append(args, f.Status)
	}
	if f.AgentVersionID != "" {
		where, args = append(where, "agent_version_id = ?"), append(args, f.AgentVersionID)
	}
	if f.After != "" {
		where, args = append(where, "id < ?"), append(args, f.After)
	}
	rows, err := t.tx.QueryContext(ctx, `SELECT `+runColumns+` FROM runs WHERE `+strings.Join(where, " AND ")+
		` ORDER BY id DESC LIMIT ?`, append(args, f.Limit)...)
	return queryAll(rows, err, scanRun)
}

// UpdateRun writes r's mutable fields if it is a run of r.OrgID whose
// stored status is one of from.
func (t *Tx) UpdateRun(ctx context.Context, r *umami.Run, from ...string) (bool, error) {
	return t.updateRun(ctx, r, false, from...)
}

// updateRun is UpdateRun, also requiring with sameAttempt that the stored
// attempt be r.Attempt.
func (t *Tx) updateRun(ctx context.Context, r *umami.Run, sameAttempt bool, from ...string) (bool, error) {
	code, msg := errorParts(r.Error)
	args := []any{r.Status, nullString(r.Output), code, msg, r.Usage.InputTokens, r.Usage.OutputTokens,
		r.Attempt, nullMicros(r.StartedAt), nullMicros(r.CompletedAt), r.ID, r.OrgID}
	placeholders := strings.TrimSuffix(strings.Repeat("?, ", len(from)), ", ")
	for _, s := range from {
		args = append(args, s)
	}
	cond := ""
	if sameAttempt {
		cond, args = " AND attempt = ?", append(args, r.Attempt)
	}
	res, err := t.tx.ExecContext(ctx, `UPDATE runs SET status = ?, output = ?, error_code = ?, error_message = ?,
		input_tokens = ?, output_tokens = ?, attempt = ?, started_at = ?, completed_at = ?
		WHERE id = ? AND org_id = ? AND status IN (`+placeholders+`)`+cond, args...)
	if err != nil {
		return false, fmt.Errorf("update run: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func scanRun(r rowScanner) (*umami.Run, error) {
	var run umami.Run
	var output, code, msg sql.NullString
	var metadata string
	var created int64
	var started, completed sql.NullInt64
	if err := r.Scan(&run.ID, &run.OrgID, &run.AgentID, &run.AgentVersionID, &run.Status, &run.Input, &output,
		&code, &msg, &run.Usage.InputTokens, &run.Usage.OutputTokens, &metadata, &run.JobID, &run.Attempt,
		&created, &started, &completed); err != nil {
		return nil, err
	}
	var err error
	if run.Metadata, err = fromJSON[map[string]string](metadata); err != nil {
		return nil, err
	}
	run.Output, run.Error = fromNullString(output), runError(code, msg)
	run.CreatedAt, run.StartedAt, run.CompletedAt = fromMicros(created), fromNullMicros(started), fromNullMicros(completed)
	return &run, nil
}

// AddRunSteps appends steps after the run's existing ones, numbering them.
func (t *Tx) AddRunSteps(ctx context.Context, steps []umami.RunStep) error {
	for _, s := range steps {
		code, msg := errorParts(s.Error)
		var in, out any
		if s.Usage != nil {
			in, out = s.Usage.InputTokens, s.Usage.OutputTokens
		}
		if _, err := t.tx.ExecContext(ctx, `INSERT INTO run_steps (run_id, idx, type, name, input, output,
			error_code, error_message, input_tokens, output_tokens, started_at, completed_at)
			VALUES (?, (SELECT COALESCE(MAX(idx), -1) + 1 FROM run_steps WHERE run_id = ?), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			s.RunID, s.RunID, s.Type, s.Name, s.Input, s.Output, code, msg, in, out,
			micros(s.StartedAt), micros(s.CompletedAt)); err != nil {
			return fmt.Errorf("add run step: %w", err)
		}
	}
	return nil
}

// StartRuns moves queued or running runs to running for a new attempt.
func (t *Tx) StartRuns(ctx context.Context, at time.Time, ids ...string) ([]*umami.Run, error) {
	out := make([]*umami.Run, len(ids))
	for i, id := range ids {
		if slices.Contains(ids[:i], id) {
			continue // started once, for the first; a later duplicate gets nil
		}
		r, err := scanRun(t.tx.QueryRowContext(ctx, `UPDATE runs SET status = 'running', attempt = attempt + 1,
			started_at = COALESCE(started_at, ?) WHERE id = ? AND status IN ('queued', 'running') RETURNING `+runColumns,
			micros(at), id))
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("start run %s: %w", id, err)
		}
		out[i] = r
	}
	return out, nil
}

// FinishRuns writes the outcomes of running runs, of the attempt that
// finishes them, and their steps. Of finishes of the same run, only the
// first may apply.
func (t *Tx) FinishRuns(ctx context.Context, fs ...umami.RunFinish) ([]bool, error) {
	done := make([]bool, len(fs))
	for i, f := range fs {
		if slices.ContainsFunc(fs[:i], func(g umami.RunFinish) bool { return g.Run.ID == f.Run.ID }) {
			continue
		}
		ok, err := t.updateRun(ctx, f.Run, true, umami.RunRunning)
		if err != nil {
			return nil, err
		}
		if done[i] = ok; ok {
			if err := t.AddRunSteps(ctx, f.Steps); err != nil {
				return nil, err
			}
		}
	}
	return done, nil
}

// ListRunSteps lists a run's steps in order.
func (t *Tx) ListRunSteps(ctx context.Context, runID string) ([]umami.RunStep, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT run_id, idx, type, name, input, output, error_code, error_message,
		input_tokens, output_tokens, started_at, completed_at FROM run_steps WHERE run_id = ? ORDER BY idx`, runID)
	return queryAll(rows, err, scanStep)
}

func scanStep(r rowScanner) (umami.RunStep, error) {
	var s umami.RunStep
	var code, msg sql.NullString
	var in, out sql.NullInt64
	var started, completed int64
	if err := r.Scan(&s.RunID, &s.Index, &s.Type, &s.Name, &s.Input, &s.Output, &code, &msg, &in, &out,
		&started, &completed); err != nil {
		return s, err
	}
	s.Error = runError(code, msg)
	if in.Valid {
		s.Usage = &umami.Usage{InputTokens: int(in.Int64), OutputTokens: int(out.Int64)}
	}
	s.StartedAt, s.CompletedAt = fromMicros(started), fromMicros(completed)
	return s, nil
}

// GetIdempotencyKey returns a key recorded at or after since.
func (t *Tx) GetIdempotencyKey(ctx context.Context, orgID, key string, since time.Time) (*umami.IdempotencyKey, error) {
	var k umami.IdempotencyKey
	var created int64
	err := t.tx.QueryRowContext(ctx, `SELECT org_id, key, request_hash, run_id, created_at FROM idempotency_keys
		WHERE org_id = ? AND key = ? AND created_at >= ?`, orgID, key, micros(since)).
		Scan(&k.OrgID, &k.Key, &k.RequestHash, &k.RunID, &created)
	if err != nil {
		return nil, notFound(err, "idempotency key", key)
	}
	k.CreatedAt = fromMicros(created)
	return &k, nil
}

// PutIdempotencyKey records k, replacing an expired record of the same key.
// A live record is kept, and the put is a conflict, as in the PostgreSQL
// store.
func (t *Tx) PutIdempotencyKey(ctx context.Context, k *umami.IdempotencyKey) error {
	res, err := t.tx.ExecContext(ctx, `INSERT INTO idempotency_keys (org_id, key, request_hash, run_id, created_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (org_id, key) DO UPDATE SET request_hash = excluded.request_hash,
		run_id = excluded.run_id, created_at = excluded.created_at WHERE idempotency_keys.created_at < ?`,
		k.OrgID, k.Key, k.RequestHash, k.RunID, micros(k.CreatedAt), micros(k.CreatedAt.Add(-umami.IdempotencyTTL)))
	if err != nil {
		return fmt.Errorf("put idempotency key: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("put idempotency key: %w", err)
	} else if n == 0 {
		return umami.Errorf(umami.EConflict, "Idempotency-Key %q is already recorded for a live request", k.Key)
	}
	return nil
}

// DeleteIdempotencyKeys deletes keys recorded before a time.
func (t *Tx) DeleteIdempotencyKeys(ctx context.Context, before time.Time) (int, error) {
	res, err := t.tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE created_at < ?`, micros(before))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
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
	rows, err := t.tx.QueryContext(ctx, `SELECT `+prefixed("r.", runColumns)+` FROM runs r
		LEFT JOIN river_job j ON j.id = r.job_id
		WHERE r.status IN ('queued', 'running') AND (j.id IS NULL OR j.state IN ('completed', 'discarded', 'cancelled'))
		ORDER BY r.id LIMIT ?`, limit)
	return queryAll(rows, err, scanRun)
}

func prefixed(prefix, columns string) string {
	parts := strings.Split(columns, ",")
	for i, p := range parts {
		parts[i] = prefix + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}
