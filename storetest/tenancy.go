package storetest

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/umamiai/umami"
)

// testTenancy calls every org-scoped method with another org's id on one
// org's objects: reads find nothing, lists hold nothing of that org's, and
// writes apply to nothing. Then the objects are checked unchanged.
func testTenancy(t *testing.T, h Harness) {
	s := h.Open(t)
	a, b := newFixture(t, s), newFixture(t, s)
	draft := a.newVersion(t, s)
	queued, running := a.newRun(t, s, "queued"), a.newRun(t, s, "running")
	exec(t, s, func(tx umami.Tx) (err error) { running, err = startRun(tx, running.ID, now()); return err })
	bRun := b.newRun(t, s, "b")
	aKey, bKey := newKey(t, s, a.org.ID), newKey(t, s, b.org.ID)
	key := &umami.IdempotencyKey{OrgID: a.org.ID, Key: "k", RequestHash: "h", RunID: queued.ID, CreatedAt: now()}
	update(t, s, func(tx umami.Tx) error { return tx.PutIdempotencyKey(ctx, key) })
	other := b.org.ID

	reads := []struct {
		name  string
		check func(tx umami.Tx) error
	}{
		{"GetAgent", func(tx umami.Tx) error { _, err := tx.GetAgent(ctx, other, a.agent.ID); return isNotFound(err) }},
		{"GetAgentVersion", func(tx umami.Tx) error {
			_, err := tx.GetAgentVersion(ctx, other, a.version.ID)
			return isNotFound(err)
		}},
		{"GetRun", func(tx umami.Tx) error { _, err := tx.GetRun(ctx, other, queued.ID); return isNotFound(err) }},
		{"GetIdempotencyKey", func(tx umami.Tx) error {
			_, err := tx.GetIdempotencyKey(ctx, other, key.Key, time.Time{})
			return isNotFound(err)
		}},
		{"ListAgents", func(tx umami.Tx) error {
			return sameIDs(pluck(tx.ListAgents(ctx, other, umami.Page{Limit: 10})))(b.agent.ID)
		}},
		{"ListAgentVersions", func(tx umami.Tx) error {
			return sameIDs(pluck(tx.ListAgentVersions(ctx, other, a.agent.ID, umami.Page{Limit: 10})))()
		}},
		{"ListRuns", func(tx umami.Tx) error {
			return sameIDs(pluck(tx.ListRuns(ctx, umami.RunFilter{OrgID: other, Page: umami.Page{Limit: 10}})))(bRun.ID)
		}},
		{"ListRuns by another org's version", func(tx umami.Tx) error {
			return sameIDs(pluck(tx.ListRuns(ctx, umami.RunFilter{OrgID: other, AgentVersionID: a.version.ID,
				Page: umami.Page{Limit: 10}})))()
		}},
		{"ListAPIKeys", func(tx umami.Tx) error {
			keys, err := tx.ListAPIKeys(ctx, other)
			if err != nil || len(keys) != 1 || keys[0].ID != bKey.ID {
				return fmt.Errorf("= %v, %v; want only %s", keys, err, bKey.ID)
			}
			return nil
		}},
	}
	view(t, s, func(tx umami.Tx) error {
		for _, r := range reads {
			if err := r.check(tx); err != nil {
				t.Errorf("%s with another org's id: %v", r.name, err)
			}
		}
		return nil
	})

	writes := []struct {
		name  string
		write func(tx umami.Tx) error
	}{
		{"PublishAgentVersion", func(tx umami.Tx) error {
			return isNotFound(tx.PublishAgentVersion(ctx, other, draft.ID, now()))
		}},
		{"UpdateRun", func(tx umami.Tx) error {
			r := *queued
			r.OrgID, r.Status = other, umami.RunCanceled
			return notApplied(tx.UpdateRun(ctx, &r, umami.RunQueued))
		}},
		{"FinishRuns", func(tx umami.Tx) error {
			r := *running
			out := "stolen"
			r.OrgID, r.Status, r.Output = other, umami.RunSucceeded, &out
			done, err := tx.FinishRuns(ctx, umami.RunFinish{Run: &r, Steps: []umami.RunStep{{RunID: r.ID,
				Type: umami.StepModelCall, Name: "m", StartedAt: now(), CompletedAt: now()}}})
			if err != nil || len(done) != 1 {
				return fmt.Errorf("= %v, %v; want [false]", done, err)
			}
			return notApplied(done[0], nil)
		}},
		{"PutIdempotencyKey", func(tx umami.Tx) error { // the same key in another org is another key
			return tx.PutIdempotencyKey(ctx, &umami.IdempotencyKey{OrgID: other, Key: key.Key, RequestHash: "h2",
				RunID: bRun.ID, CreatedAt: now()})
		}},
	}
	for _, w := range writes {
		if err := s.Update(ctx, w.write); err != nil {
			t.Errorf("%s with another org's id: %v", w.name, err)
		}
	}

	view(t, s, func(tx umami.Tx) error {
		for _, want := range []*umami.Run{queued, running} {
			if got, err := tx.GetRun(ctx, a.org.ID, want.ID); err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("run after another org's writes =\n%v, %v\nwant\n%v", got, err, fmtRun(want))
			}
		}
		if steps, err := tx.ListRunSteps(ctx, running.ID); err != nil || len(steps) != 0 {
			t.Errorf("steps after another org's FinishRuns = %v, %v; want none", steps, err)
		}
		if got, err := tx.GetAgentVersion(ctx, a.org.ID, draft.ID); err != nil || !reflect.DeepEqual(got, draft) {
			t.Errorf("draft after another org's publish = %+v, %v; want %+v", got, err, draft)
		}
		if got, err := tx.GetIdempotencyKey(ctx, a.org.ID, key.Key, time.Time{}); err != nil || !reflect.DeepEqual(got, key) {
			t.Errorf("key after another org's put = %+v, %v; want %+v", got, err, key)
		}
		if got, err := tx.GetIdempotencyKey(ctx, other, key.Key, time.Time{}); err != nil || got.RunID != bRun.ID {
			t.Errorf("other org's key = %+v, %v; want its own run %s", got, err, bRun.ID)
		}
		if keys, err := tx.ListAPIKeys(ctx, a.org.ID); err != nil || len(keys) != 1 || !reflect.DeepEqual(keys[0], aKey) {
			t.Errorf("ListAPIKeys(a) = %v, %v; want only %+v", keys, err, aKey)
		}
		return nil
	})
}

// isNotFound describes err unless its code is not_found.
func isNotFound(err error) error {
	if code := umami.ErrorCode(err); code != umami.ENotFound {
		return fmt.Errorf("error %v (code %q), want %s", err, code, umami.ENotFound)
	}
	return nil
}

// notApplied describes a conditional write's result unless it is false, nil.
func notApplied(ok bool, err error) error {
	if ok || err != nil {
		return fmt.Errorf("= %v, %v; want false, nil (applied to nothing)", ok, err)
	}
	return nil
}

// sameIDs returns a check that a list result holds exactly the ids want, in
// order.
func sameIDs(got []string, err error) func(want ...string) error {
	return func(want ...string) error {
		if err != nil || len(got) != len(want) || (len(got) > 0 && !reflect.DeepEqual(got, want)) {
			return fmt.Errorf("= %v, %v; want %v", got, err, want)
		}
		return nil
	}
}
