package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/umamiai/umami"
)

func testOrgsAndUsers(t *testing.T, h Harness) {
	s := h.Open(t)
	o := &umami.Org{ID: id(), Name: "Acme", CreatedAt: now()}
	update(t, s, func(tx umami.Tx) error { return tx.CreateOrg(ctx, o) })
	view(t, s, func(tx umami.Tx) error {
		got, err := tx.GetOrg(ctx, o.ID)
		if err != nil || !reflect.DeepEqual(got, o) {
			t.Errorf("GetOrg = %+v, %v; want %+v", got, err, o)
		}
		return nil
	})
	u := &umami.User{ID: id(), OrgID: o.ID, Email: "a@example.com", PasswordHash: "h", Role: "owner", CreatedAt: now()}
	update(t, s, func(tx umami.Tx) error { return tx.CreateUser(ctx, u) })
	err := s.Update(ctx, func(tx umami.Tx) error {
		return tx.CreateUser(ctx, &umami.User{ID: id(), OrgID: o.ID, Email: "a@example.com", PasswordHash: "h", Role: "owner", CreatedAt: now()})
	})
	wantCode(t, err, umami.EConflict)
}

func testAPIKeys(t *testing.T, h Harness) {
	s := h.Open(t)
	f := newFixture(t, s)
	exp := now().Add(time.Hour)
	k := &umami.APIKey{ID: id(), OrgID: f.org.ID, Name: "ci", Prefix: "umami_abc", Hash: "hash1",
		Scopes: []umami.Scope{umami.ScopeRunsRead, umami.ScopeRunsCreate}, CreatedAt: now(), ExpiresAt: &exp}
	update(t, s, func(tx umami.Tx) error { return tx.CreateAPIKey(ctx, k) })
	view(t, s, func(tx umami.Tx) error {
		got, err := tx.GetAPIKeyByHash(ctx, "hash1")
		if err != nil || !reflect.DeepEqual(got, k) {
			t.Errorf("GetAPIKeyByHash = %+v, %v; want %+v", got, err, k)
		}
		_, err = tx.GetAPIKeyByHash(ctx, "nope")
		wantCode(t, err, umami.ENotFound)
		return nil
	})
	used := now()
	update(t, s, func(tx umami.Tx) error { return tx.TouchAPIKeys(ctx, map[string]time.Time{k.ID: used}) })
	update(t, s, func(tx umami.Tx) error { // an older time never moves last use back
		return tx.TouchAPIKeys(ctx, map[string]time.Time{k.ID: used.Add(-time.Minute)})
	})
	revoked := now()
	update(t, s, func(tx umami.Tx) error { return tx.RevokeAPIKey(ctx, k.ID, revoked) })
	update(t, s, func(tx umami.Tx) error { return tx.RevokeAPIKey(ctx, k.ID, revoked.Add(time.Hour)) })
	view(t, s, func(tx umami.Tx) error {
		got, err := tx.GetAPIKey(ctx, k.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.LastUsedAt == nil || !got.LastUsedAt.Equal(used) {
			t.Errorf("LastUsedAt = %v, want %v", got.LastUsedAt, used)
		}
		if got.RevokedAt == nil || !got.RevokedAt.Equal(revoked) {
			t.Errorf("RevokedAt = %v, want the first revocation %v", got.RevokedAt, revoked)
		}
		if byHash, err := tx.GetAPIKeyByHash(ctx, k.Hash); err != nil || !reflect.DeepEqual(byHash, got) {
			t.Errorf("GetAPIKeyByHash of a revoked key = %+v, %v; want %+v", byHash, err, got)
		}
		list, err := tx.ListAPIKeys(ctx, f.org.ID)
		if err != nil || len(list) != 1 {
			t.Errorf("ListAPIKeys = %d keys, %v", len(list), err)
		}
		return nil
	})
	wantCode(t, s.Update(ctx, func(tx umami.Tx) error { return tx.RevokeAPIKey(ctx, id(), now()) }), umami.ENotFound)
}

func testAgentsTenancy(t *testing.T, h Harness) {
	s := h.Open(t)
	a, b := newFixture(t, s), newFixture(t, s)
	view(t, s, func(tx umami.Tx) error {
		_, err := tx.GetAgent(ctx, b.org.ID, a.agent.ID)
		wantCode(t, err, umami.ENotFound)
		_, err = tx.GetAgentVersion(ctx, b.org.ID, a.version.ID)
		wantCode(t, err, umami.ENotFound)
		list, err := tx.ListAgents(ctx, a.org.ID, umami.Page{Limit: 10})
		if err != nil || len(list) != 1 || list[0].ID != a.agent.ID {
			t.Errorf("ListAgents(a) = %v, %v", list, err)
		}
		return nil
	})
	wantCode(t, s.Update(ctx, func(tx umami.Tx) error { return tx.PublishAgentVersion(ctx, b.org.ID, a.version.ID, now()) }),
		umami.ENotFound)
}

func testVersions(t *testing.T, h Harness) {
	s := h.Open(t)
	f := newFixture(t, s)
	temp, maxTok := 0.5, 300
	v := &umami.AgentVersion{ID: id(), AgentID: f.agent.ID, OrgID: f.org.ID, Status: umami.VersionDraft,
		Model: "openai/gpt-4o-mini", Instructions: "be brief", Temperature: &temp, MaxOutputTokens: &maxTok,
		Tools: []string{"current_time"}, Metadata: map[string]string{"team": "sre"}, CreatedAt: now()}
	update(t, s, func(tx umami.Tx) error { return tx.CreateAgentVersion(ctx, v) })
	if v.Number != 2 {
		t.Errorf("second version got number %d, want 2", v.Number)
	}
	pub := now()
	update(t, s, func(tx umami.Tx) error { return tx.PublishAgentVersion(ctx, f.org.ID, v.ID, pub) })
	update(t, s, func(tx umami.Tx) error { return tx.PublishAgentVersion(ctx, f.org.ID, v.ID, pub.Add(time.Hour)) })
	view(t, s, func(tx umami.Tx) error {
		got, err := tx.GetAgentVersion(ctx, f.org.ID, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		v.Status, v.PublishedAt = umami.VersionPublished, &pub
		if !reflect.DeepEqual(got, v) {
			t.Errorf("GetAgentVersion =\n%+v\nwant\n%+v", got, v)
		}
		list, err := tx.ListAgentVersions(ctx, f.org.ID, f.agent.ID, umami.Page{Limit: 10})
		if err != nil || len(list) != 2 || list[0].ID != v.ID {
			t.Errorf("ListAgentVersions: %d versions, %v; want 2, newest (%s) first", len(list), err, v.ID)
		}
		return nil
	})
	if first := f.newAgent(t, s).newVersion(t, s); first.Number != 1 { // numbers count per agent
		t.Errorf("another agent's first version got number %d, want 1", first.Number)
	}
}

func testRunsRoundTrip(t *testing.T, h Harness) {
	s := h.Open(t)
	f := newFixture(t, s)
	r := f.newRun(t, s, "hello")
	if r.JobID == 0 {
		t.Fatal("InsertRuns set job id 0")
	}
	got, err := getRun(t, s, f.org.ID, r.ID)
	if err != nil || !reflect.DeepEqual(got, r) {
		t.Fatalf("GetRun =\n%v, %v\nwant\n%v", got, err, fmtRun(r))
	}
	if got, err := getRun(t, s, "", r.ID); err != nil || got.ID != r.ID {
		t.Errorf("GetRun with empty org = %v, %v", got, err)
	}
	other := newFixture(t, s)
	_, err = getRun(t, s, other.org.ID, r.ID)
	wantCode(t, err, umami.ENotFound)
	if st := h.JobState(t, s, r.JobID); st != "available" {
		t.Errorf("job state = %q, want available", st)
	}
}

func testRunsList(t *testing.T, h Harness) {
	s := h.Open(t)
	f := newFixture(t, s)
	other := newFixture(t, s)
	var ids []string
	for i := range 5 {
		ids = append(ids, f.newRun(t, s, fmt.Sprint(i)).ID)
	}
	other.newRun(t, s, "elsewhere")
	var page1, page2 []*umami.Run
	view(t, s, func(tx umami.Tx) (err error) {
		page1, err = tx.ListRuns(ctx, umami.RunFilter{OrgID: f.org.ID, Page: umami.Page{Limit: 3}})
		if err != nil {
			return err
		}
		page2, err = tx.ListRuns(ctx, umami.RunFilter{OrgID: f.org.ID, Page: umami.Page{Limit: 3, After: page1[2].ID}})
		return err
	})
	var got []string
	for _, r := range append(page1, page2...) {
		got = append(got, r.ID)
	}
	want := []string{ids[4], ids[3], ids[2], ids[1], ids[0]}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("pages = %v, want newest first %v", got, want)
	}
	r := page1[0]
	r.Status = umami.RunRunning
	update(t, s, func(tx umami.Tx) error { _, err := tx.UpdateRun(ctx, r, umami.RunQueued); return err })
	view(t, s, func(tx umami.Tx) error {
		running, err := tx.ListRuns(ctx, umami.RunFilter{OrgID: f.org.ID, Status: umami.RunRunning, Page: umami.Page{Limit: 10}})
		if err != nil || len(running) != 1 || running[0].ID != r.ID {
			t.Errorf("status filter: %d runs, %v", len(running), err)
		}
		byVersion, err := tx.ListRuns(ctx, umami.RunFilter{OrgID: f.org.ID, AgentVersionID: other.version.ID, Page: umami.Page{Limit: 10}})
		if err != nil || len(byVersion) != 0 {
			t.Errorf("version filter across orgs: %d runs, %v", len(byVersion), err)
		}
		return nil
	})
}

func testRunsUpdate(t *testing.T, h Harness) {
	s := h.Open(t)
	f := newFixture(t, s)
	r := f.newRun(t, s, "x")
	started, out := now(), "done"
	r.Status, r.StartedAt, r.Attempt = umami.RunRunning, &started, 1
	var ok bool
	update(t, s, func(tx umami.Tx) (err error) { ok, err = tx.UpdateRun(ctx, r, umami.RunQueued); return err })
	if !ok {
		t.Fatal("queued → running refused")
	}
	done := now()
	r.Status, r.Output, r.CompletedAt, r.Usage = umami.RunSucceeded, &out, &done, umami.Usage{InputTokens: 3, OutputTokens: 4}
	update(t, s, func(tx umami.Tx) (err error) { ok, err = tx.UpdateRun(ctx, r, umami.RunQueued); return err })
	if ok {
		t.Fatal("update from queued applied to a running run")
	}
	update(t, s, func(tx umami.Tx) (err error) { ok, err = tx.UpdateRun(ctx, r, umami.RunRunning); return err })
	got, err := getRun(t, s, f.org.ID, r.ID)
	if !ok || err != nil || !reflect.DeepEqual(got, r) {
		t.Errorf("after finish = %v, %v (applied %v); want %v", got, err, ok, fmtRun(r))
	}
	failed := *r
	failed.Status, failed.Error, failed.Output = umami.RunFailed, &umami.RunError{Code: "model_error", Message: "m"}, nil
	update(t, s, func(tx umami.Tx) (err error) { ok, err = tx.UpdateRun(ctx, &failed, umami.RunRunning); return err })
	if ok {
		t.Error("a terminal run was overwritten")
	}
}

func testRunSteps(t *testing.T, h Harness) {
	s := h.Open(t)
	f := newFixture(t, s)
	r := f.newRun(t, s, "x")
	st := now()
	steps := []umami.RunStep{
		{RunID: r.ID, Type: umami.StepModelCall, Name: "test/echo", Input: "x", Output: "call", Usage: &umami.Usage{InputTokens: 1, OutputTokens: 2}, StartedAt: st, CompletedAt: st},
		{RunID: r.ID, Type: umami.StepToolCall, Name: "current_time", Input: "{}", Output: "now", Error: &umami.RunError{Code: "tool_error", Message: "m"}, StartedAt: st, CompletedAt: st},
	}
	update(t, s, func(tx umami.Tx) error { return tx.AddRunSteps(ctx, steps) })
	update(t, s, func(tx umami.Tx) error { return tx.AddRunSteps(ctx, steps[:1]) }) // a resumed attempt appends
	view(t, s, func(tx umami.Tx) error {
		got, err := tx.ListRunSteps(ctx, r.ID)
		if err != nil || len(got) != 3 {
			t.Fatalf("ListRunSteps = %d steps, %v", len(got), err)
		}
		for i, g := range got {
			want := steps[i%2]
			want.Index = i
			if !reflect.DeepEqual(g, want) {
				t.Errorf("step %d = %+v, want %+v", i, g, want)
			}
		}
		return nil
	})
}

func testIdempotency(t *testing.T, h Harness) {
	s := h.Open(t)
	f := newFixture(t, s)
	r := f.newRun(t, s, "x")
	old := now().Add(-25 * time.Hour)
	k := &umami.IdempotencyKey{OrgID: f.org.ID, Key: "k1", RequestHash: "h1", RunID: r.ID, CreatedAt: old}
	update(t, s, func(tx umami.Tx) error { return tx.PutIdempotencyKey(ctx, k) })
	since := now().Add(-umami.IdempotencyTTL)
	view(t, s, func(tx umami.Tx) error {
		_, err := tx.GetIdempotencyKey(ctx, f.org.ID, "k1", since)
		wantCode(t, err, umami.ENotFound) // expired
		return nil
	})
	fresh := &umami.IdempotencyKey{OrgID: f.org.ID, Key: "k1", RequestHash: "h2", RunID: r.ID, CreatedAt: now()}
	update(t, s, func(tx umami.Tx) error { return tx.PutIdempotencyKey(ctx, fresh) })
	other := newFixture(t, s)
	view(t, s, func(tx umami.Tx) error {
		got, err := tx.GetIdempotencyKey(ctx, f.org.ID, "k1", since)
		if err != nil || !reflect.DeepEqual(got, fresh) {
			t.Errorf("GetIdempotencyKey = %+v, %v; want %+v", got, err, fresh)
		}
		_, err = tx.GetIdempotencyKey(ctx, other.org.ID, "k1", since)
		wantCode(t, err, umami.ENotFound) // keys are per org
		return nil
	})
	var n int
	update(t, s, func(tx umami.Tx) (err error) {
		n, err = tx.DeleteIdempotencyKeys(ctx, now().Add(time.Second))
		return err
	})
	if n != 1 {
		t.Errorf("DeleteIdempotencyKeys removed %d, want 1", n)
	}
}

func testEnqueueTx(t *testing.T, h Harness) {
	s := h.Open(t)
	f := newFixture(t, s)
	r := f.run("x")
	boom := fmt.Errorf("boom")
	err := s.Update(ctx, func(tx umami.Tx) (err error) {
		if err := umami.InsertRuns(ctx, tx, r); err != nil {
			return err
		}
		return boom
	})
	if err != boom {
		t.Fatalf("Update = %v, want the callback's error", err)
	}
	if _, err := getRun(t, s, "", r.ID); umami.ErrorCode(err) != umami.ENotFound {
		t.Errorf("rolled-back run exists: %v", err)
	}
	if st := h.JobState(t, s, r.JobID); st != "" {
		t.Errorf("rolled-back job exists in state %q", st)
	}
}

// testCancelJob checks that CancelJob cancels a queued job with its
// transaction, not when that rolls back, and ignores an unknown job.
func testCancelJob(t *testing.T, h Harness) {
	s := h.Open(t)
	f := newFixture(t, s)
	r := f.newRun(t, s, "x")
	boom := errors.New("boom")
	err := s.Update(ctx, func(tx umami.Tx) error {
		if err := tx.CancelJob(ctx, r.JobID); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update = %v, want the callback's error", err)
	}
	if st := h.JobState(t, s, r.JobID); st != "available" {
		t.Errorf("job state after a rolled-back cancel = %q, want available", st)
	}
	update(t, s, func(tx umami.Tx) error { return tx.CancelJob(ctx, r.JobID) })
	if st := h.JobState(t, s, r.JobID); st != "cancelled" {
		t.Errorf("job state after cancel = %q, want cancelled", st)
	}
	update(t, s, func(tx umami.Tx) error { return tx.CancelJob(ctx, r.JobID) })   // again: no error
	update(t, s, func(tx umami.Tx) error { return tx.CancelJob(ctx, 987654321) }) // unknown: no error
}

// testOrphans checks that ListOrphanedRuns returns exactly the queued or
// running runs whose job ended (completed, discarded or cancelled), and
// respects its limit.
func testOrphans(t *testing.T, h Harness) {
	s := h.Open(t)
	f := newFixture(t, s)
	cases := []struct {
		status, job string // job "" stays available
		orphan      bool
	}{
		{umami.RunQueued, "", false},
		{umami.RunQueued, "completed", true},
		{umami.RunQueued, "cancelled", true},
		{umami.RunRunning, "", false},
		{umami.RunRunning, "discarded", true},
		{umami.RunSucceeded, "completed", false},
		{umami.RunFailed, "discarded", false},
		{umami.RunCanceled, "cancelled", false},
	}
	var want []string
	for _, c := range cases {
		r := f.newRun(t, s, c.status+"/"+c.job)
		if c.status != umami.RunQueued {
			r.Status = c.status
			update(t, s, func(tx umami.Tx) error { _, err := tx.UpdateRun(ctx, r, umami.RunQueued); return err })
		}
		if c.job != "" {
			h.SetJobState(t, s, r.JobID, c.job)
		}
		if c.orphan {
			want = append(want, r.ID)
		}
	}
	view(t, s, func(tx umami.Tx) error {
		got, err := pluck(tx.ListOrphanedRuns(ctx, 100))
		slices.Sort(got)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ListOrphanedRuns = %v, %v; want %v", got, err, want)
		}
		if got, err := tx.ListOrphanedRuns(ctx, 1); err != nil || len(got) != 1 || !slices.Contains(want, got[0].ID) {
			t.Errorf("ListOrphanedRuns(limit 1) = %v, %v; want one of %v", got, err, want)
		}
		return nil
	})
}

func testConcurrentWriters(t *testing.T, h Harness) {
	s := h.Open(t)
	f := newFixture(t, s)
	const writers, each = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				r := f.run("x")
				errs <- s.Update(ctx, func(tx umami.Tx) (err error) {
					return umami.InsertRuns(ctx, tx, r)
				})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent write: %v", err)
		}
	}
	view(t, s, func(tx umami.Tx) error {
		runs, err := tx.ListRuns(ctx, umami.RunFilter{OrgID: f.org.ID, Page: umami.Page{Limit: 100}})
		if err != nil || len(runs) != writers*each {
			t.Errorf("%d runs after concurrent writes, want %d (%v)", len(runs), writers*each, err)
		}
		return nil
	})
}

