package storetest

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/umamiai/umami"
)

// testDuplicates checks that creating what already exists (the same id, or
// a key's hash) answers conflict.
func testDuplicates(t *testing.T, h Harness) {
	s := h.Open(t)
	f := newFixture(t, s)
	r := f.newRun(t, s, "x")
	k := newKey(t, s, f.org.ID)
	creates := map[string]func(tx umami.Tx) error{
		"CreateOrg": func(tx umami.Tx) error {
			return tx.CreateOrg(ctx, &umami.Org{ID: f.org.ID, Name: "again", CreatedAt: now()})
		},
		"CreateAgent": func(tx umami.Tx) error { a := *f.agent; return tx.CreateAgent(ctx, &a) },
		"CreateAgentVersion": func(tx umami.Tx) error {
			v := *f.version
			return tx.CreateAgentVersion(ctx, &v)
		},
		"CreateAPIKey same hash": func(tx umami.Tx) error { c := *k; c.ID = id(); return tx.CreateAPIKey(ctx, &c) },
		"CreateRuns":             func(tx umami.Tx) error { c := *r; return tx.CreateRuns(ctx, &c) },
	}
	for name, create := range creates {
		if err := s.Update(ctx, create); umami.ErrorCode(err) != umami.EConflict {
			t.Errorf("%s of an existing object = %v (code %q), want %s", name, err, umami.ErrorCode(err), umami.EConflict)
		}
	}
	if got, err := getRun(t, s, f.org.ID, r.ID); err != nil || !reflect.DeepEqual(got, r) {
		t.Errorf("run after a duplicate create = %v, %v; want %v", got, err, fmtRun(r))
	}
}

// testTouchAPIKeys checks that TouchAPIKeys sets several keys' last use at
// once, keeps the later of stored and given, and passes over ids that name
// no key.
func testTouchAPIKeys(t *testing.T, h Harness) {
	s := h.Open(t)
	f := newFixture(t, s)
	k1, k2, untouched := newKey(t, s, f.org.ID), newKey(t, s, f.org.ID), newKey(t, s, f.org.ID)
	t1, t2 := now(), now().Add(time.Minute)
	update(t, s, func(tx umami.Tx) error {
		return tx.TouchAPIKeys(ctx, map[string]time.Time{k1.ID: t1, k2.ID: t2, id(): t2, "not-a-uuid": t2})
	})
	update(t, s, func(tx umami.Tx) error { // k1 moves on, k2 does not move back
		return tx.TouchAPIKeys(ctx, map[string]time.Time{k1.ID: t2, k2.ID: t1})
	})
	update(t, s, func(tx umami.Tx) error { return tx.TouchAPIKeys(ctx, nil) })
	view(t, s, func(tx umami.Tx) error {
		for _, c := range []struct {
			key  *umami.APIKey
			want *time.Time
		}{{k1, &t2}, {k2, &t2}, {untouched, nil}} {
			got, err := tx.GetAPIKey(ctx, c.key.ID)
			if err != nil || !reflect.DeepEqual(got.LastUsedAt, c.want) {
				t.Errorf("key %s: LastUsedAt = %v, %v; want %v", c.key.ID, lastUsed(got), err, c.want)
			}
		}
		return nil
	})
}

func lastUsed(k *umami.APIKey) *time.Time {
	if k == nil {
		return nil
	}
	return k.LastUsedAt
}

// testUpdateRunFields checks that UpdateRun writes exactly the mutable
// fields (status, output, error, usage, attempt, started_at, completed_at)
// and applies from any of several statuses.
func testUpdateRunFields(t *testing.T, h Harness) {
	s := h.Open(t)
	f := newFixture(t, s)
	r := f.newRun(t, s, "input")
	other := newFixture(t, s)
	w := *r
	started, completed, out := now(), now().Add(time.Second), "output"
	w.Status, w.Output, w.Error, w.Usage, w.Attempt = umami.RunFailed, &out, &umami.RunError{Code: "c", Message: "m"},
		umami.Usage{InputTokens: 7, OutputTokens: 8}, 3
	w.StartedAt, w.CompletedAt = &started, &completed
	// Immutable fields: whatever w says, the stored values stay.
	w.Input, w.Metadata, w.JobID, w.CreatedAt = "changed", map[string]string{"changed": "yes"}, r.JobID+1, now().Add(time.Hour)
	w.AgentID, w.AgentVersionID = other.agent.ID, other.version.ID
	var ok bool
	update(t, s, func(tx umami.Tx) (err error) {
		ok, err = tx.UpdateRun(ctx, &w, umami.RunRunning, umami.RunQueued)
		return err
	})
	if !ok {
		t.Fatal("UpdateRun from running or queued did not apply to a queued run")
	}
	want := *r
	want.Status, want.Output, want.Error, want.Usage, want.Attempt = w.Status, w.Output, w.Error, w.Usage, w.Attempt
	want.StartedAt, want.CompletedAt = w.StartedAt, w.CompletedAt
	if got, err := getRun(t, s, f.org.ID, r.ID); err != nil || !reflect.DeepEqual(got, &want) {
		t.Errorf("after UpdateRun =\n%v, %v\nwant\n%v", got, err, fmtRun(&want))
	}
	// Back to nil: an output, error and times that are cleared are cleared.
	w = want
	w.Status, w.Output, w.Error, w.StartedAt, w.CompletedAt = umami.RunQueued, nil, nil, nil, nil
	update(t, s, func(tx umami.Tx) (err error) { ok, err = tx.UpdateRun(ctx, &w, umami.RunFailed); return err })
	if got, err := getRun(t, s, f.org.ID, r.ID); !ok || err != nil || !reflect.DeepEqual(got, &w) {
		t.Errorf("after clearing UpdateRun (applied %v) =\n%v, %v\nwant\n%v", ok, got, err, fmtRun(&w))
	}
}

