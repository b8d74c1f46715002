package platform

import (
	"context"
	"sync"

	"github.com/umamiai/umami"
)

// versionCache keeps published agent versions, which never change: every
// run creation and every run start needs one, and on PostgreSQL each saved
// read is a saved round trip.
type versionCache struct {
	mu sync.Mutex
	m  map[string]*umami.AgentVersion
}

// maxCachedVersions bounds the cache; a full cache simply starts over.
const maxCachedVersions = 10_000

// version returns a version of an org, from the cache when it is published.
func (p *Platform) version(ctx context.Context, orgID, id string) (*umami.AgentVersion, error) {
	c := &p.versions
	c.mu.Lock()
	v, ok := c.m[id]
	c.mu.Unlock()
	if ok && v.OrgID == orgID {
		return v, nil
	}
	err := p.store.View(ctx, func(tx umami.Tx) (err error) {
		v, err = tx.GetAgentVersion(ctx, orgID, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	if v.Status == umami.VersionPublished {
		c.mu.Lock()
		if c.m == nil || len(c.m) >= maxCachedVersions {
			c.m = map[string]*umami.AgentVersion{}
		}
		c.m[id] = v
		c.mu.Unlock()
	}
	return v, nil
}
