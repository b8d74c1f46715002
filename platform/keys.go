package platform

import (
	"context"
	"fmt"
	"time"

	"github.com/umamiai/umami"
)

// CreateOrg creates an organization.
func (p *Platform) CreateOrg(ctx context.Context, name string) (*umami.Org, error) {
	if err := checkText("name", name, 1, MaxNameChars); err != nil {
		return nil, err
	}
	o := &umami.Org{ID: newID(), Name: name, CreatedAt: p.Now()}
	if err := p.store.Update(ctx, func(tx umami.Tx) error { return tx.CreateOrg(ctx, o) }); err != nil {
		return nil, fmt.Errorf("create org: %w", err)
	}
	return o, nil
}

// ListOrgs lists every organization (an operator's command).
func (p *Platform) ListOrgs(ctx context.Context) (orgs []*umami.Org, err error) {
	err = p.store.View(ctx, func(tx umami.Tx) error {
		orgs, err = tx.ListOrgs(ctx)
		return err
	})
	return orgs, err
}

// NewKey is what creating a key returns: the stored key and, once only, its secret.
type NewKey struct {
	Key    *umami.APIKey
	Secret string
}

// CreateKey creates an API key of an org. expiresIn zero means no expiry.
func (p *Platform) CreateKey(ctx context.Context, orgID, name string, scopes []umami.Scope, expiresIn time.Duration) (*NewKey, error) {
	if err := checkUUID("org", orgID); err != nil {
		return nil, err
	}
	if err := checkText("name", name, 1, MaxNameChars); err != nil {
		return nil, err
	}
	if len(scopes) == 0 {
		return nil, invalid("scopes: give at least one scope")
	}
	if expiresIn < 0 {
		return nil, invalid("expires-in must be positive")
	}
	secret := umami.NewKeySecret()
	now := p.Now()
	k := &umami.APIKey{ID: newID(), OrgID: orgID, Name: name, Prefix: umami.KeyDisplayPrefix(secret),
		Hash: umami.HashKey(secret), Scopes: scopes, CreatedAt: now}
	if expiresIn > 0 {
		exp := now.Add(expiresIn)
		k.ExpiresAt = &exp
	}
	err := p.store.Update(ctx, func(tx umami.Tx) error {
		if _, err := tx.GetOrg(ctx, orgID); err != nil {
			return err
		}
		return tx.CreateAPIKey(ctx, k)
	})
	if err != nil {
		return nil, fmt.Errorf("create key: %w", err)
	}
	return &NewKey{Key: k, Secret: secret}, nil
}

// ListKeys lists an org's keys, newest first.
func (p *Platform) ListKeys(ctx context.Context, orgID string) (keys []*umami.APIKey, err error) {
	if err := checkUUID("org", orgID); err != nil {
		return nil, err
	}
	err = p.store.View(ctx, func(tx umami.Tx) error {
		if _, err := tx.GetOrg(ctx, orgID); err != nil {
			return err
		}
		keys, err = tx.ListAPIKeys(ctx, orgID)
		return err
	})
	return keys, err
}

// RevokeKey revokes a key. On this node it takes effect at once; other
// nodes stop accepting it within the key cache's TTL.
func (p *Platform) RevokeKey(ctx context.Context, keyID string) (*umami.APIKey, error) {
	if err := checkUUID("key id", keyID); err != nil {
		return nil, err
	}
	var k *umami.APIKey
	err := p.store.Update(ctx, func(tx umami.Tx) (err error) {
		if err = tx.RevokeAPIKey(ctx, keyID, p.Now()); err != nil {
			return err
		}
		k, err = tx.GetAPIKey(ctx, keyID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("revoke key: %w", err)
	}
	p.keys.forget(k.Hash)
	return k, nil
}

// Authenticate returns the principal of a key secret, or invalid_api_key.
// Lookups are cached for a short TTL; expiry and revocation are checked on
// every call against the cached key.
func (p *Platform) Authenticate(ctx context.Context, secret string) (*umami.Principal, error) {
	if !umami.WellFormedKey(secret) {
		return nil, errBadKey
	}
	hash := umami.HashKey(secret)
	now := p.Now()
	k, ok := p.keys.get(hash, now)
	if !ok {
		err := p.store.View(ctx, func(tx umami.Tx) (err error) {
			k, err = tx.GetAPIKeyByHash(ctx, hash)
			return err
		})
		if umami.ErrorCode(err) == umami.ENotFound {
			return nil, errBadKey
		} else if err != nil {
			return nil, fmt.Errorf("look up key: %w", err)
		}
		p.keys.put(hash, k, now)
	}
	if !k.Active(now) {
		return nil, errBadKey
	}
	p.keys.markUsed(k.ID, now)
	return k.Principal(), nil
}

// errBadKey answers every key that does not authenticate, whatever the
// reason, so that the answer reveals nothing about which keys exist.
var errBadKey = umami.Errorf(umami.EInvalidAPIKey, "the API key is invalid, revoked or expired")

// FlushKeyUsage writes the batched last-use times.
func (p *Platform) FlushKeyUsage(ctx context.Context) error {
	used := p.keys.takeUsed()
	if len(used) == 0 {
		return nil
	}
	return p.store.Update(ctx, func(tx umami.Tx) error { return tx.TouchAPIKeys(ctx, used) })
}

func (c *keyCache) get(hash string, now time.Time) (*umami.APIKey, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[hash]
	if !ok || now.Sub(e.fetched) >= c.ttl {
		return nil, false
	}
	return e.key, true
}

func (c *keyCache) put(hash string, k *umami.APIKey, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) > 10_000 { // bound memory; a full cache simply starts over
		clear(c.entries)
	}
	c.entries[hash] = cachedKey{key: k, fetched: now}
}

func (c *keyCache) forget(hash string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, hash)
}

func (c *keyCache) markUsed(id string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.used[id] = now
}

func (c *keyCache) takeUsed() map[string]time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	used := c.used
	c.used = map[string]time.Time{}
	return used
}