// testStepsPerRun checks that one AddRunSteps call holding several runs'
// steps numbers each run's steps on its own, in order.
func testStepsPerRun(t *testing.T, h Harness) {
	s := h.Open(t)
	f := newFixture(t, s)
	a, b := f.newRun(t, s, "a"), f.newRun(t, s, "b")
	update(t, s, func(tx umami.Tx) error { return tx.AddRunSteps(ctx, []umami.RunStep{step(a.ID, "a0")}) })
	update(t, s, func(tx umami.Tx) error {
		return tx.AddRunSteps(ctx, []umami.RunStep{step(b.ID, "b0"), step(a.ID, "a1"), step(b.ID, "b1"), step(a.ID, "a2")})
	})
	view(t, s, func(tx umami.Tx) error {
		for _, c := range []struct {
			run  *umami.Run
			want []string
		}{{a, []string{"a0", "a1", "a2"}}, {b, []string{"b0", "b1"}}} {
			steps, err := tx.ListRunSteps(ctx, c.run.ID)
			var names []string
			for i, st := range steps {
				if st.Index != i || st.RunID != c.run.ID {
					t.Errorf("run %s step %d: index %d, run %s", c.run.ID, i, st.Index, st.RunID)
				}
				names = append(names, st.Name)
			}
			if err != nil || !reflect.DeepEqual(names, c.want) {
				t.Errorf("run %s steps = %v, %v; want %v", c.run.ID, names, err, c.want)
			}
		}
		return nil
	})
}

// testIdempotencyRules checks the edges of idempotency keys: a key is
// found from exactly its creation time; a live record is never replaced
// (conflict); DeleteIdempotencyKeys removes records strictly before its
// time, of every org.
func testIdempotencyRules(t *testing.T, h Harness) {
	s := h.Open(t)
	f, other := newFixture(t, s), newFixture(t, s)
	r1, r2 := f.newRun(t, s, "1"), f.newRun(t, s, "2")
	at := now()
	k := &umami.IdempotencyKey{OrgID: f.org.ID, Key: "k", RequestHash: "h1", RunID: r1.ID, CreatedAt: at}
	update(t, s, func(tx umami.Tx) error { return tx.PutIdempotencyKey(ctx, k) })
	view(t, s, func(tx umami.Tx) error {
		if got, err := tx.GetIdempotencyKey(ctx, f.org.ID, "k", at); err != nil || !reflect.DeepEqual(got, k) {
			t.Errorf("GetIdempotencyKey since its creation = %+v, %v; want %+v", got, err, k)
		}
		_, err := tx.GetIdempotencyKey(ctx, f.org.ID, "k", at.Add(time.Microsecond))
		wantCode(t, err, umami.ENotFound)
		return nil
	})

	live := &umami.IdempotencyKey{OrgID: f.org.ID, Key: "k", RequestHash: "h2", RunID: r2.ID, CreatedAt: at.Add(time.Hour)}
	wantCode(t, s.Update(ctx, func(tx umami.Tx) error { return tx.PutIdempotencyKey(ctx, live) }), umami.EConflict)
	view(t, s, func(tx umami.Tx) error {
		if got, err := tx.GetIdempotencyKey(ctx, f.org.ID, "k", time.Time{}); err != nil || !reflect.DeepEqual(got, k) {
			t.Errorf("after a put over a live record = %+v, %v; want the first %+v", got, err, k)
		}
		return nil
	})

	old := at.Add(-2 * time.Hour)
	update(t, s, func(tx umami.Tx) error {
		return errors.Join(
			tx.PutIdempotencyKey(ctx, &umami.IdempotencyKey{OrgID: f.org.ID, Key: "old", RequestHash: "h", RunID: r1.ID, CreatedAt: old}),
			tx.PutIdempotencyKey(ctx, &umami.IdempotencyKey{OrgID: other.org.ID, Key: "old", RequestHash: "h", RunID: r1.ID, CreatedAt: old}))
	})
	var n int
	update(t, s, func(tx umami.Tx) (err error) { n, err = tx.DeleteIdempotencyKeys(ctx, at); return err })
	if n != 2 {
		t.Errorf("DeleteIdempotencyKeys(before %v) removed %d, want the 2 older records", at, n)
	}
	view(t, s, func(tx umami.Tx) error {
		if got, err := tx.GetIdempotencyKey(ctx, f.org.ID, "k", time.Time{}); err != nil || !reflect.DeepEqual(got, k) {
			t.Errorf("record created at exactly the cut-off = %+v, %v; want it kept", got, err)
		}
		for _, org := range []string{f.org.ID, other.org.ID} {
			_, err := tx.GetIdempotencyKey(ctx, org, "old", time.Time{})
			wantCode(t, err, umami.ENotFound)
		}
		return nil
	})
}