// testNotFound checks that every getter answers not_found, never a nil
// object and a nil error, for an unknown, a malformed and an empty id; that
// lists and conditional writes of such ids match nothing without an error;
// and that none of this spoils the transaction it ran in.
func testNotFound(t *testing.T, h Harness) {
	s := h.Open(t)
	f := newFixture(t, s)
	// Each returns nil when the store found nothing for id, as it should.
	reads := map[string]func(tx umami.Tx, id string) error{
		"GetOrg":          func(tx umami.Tx, id string) error { _, err := tx.GetOrg(ctx, id); return isNotFound(err) },
		"GetAPIKey":       func(tx umami.Tx, id string) error { _, err := tx.GetAPIKey(ctx, id); return isNotFound(err) },
		"GetAPIKeyByHash": func(tx umami.Tx, id string) error { _, err := tx.GetAPIKeyByHash(ctx, id); return isNotFound(err) },
		"GetAgent":        func(tx umami.Tx, id string) error { _, err := tx.GetAgent(ctx, f.org.ID, id); return isNotFound(err) },
		"GetAgent of org": func(tx umami.Tx, id string) error { _, err := tx.GetAgent(ctx, id, f.agent.ID); return isNotFound(err) },
		"GetAgentVersion": func(tx umami.Tx, id string) error {
			_, err := tx.GetAgentVersion(ctx, f.org.ID, id)
			return isNotFound(err)
		},
		"GetRun":            func(tx umami.Tx, id string) error { _, err := tx.GetRun(ctx, f.org.ID, id); return isNotFound(err) },
		"GetRun of any org": func(tx umami.Tx, id string) error { _, err := tx.GetRun(ctx, "", id); return isNotFound(err) },
		"GetIdempotencyKey": func(tx umami.Tx, id string) error {
			_, err := tx.GetIdempotencyKey(ctx, id, "k", time.Time{})
			return isNotFound(err)
		},
		"ListAgents": func(tx umami.Tx, id string) error {
			return sameIDs(pluck(tx.ListAgents(ctx, id, umami.Page{Limit: 10})))()
		},
		"ListAgentVersions": func(tx umami.Tx, id string) error {
			return sameIDs(pluck(tx.ListAgentVersions(ctx, f.org.ID, id, umami.Page{Limit: 10})))()
		},
		"ListRuns": func(tx umami.Tx, id string) error {
			return sameIDs(pluck(tx.ListRuns(ctx, umami.RunFilter{OrgID: id, Page: umami.Page{Limit: 10}})))()
		},
		"ListAPIKeys": func(tx umami.Tx, id string) error {
			if keys, err := tx.ListAPIKeys(ctx, id); len(keys) != 0 || err != nil {
				return fmt.Errorf("= %v, %v; want none", keys, err)
			}
			return nil
		},
		"ListRunSteps": func(tx umami.Tx, id string) error {
			if steps, err := tx.ListRunSteps(ctx, id); len(steps) != 0 || err != nil {
				return fmt.Errorf("= %v, %v; want none", steps, err)
			}
			return nil
		},
	}
	writes := map[string]func(tx umami.Tx, id string) error{
		"RevokeAPIKey": func(tx umami.Tx, id string) error { return isNotFound(tx.RevokeAPIKey(ctx, id, now())) },
		"PublishAgentVersion": func(tx umami.Tx, id string) error {
			return isNotFound(tx.PublishAgentVersion(ctx, f.org.ID, id, now()))
		},
		"TouchAPIKeys": func(tx umami.Tx, id string) error { return tx.TouchAPIKeys(ctx, map[string]time.Time{id: now()}) },
		"UpdateRun": func(tx umami.Tx, id string) error {
			return notApplied(tx.UpdateRun(ctx, absentRun(f, id), umami.RunQueued, umami.RunRunning))
		},
		"StartRuns": func(tx umami.Tx, id string) error {
			r, err := startRun(tx, id, now())
			return notApplied(r != nil, err)
		},
		"FinishRuns": func(tx umami.Tx, id string) error {
			return notApplied(finishRun(tx, absentRun(f, id), []umami.RunStep{step(id, "x")}))
		},
	}
	check := func(tx umami.Tx, calls map[string]func(umami.Tx, string) error) {
		for _, missing := range []string{id(), "not-a-uuid", ""} {
			for name, call := range calls {
				if err := call(tx, missing); err != nil {
					t.Errorf("%s(%q): %v", name, missing, err)
				}
			}
		}
	}
	view(t, s, func(tx umami.Tx) error { check(tx, reads); return nil })
	o := &umami.Org{ID: id(), Name: "after the misses", CreatedAt: now()}
	update(t, s, func(tx umami.Tx) error {
		check(tx, reads)
		check(tx, writes)
		return tx.CreateOrg(ctx, o)
	})
	view(t, s, func(tx umami.Tx) error {
		if got, err := tx.GetOrg(ctx, o.ID); err != nil || !reflect.DeepEqual(got, o) {
			t.Errorf("org written after the misses, in the same Update = %v, %v; want %+v", got, err, o)
		}
		return nil
	})
}

