package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/umamiai/umami"
)

// concurrently calls fn(0) ... fn(n-1) at once and returns their errors.
func concurrently(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// noErrors fails the test on the first non-nil error of errs.
func noErrors(t *testing.T, what string, errs []error) {
	t.Helper()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("%s %d: %v (code %q)", what, i, err, umami.ErrorCode(err))
		}
	}
}

// testConcurrentVersions creates versions of one agent from many
// transactions at once, as the platform does (agent lookup, then create):
// every one succeeds, and the numbers are consecutive and unique.
func testConcurrentVersions(t *testing.T, h Harness) {
	s := h.Open(t)
	f := newFixture(t, s)
	const writers = 16
	versions := make([]*umami.AgentVersion, writers)
	noErrors(t, "CreateAgentVersion", concurrently(writers, func(i int) error {
		v := &umami.AgentVersion{ID: id(), AgentID: f.agent.ID, OrgID: f.org.ID, Status: umami.VersionDraft,
			Model: "test/echo", Tools: []string{}, Metadata: map[string]string{}, CreatedAt: now()}
		versions[i] = v
		return s.Update(ctx, func(tx umami.Tx) error {
			if _, err := tx.GetAgent(ctx, f.org.ID, f.agent.ID); err != nil {
				return err
			}
			return tx.CreateAgentVersion(ctx, v)
		})
	}))
	var numbers []int
	stored := map[string]int{}
	view(t, s, func(tx umami.Tx) error {
		list, err := tx.ListAgentVersions(ctx, f.org.ID, f.agent.ID, umami.Page{Limit: 100})
		for _, v := range list {
			stored[v.ID] = v.Number
		}
		return err
	})
	for _, v := range versions {
		numbers = append(numbers, v.Number)
		if stored[v.ID] != v.Number {
			t.Errorf("version %s: set number %d, stored %d", v.ID, v.Number, stored[v.ID])
		}
	}
	slices.Sort(numbers)
	for i, n := range numbers {
		if n != i+2 { // the fixture's version is number 1
			t.Fatalf("concurrent version numbers = %v; want 2 to %d, each once", numbers, writers+1)
		}
	}
	if len(stored) != writers+1 {
		t.Errorf("%d versions stored, want %d", len(stored), writers+1)
	}
}

