package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/umamiai/umami"
)

// testPingAndClose checks that an open store answers Ping, and that once
// closed every entry point returns an error: none panics or hangs.
func testPingAndClose(t *testing.T, h Harness) {
	s := h.Open(t)
	f := newFixture(t, s)
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping of an open store: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	calls := []struct {
		name string
		call func(context.Context) error
	}{
		{"Ping", s.Ping},
		{"View", func(ctx context.Context) error {
			return s.View(ctx, func(tx umami.Tx) error { _, err := tx.GetOrg(ctx, f.org.ID); return err })
		}},
		{"Update", func(ctx context.Context) error {
			return s.Update(ctx, func(tx umami.Tx) error {
				return tx.CreateOrg(ctx, &umami.Org{ID: id(), Name: "late", CreatedAt: now()})
			})
		}},
		{"Exec", func(ctx context.Context) error {
			return s.Exec(ctx, func(tx umami.Tx) error { _, err := tx.StartRuns(ctx, now(), id()); return err })
		}},
	}
	for _, c := range calls {
		switch problem, err := callSafely(c.call); {
		case problem != "":
			t.Errorf("%s after Close %s, want an error", c.name, problem)
		case err == nil:
			t.Errorf("%s after Close returned nil, want an error", c.name)
		default:
			t.Logf("%s after Close: %v", c.name, err)
		}
	}
}

// callSafely calls fn with a deadline and returns its error, or describes
// the problem when fn panics or outlives the deadline by far.
func callSafely(fn func(context.Context) error) (problem string, err error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	type result struct {
		problem string
		err     error
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- result{problem: fmt.Sprintf("panicked: %v", p)}
			}
		}()
		done <- result{err: fn(ctx)}
	}()
	select {
	case r := <-done:
		return r.problem, r.err
	case <-time.After(15 * time.Second):
		return "hung past its deadline", nil
	}
}

// testViewIsReadOnly checks the contract's "read-only access": every write
// attempted in View fails and leaves nothing behind.
func testViewIsReadOnly(t *testing.T, h Harness) {
	s := h.Open(t)
	f := newFixture(t, s)
	r := f.newRun(t, s, "x")
	org := &umami.Org{ID: id(), Name: "in view", CreatedAt: now()}
	writes := []struct {
		name  string
		write func(tx umami.Tx) error
	}{
		{"CreateOrg", func(tx umami.Tx) error { return tx.CreateOrg(ctx, org) }},
		{"UpdateRun", func(tx umami.Tx) error {
			w := *r
			w.Status = umami.RunCanceled
			_, err := tx.UpdateRun(ctx, &w, umami.RunQueued)
			return err
		}},
		{"StartRuns", func(tx umami.Tx) error { _, err := tx.StartRuns(ctx, now(), r.ID); return err }},
		{"EnqueueRuns", func(tx umami.Tx) error { _, err := tx.EnqueueRuns(ctx, umami.RunJobArgs{RunID: id()}); return err }},
		{"CancelJob", func(tx umami.Tx) error { return tx.CancelJob(ctx, r.JobID) }},
	}
	for _, w := range writes {
		if err := s.View(ctx, w.write); err == nil {
			t.Errorf("%s in View succeeded, want an error", w.name)
		} else if code := umami.ErrorCode(err); code != umami.EInternal {
			t.Errorf("%s in View: %v (code %q); want an internal error, a bug and not an outage", w.name, err, code)
		}
	}
	view(t, s, func(tx umami.Tx) error {
		if _, err := tx.GetOrg(ctx, org.ID); umami.ErrorCode(err) != umami.ENotFound {
			t.Errorf("org created in View exists: %v", err)
		}
		return nil
	})
	if got, err := getRun(t, s, f.org.ID, r.ID); err != nil || got.Status != umami.RunQueued || got.Attempt != 0 {
		t.Errorf("run after writes in View = %v, %v; want it queued, attempt 0", got, err)
	}
	if st := h.JobState(t, s, r.JobID); st != "available" {
		t.Errorf("job after CancelJob in View is %q, want available", st)
	}
}

// testViewSeesLatestCommitted checks that each statement of a View sees
// what was committed before it, even after the View began.
func testViewSeesLatestCommitted(t *testing.T, h Harness) {
	s := h.Open(t)
	o := &umami.Org{ID: id(), Name: "late", CreatedAt: now()}
	view(t, s, func(tx umami.Tx) error {
		if _, err := tx.GetOrg(ctx, o.ID); umami.ErrorCode(err) != umami.ENotFound {
			t.Fatalf("GetOrg before the commit: %v", err)
		}
		update(t, s, func(tx umami.Tx) error { return tx.CreateOrg(ctx, o) })
		if got, err := tx.GetOrg(ctx, o.ID); err != nil || got.ID != o.ID {
			t.Errorf("GetOrg after the commit, in the same View = %v, %v; want the org", got, err)
		}
		return nil
	})
}

// testUpdateIsAtomic checks that an Update's writes are invisible until it
// commits, and that a failed Update (here on a conflict after a write
// succeeded) leaves nothing behind.
func testUpdateIsAtomic(t *testing.T, h Harness) {
	s := h.Open(t)
	existing := &umami.Org{ID: id(), Name: "existing", CreatedAt: now()}
	update(t, s, func(tx umami.Tx) error { return tx.CreateOrg(ctx, existing) })
	o := &umami.Org{ID: id(), Name: "new", CreatedAt: now()}
	a := &umami.Agent{ID: id(), OrgID: o.ID, Name: "agent", CreatedAt: now()}
	err := s.Update(ctx, func(tx umami.Tx) error {
		if err := tx.CreateOrg(ctx, o); err != nil {
			return err
		}
		if err := tx.CreateAgent(ctx, a); err != nil {
			return err
		}
		view(t, s, func(tx umami.Tx) error {
			if _, err := tx.GetOrg(ctx, o.ID); umami.ErrorCode(err) != umami.ENotFound {
				t.Errorf("uncommitted org visible to View: %v", err)
			}
			return nil
		})
		return tx.CreateOrg(ctx, existing)
	})
	wantCode(t, err, umami.EConflict)
	view(t, s, func(tx umami.Tx) error {
		if _, err := tx.GetOrg(ctx, o.ID); umami.ErrorCode(err) != umami.ENotFound {
			t.Errorf("org of a failed Update exists: %v", err)
		}
		if _, err := tx.GetAgent(ctx, o.ID, a.ID); umami.ErrorCode(err) != umami.ENotFound {
			t.Errorf("agent of a failed Update exists: %v", err)
		}
		return nil
	})
	update(t, s, func(tx umami.Tx) error { return errors.Join(tx.CreateOrg(ctx, o), tx.CreateAgent(ctx, a)) })
	view(t, s, func(tx umami.Tx) error {
		if got, err := tx.GetAgent(ctx, o.ID, a.ID); err != nil || got.ID != a.ID {
			t.Errorf("agent of a committed Update = %v, %v", got, err)
		}
		return nil
	})
}
