package storetest

import (
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/umamiai/umami"
)

// testListOrgs checks that ListOrgs returns every org, whole and oldest
// first (both stores order by the time-ordered id).
func testListOrgs(t *testing.T, h Harness) {
	s := h.Open(t)
	var orgs []*umami.Org
	for i := range 3 {
		o := &umami.Org{ID: id(), Name: fmt.Sprint("org ", i), CreatedAt: now()}
		update(t, s, func(tx umami.Tx) error { return tx.CreateOrg(ctx, o) })
		orgs = append(orgs, o)
	}
	view(t, s, func(tx umami.Tx) error {
		got, err := tx.ListOrgs(ctx)
		if err != nil || !reflect.DeepEqual(got, orgs) {
			t.Errorf("ListOrgs = %v, %v; want %v, oldest first", got, err, orgs)
		}
		return nil
	})
}

// lister lists one kind of object of an org's by page, as ids.
type lister struct {
	name string
	want []string // every id the list must return, newest first
	list func(tx umami.Tx, orgID string, p umami.Page) ([]string, error)
}

// testListPages checks, for each paginated list, that pages come newest
// first, that the After cursor continues exactly where a page ended, and
// that another org's objects (and another agent's versions) never appear.
func testListPages(t *testing.T, h Harness) {
	s := h.Open(t)
	f, other := newFixture(t, s), newFixture(t, s)
	sibling := f.newAgent(t, s) // same org, another agent: its versions are not f.agent's
	sibling.newVersion(t, s)
	other.newVersion(t, s)
	other.newRun(t, s, "elsewhere")
	other.newAgent(t, s)

	// Five of each, created oldest first, interleaved with the others.
	agents, versions, runs := []string{f.agent.ID, sibling.agent.ID}, []string{f.version.ID}, []string(nil)
	for i := range 5 {
		if len(agents) < 5 {
			agents = append(agents, f.newAgent(t, s).agent.ID)
		}
		if len(versions) < 5 {
			versions = append(versions, f.newVersion(t, s).ID)
		}
		runs = append(runs, f.newRun(t, s, fmt.Sprint(i)).ID)
	}
	slices.Reverse(agents)
	slices.Reverse(versions)
	slices.Reverse(runs)
	listers := []lister{
		{"ListAgents", agents, func(tx umami.Tx, orgID string, p umami.Page) ([]string, error) {
			return pluck(tx.ListAgents(ctx, orgID, p))
		}},
		{"ListAgentVersions", versions, func(tx umami.Tx, orgID string, p umami.Page) ([]string, error) {
			return pluck(tx.ListAgentVersions(ctx, orgID, f.agent.ID, p))
		}},
		{"ListRuns", runs, func(tx umami.Tx, orgID string, p umami.Page) ([]string, error) {
			return pluck(tx.ListRuns(ctx, umami.RunFilter{OrgID: orgID, Page: p}))
		}},
	}
	for _, l := range listers {
		t.Run(l.name, func(t *testing.T) {
			list := func(tx umami.Tx, p umami.Page) ([]string, error) { return l.list(tx, f.org.ID, p) }
			got, sizes := pageThrough(t, s, 2, list)
			if !reflect.DeepEqual(got, l.want) || !reflect.DeepEqual(sizes, []int{2, 2, 1}) {
				t.Errorf("pages of 2 = %v (sizes %v); want %v newest first, sizes [2 2 1]", got, sizes, l.want)
			}
			if got, _ := pageThrough(t, s, 100, list); !reflect.DeepEqual(got, l.want) {
				t.Errorf("one page of 100 = %v; want %v", got, l.want)
			}
			view(t, s, func(tx umami.Tx) error {
				if got, err := l.list(tx, f.org.ID, umami.Page{Limit: 10, After: l.want[2]}); err != nil ||
					!reflect.DeepEqual(got, l.want[3:]) {
					t.Errorf("after %s = %v, %v; want %v", l.want[2], got, err, l.want[3:])
				}
				if got, err := l.list(tx, other.org.ID, umami.Page{Limit: 10}); err != nil ||
					slices.ContainsFunc(got, func(id string) bool { return slices.Contains(l.want, id) }) {
					t.Errorf("another org's list = %v, %v; holds some of %v", got, err, l.want)
				}
				return nil
			})
		})
	}
}

// testAPIKeyList checks that ListAPIKeys returns an org's keys, whole and
// newest first, and never another org's.
func testAPIKeyList(t *testing.T, h Harness) {
	s := h.Open(t)
	a, b := newFixture(t, s), newFixture(t, s)
	var keysA []*umami.APIKey
	for range 3 {
		keysA = append(keysA, newKey(t, s, a.org.ID))
	}
	keyB := newKey(t, s, b.org.ID)
	slices.Reverse(keysA)
	view(t, s, func(tx umami.Tx) error {
		for _, c := range []struct {
			orgID string
			want  []*umami.APIKey
		}{{a.org.ID, keysA}, {b.org.ID, []*umami.APIKey{keyB}}, {id(), nil}} {
			got, err := tx.ListAPIKeys(ctx, c.orgID)
			if err != nil || len(got) != len(c.want) || (len(got) > 0 && !reflect.DeepEqual(got, c.want)) {
				t.Errorf("ListAPIKeys(%s) = %v, %v; want %v, newest first", c.orgID, got, err, c.want)
			}
		}
		return nil
	})
}

// pageThrough follows the After cursor from the newest item with pages of
// limit, and returns every id and the size of each non-empty page.
func pageThrough(t *testing.T, s umami.Store, limit int, list func(umami.Tx, umami.Page) ([]string, error)) (ids []string, sizes []int) {
	t.Helper()
	p := umami.Page{Limit: limit}
	for range 20 { // a cursor that does not move must not loop for ever
		var page []string
		view(t, s, func(tx umami.Tx) (err error) { page, err = list(tx, p); return err })
		if len(page) == 0 {
			return ids, sizes
		}
		ids, sizes = append(ids, page...), append(sizes, len(page))
		p.After = page[len(page)-1]
	}
	t.Fatalf("paging did not end: %v", ids)
	return nil, nil
}

// identified is what every listed domain object has: an id.
type identified interface {
	*umami.Agent | *umami.AgentVersion | *umami.Run
}

// pluck returns the ids of a list result.
func pluck[T identified](items []T, err error) ([]string, error) {
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(items))
	for i, item := range items {
		switch v := any(item).(type) {
		case *umami.Agent:
			ids[i] = v.ID
		case *umami.AgentVersion:
			ids[i] = v.ID
		case *umami.Run:
			ids[i] = v.ID
		}
	}
	return ids, nil
}