// testConcurrentTransitions races conditional updates of one queued run:
// exactly one applies, and the stored run is the one it wrote.
func testConcurrentTransitions(t *testing.T, h Harness) {
	s := h.Open(t)
	f := newFixture(t, s)
	r := f.newRun(t, s, "x")
	const writers = 8
	applied := make([]bool, writers)
	outs := make([]string, writers)
	noErrors(t, "UpdateRun", concurrently(writers, func(i int) error {
		w := *r
		outs[i] = fmt.Sprint("writer ", i)
		w.Status, w.Output, w.Attempt = umami.RunSucceeded, &outs[i], i+1
		return s.Update(ctx, func(tx umami.Tx) (err error) {
			applied[i], err = tx.UpdateRun(ctx, &w, umami.RunQueued, umami.RunRunning)
			return err
		})
	}))
	n, winner := 0, slices.Index(applied, true)
	for _, ok := range applied {
		if ok {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d of %d racing transitions applied (%v), want exactly 1", n, writers, applied)
	}
	got, err := getRun(t, s, f.org.ID, r.ID)
	if err != nil || got.Status != umami.RunSucceeded || got.Output == nil || *got.Output != outs[winner] ||
		got.Attempt != winner+1 {
		t.Errorf("stored run = %v, %v; want writer %d's", got, err, winner)
	}
}

// testConcurrentStarts starts one run from many callers at once: no
// attempt is lost, and each caller sees its own attempt number.
func testConcurrentStarts(t *testing.T, h Harness) {
	s := h.Open(t)
	f := newFixture(t, s)
	r := f.newRun(t, s, "x")
	const starters = 8
	attempts := make([]int, starters)
	noErrors(t, "StartRuns", concurrently(starters, func(i int) error {
		return s.Exec(ctx, func(tx umami.Tx) error {
			started, err := startRun(tx, r.ID, now())
			if err == nil && started == nil {
				err = fmt.Errorf("run not started")
			}
			if err == nil {
				attempts[i] = started.Attempt
			}
			return err
		})
	}))
	slices.Sort(attempts)
	for i, a := range attempts {
		if a != i+1 {
			t.Fatalf("attempts seen = %v; want 1 to %d, each once", attempts, starters)
		}
	}
	if got, err := getRun(t, s, f.org.ID, r.ID); err != nil || got.Attempt != starters {
		t.Errorf("stored attempt = %v, %v; want %d", got, err, starters)
	}
}

// testConcurrentSteps appends steps to one run from many transactions at
// once: indexes run from 0 without a gap or a repeat, and each call's steps
// stay together and in order.
func testConcurrentSteps(t *testing.T, h Harness) {
	s := h.Open(t)
	f := newFixture(t, s)
	r := f.newRun(t, s, "x")
	const writers = 8
	noErrors(t, "AddRunSteps", concurrently(writers, func(i int) error {
		a, b := step(r.ID, "a"), step(r.ID, "b")
		a.Input, b.Input = fmt.Sprint("call ", i), fmt.Sprint("call ", i)
		steps := []umami.RunStep{a, b}
		return s.Update(ctx, func(tx umami.Tx) error { return tx.AddRunSteps(ctx, steps) })
	}))
	view(t, s, func(tx umami.Tx) error {
		steps, err := tx.ListRunSteps(ctx, r.ID)
		if err != nil || len(steps) != 2*writers {
			t.Fatalf("%d steps, %v; want %d", len(steps), err, 2*writers)
		}
		for i := 0; i < len(steps); i += 2 {
			first, second := steps[i], steps[i+1]
			if first.Index != i || second.Index != i+1 || first.Name != "a" || second.Name != "b" ||
				first.Input != second.Input {
				t.Errorf("steps %d, %d = %+v, %+v; want one call's a then b", i, i+1, first, second)
			}
		}
		return nil
	})
}

// testConcurrentIdempotency sends one idempotent create many times at once,
// as the platform does (look the key up; if absent create the run and
// record the key; on conflict retry once): one run exists, and every
// request answers with it.
func testConcurrentIdempotency(t *testing.T, h Harness) {
	s := h.Open(t)
	f := newFixture(t, s)
	const requests = 8
	answers := make([]string, requests)
	noErrors(t, "keyed create", concurrently(requests, func(i int) error {
		create := func(tx umami.Tx) error {
			k, err := tx.GetIdempotencyKey(ctx, f.org.ID, "same", now().Add(-umami.IdempotencyTTL))
			if err == nil {
				answers[i] = k.RunID
				return nil
			} else if umami.ErrorCode(err) != umami.ENotFound {
				return err
			}
			r := f.run("x")
			if err := umami.InsertRuns(ctx, tx, r); err != nil {
				return err
			}
			answers[i] = r.ID
			return tx.PutIdempotencyKey(ctx, &umami.IdempotencyKey{OrgID: f.org.ID, Key: "same", RequestHash: "h",
				RunID: r.ID, CreatedAt: r.CreatedAt})
		}
		err := s.Update(ctx, create)
		if umami.ErrorCode(err) == umami.EConflict {
			err = s.Update(ctx, create)
		}
		return err
	}))
	var runs []*umami.Run
	view(t, s, func(tx umami.Tx) (err error) {
		runs, err = tx.ListRuns(ctx, umami.RunFilter{OrgID: f.org.ID, Page: umami.Page{Limit: 100}})
		return err
	})
	if len(runs) != 1 {
		t.Fatalf("%d runs after %d requests with one key, want 1", len(runs), requests)
	}
	for i, a := range answers {
		if a != runs[0].ID {
			t.Errorf("request %d answered run %s, want the one run %s", i, a, runs[0].ID)
		}
	}
}