// absentRun is a running run of f with id, which the store does not hold.
func absentRun(f fixture, id string) *umami.Run {
	return &umami.Run{ID: id, OrgID: f.org.ID, AgentID: f.agent.ID, AgentVersionID: f.version.ID,
		Status: umami.RunRunning, Metadata: map[string]string{}, CreatedAt: now()}
}

func exec(t testing.TB, s umami.Store, fn func(umami.Tx) error) {
	t.Helper()
	if err := s.Exec(ctx, fn); err != nil {
		t.Fatalf("exec: %v", err)
	}
}

func testStartAndFinish(t *testing.T, h Harness) {
	s := h.Open(t)
	f := newFixture(t, s)
	r := f.newRun(t, s, "x")
	first := now()
	var started *umami.Run
	exec(t, s, func(tx umami.Tx) (err error) { started, err = startRun(tx, r.ID, first); return err })
	if started.Status != umami.RunRunning || started.Attempt != 1 || started.StartedAt == nil || !started.StartedAt.Equal(first) {
		t.Fatalf("StartRun = %+v", started)
	}
	// A resumed attempt keeps the first start time.
	exec(t, s, func(tx umami.Tx) (err error) {
		started, err = startRun(tx, r.ID, first.Add(time.Minute))
		return err
	})
	if started.Attempt != 2 || !started.StartedAt.Equal(first) {
		t.Fatalf("second StartRun = attempt %d, started %v", started.Attempt, started.StartedAt)
	}
	out, done := "answer", now()
	started.Status, started.Output, started.CompletedAt = umami.RunSucceeded, &out, &done
	started.Usage = umami.Usage{InputTokens: 5, OutputTokens: 6}
	steps := []umami.RunStep{
		{RunID: r.ID, Type: umami.StepModelCall, Name: "test/echo", Input: "x", Output: "call",
			Usage: &umami.Usage{InputTokens: 2, OutputTokens: 3}, StartedAt: first, CompletedAt: done},
		{RunID: r.ID, Type: umami.StepToolCall, Name: "current_time", Input: "{}", Output: "boom",
			Error: &umami.RunError{Code: "tool_error", Message: "boom"}, StartedAt: first, CompletedAt: done},
	}
	var ok bool
	exec(t, s, func(tx umami.Tx) (err error) { ok, err = finishRun(tx, started, steps); return err })
	if !ok {
		t.Fatal("FinishRun of a running run did not apply")
	}
	got, err := getRun(t, s, f.org.ID, r.ID)
	if err != nil || !reflect.DeepEqual(got, started) {
		t.Errorf("after FinishRun = %v, %v; want %v", got, err, fmtRun(started))
	}
	again := *started
	again.Status, again.Output = umami.RunFailed, nil
	exec(t, s, func(tx umami.Tx) (err error) { ok, err = finishRun(tx, &again, steps); return err })
	if ok {
		t.Error("FinishRun applied to a finished run")
	}
	view(t, s, func(tx umami.Tx) error {
		list, err := tx.ListRunSteps(ctx, r.ID)
		if err != nil || len(list) != 2 {
			t.Fatalf("steps = %d, %v; want the 2 of the applied finish", len(list), err)
		}
		for i, st := range list {
			want := steps[i]
			want.Index = i
			if !reflect.DeepEqual(st, want) {
				t.Errorf("step %d = %+v, want %+v", i, st, want)
			}
		}
		return nil
	})
	exec(t, s, func(tx umami.Tx) (err error) { started, err = startRun(tx, r.ID, now()); return err })
	if started != nil {
		t.Errorf("StartRun of a finished run = %v; want nil", fmtRun(started))
	}
	exec(t, s, func(tx umami.Tx) (err error) { started, err = startRun(tx, id(), now()); return err })
	if started != nil {
		t.Errorf("StartRun of an unknown run = %v; want nil", fmtRun(started))
	}
}

// testBatchedRuns creates, starts and finishes several runs per call, as
// the platform's batches do, mixing items that apply with items that do not.
func testBatchedRuns(t *testing.T, h Harness) {
	s := h.Open(t)
	f := newFixture(t, s)
	runs := make([]*umami.Run, 4)
	for i := range runs {
		runs[i] = f.run(fmt.Sprint("input ", i))
		runs[i].Metadata = map[string]string{"i": fmt.Sprint(i)}
	}
	update(t, s, func(tx umami.Tx) error { return umami.InsertRuns(ctx, tx, runs...) })
	jobs := map[int64]bool{}
	for _, r := range runs {
		if got, err := getRun(t, s, f.org.ID, r.ID); err != nil || !reflect.DeepEqual(got, r) {
			t.Fatalf("GetRun after CreateRuns =\n%v, %v\nwant\n%v", got, err, fmtRun(r))
		}
		if jobs[r.JobID] || h.JobState(t, s, r.JobID) != "available" {
			t.Fatalf("run %s: job %d repeated or not available", r.ID, r.JobID)
		}
		jobs[r.JobID] = true
	}

	// Start: runs 0-2 (1 twice), a run that is not there; run 3 stays queued.
	at := now()
	var started []*umami.Run
	unknown := id()
	exec(t, s, func(tx umami.Tx) (err error) {
		started, err = tx.StartRuns(ctx, at, runs[2].ID, unknown, runs[0].ID, runs[1].ID, runs[1].ID)
		return err
	})
	if len(started) != 5 || started[1] != nil || started[4] != nil {
		t.Fatalf("StartRuns returned %d runs, unknown id -> %v, repeated id -> %v; want 5, nil, nil",
			len(started), started[1], started[4])
	}
	for i, want := range []*umami.Run{runs[2], nil, runs[0], runs[1], nil} {
		if want == nil {
			continue
		}
		if r := started[i]; r == nil || r.ID != want.ID || r.Status != umami.RunRunning || r.Attempt != 1 ||
			r.StartedAt == nil || !r.StartedAt.Equal(at) {
			t.Fatalf("StartRuns[%d] = %v; want %s running, attempt 1 (an id given twice starts once)", i, fmtRun(r), want.ID)
		}
	}

	// Finish: run 0 with two steps, run 1 failed with one, run 2 canceled
	// meanwhile (not applied, no steps), run 3 never started (not applied),
	// run 0 again (not applied: the first finish of a run wins).
	canceled := *started[0]
	canceled.Status = umami.RunCanceled
	update(t, s, func(tx umami.Tx) error { _, err := tx.UpdateRun(ctx, &canceled, umami.RunRunning); return err })
	end := now()
	out := "done"
	r0, r1, r2, r3 := *started[2], *started[3], *started[0], *runs[3]
	r0.Status, r0.Output, r0.CompletedAt, r0.Usage = umami.RunSucceeded, &out, &end, umami.Usage{InputTokens: 1, OutputTokens: 2}
	r1.Status, r1.CompletedAt = umami.RunFailed, &end
	r1.Error = &umami.RunError{Code: "model_error", Message: "no"}
	r2.Status, r2.Output, r2.CompletedAt = umami.RunSucceeded, &out, &end
	r3.Status, r3.Output, r3.CompletedAt = umami.RunSucceeded, &out, &end
	again := r0
	again.Status, again.Output = umami.RunFailed, nil
	steps := map[string][]umami.RunStep{
		r0.ID: {step(r0.ID, "a"), step(r0.ID, "b")},
		r1.ID: {step(r1.ID, "c")},
		r2.ID: {step(r2.ID, "d")},
		r3.ID: {step(r3.ID, "e")},
	}
	var done []bool
	exec(t, s, func(tx umami.Tx) (err error) {
		done, err = tx.FinishRuns(ctx, umami.RunFinish{Run: &r0, Steps: steps[r0.ID]},
			umami.RunFinish{Run: &r2, Steps: steps[r2.ID]}, umami.RunFinish{Run: &r1, Steps: steps[r1.ID]},
			umami.RunFinish{Run: &r3, Steps: steps[r3.ID]}, umami.RunFinish{Run: &again, Steps: []umami.RunStep{step(r0.ID, "z")}})
		return err
	})
	if want := []bool{true, false, true, false, false}; !reflect.DeepEqual(done, want) {
		t.Fatalf("FinishRuns = %v; want %v", done, want)
	}
	for _, want := range []*umami.Run{&r0, &r1, &canceled, runs[3]} {
		got, err := getRun(t, s, f.org.ID, want.ID)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("after FinishRuns =\n%v, %v\nwant\n%v", got, err, fmtRun(want))
		}
	}
	view(t, s, func(tx umami.Tx) error {
		for _, r := range []*umami.Run{&r0, &r1, &r2, &r3} {
			list, err := tx.ListRunSteps(ctx, r.ID)
			want := steps[r.ID]
			if r == &r2 || r == &r3 {
				want = nil
			}
			if err != nil || len(list) != len(want) {
				t.Fatalf("run %s: %d steps, %v; want %d", r.ID, len(list), err, len(want))
			}
			for i := range list {
				w := want[i]
				w.Index = i
				if !reflect.DeepEqual(list[i], w) {
					t.Errorf("run %s step %d = %+v; want %+v", r.ID, i, list[i], w)
				}
			}
		}
		return nil
	})
}

// A finish from an attempt that has since been resumed elsewhere (its
// worker was presumed lost) does not apply; the current attempt's does.
func testFinishStaleAttempt(t *testing.T, h Harness) {
	s := h.Open(t)
	f := newFixture(t, s)
	r := f.newRun(t, s, "x")
	var first, second *umami.Run
	exec(t, s, func(tx umami.Tx) (err error) { first, err = startRun(tx, r.ID, now()); return err })
	exec(t, s, func(tx umami.Tx) (err error) { second, err = startRun(tx, r.ID, now()); return err })
	if first.Attempt != 1 || second.Attempt != 2 {
		t.Fatalf("attempts %d, %d; want 1, 2", first.Attempt, second.Attempt)
	}
	end, stale, current := now(), "stale", "current"
	first.Status, first.Output, first.CompletedAt = umami.RunSucceeded, &stale, &end
	second.Status, second.Output, second.CompletedAt = umami.RunSucceeded, &current, &end
	step := umami.RunStep{RunID: r.ID, Type: umami.StepModelCall, Name: "m", Input: "i", Output: "o", StartedAt: end, CompletedAt: end}
	for _, c := range []struct {
		run  *umami.Run
		want bool
	}{{first, false}, {second, true}} {
		var ok bool
		exec(t, s, func(tx umami.Tx) (err error) { ok, err = finishRun(tx, c.run, []umami.RunStep{step}); return err })
		if ok != c.want {
			t.Errorf("finish of attempt %d applied = %v; want %v", c.run.Attempt, ok, c.want)
		}
	}
	got, err := getRun(t, s, f.org.ID, r.ID)
	if err != nil || got.Output == nil || *got.Output != current || got.Attempt != 2 {
		t.Errorf("run = %v, %v; want the output of attempt 2", got, err)
	}
	view(t, s, func(tx umami.Tx) error {
		if steps, err := tx.ListRunSteps(ctx, r.ID); err != nil || len(steps) != 1 {
			t.Errorf("%d steps, %v; want only the current attempt's one", len(steps), err)
		}
		return nil
	})
}
