// Package platform holds UmamiAI's use cases, written once for every store:
// organizations and API keys, agents and versions, agent runs. Authorization,
// tenancy and validation live here; transports (HTTP, console, CLI) decode
// input, call a method and encode what it returns.
package platform

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/umamiai/umami"
)

// Config configures a Platform. Zero values take the documented defaults.
type Config struct {
	Store umami.Store
	// Providers are the model providers a version may name ("openai", ...).
	Providers []string
	// Tools are the tools a version may enable.
	Tools []string
	// KeyCacheTTL bounds how long a key lookup is reused (default 2s).
	KeyCacheTTL time.Duration
	// BatchTimeout bounds the writing of one batch of run writes (default
	// DefaultBatchTimeout); past it, the writes fail as service_unavailable.
	BatchTimeout time.Duration
	// Now is the clock (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

// Platform implements the use cases.
type Platform struct {
	store     umami.Store
	providers []string
	tools     []string
	now       func() time.Time
	log       *slog.Logger
	keys      keyCache
	versions  versionCache
	runBatches
}

// New returns a Platform.
func New(cfg Config) *Platform {
	p := &Platform{
		store:     cfg.Store,
		providers: cfg.Providers,
		tools:     cfg.Tools,
		now:       cfg.Now,
		log:       cfg.Logger,
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	p.runBatches = p.newRunBatches(cmp.Or(cfg.BatchTimeout, DefaultBatchTimeout))
	p.keys = keyCache{ttl: cfg.KeyCacheTTL, entries: map[string]cachedKey{}, used: map[string]time.Time{}}
	if p.keys.ttl <= 0 {
		p.keys.ttl = 2 * time.Second
	}
	return p
}

// Now returns the platform clock's time in UTC, at the microsecond precision
// both stores keep.
func (p *Platform) Now() time.Time { return p.now().UTC().Truncate(time.Microsecond) }

// newID returns a time-ordered UUID (v7).
func newID() string { return uuid.Must(uuid.NewV7()).String() }

// orgOf returns the org a request acts on: the given org_id, which must be
// the principal's, or the principal's own when none was given.
func orgOf(pr *umami.Principal, orgID string) (string, error) {
	if orgID == "" {
		return pr.OrgID, nil
	}
	if err := checkUUID("org_id", orgID); err != nil {
		return "", err
	}
	if orgID != pr.OrgID {
		return "", umami.Errorf(umami.EOrgMismatch, "org_id %s is not the organization of this API key", orgID)
	}
	return orgID, nil
}

// RunMaintenance does the periodic chores until ctx ends: it flushes key
// last-use times and forgets expired idempotency keys, and, when sweep is
// set (a node that runs workers), ends runs whose job vanished.
func (p *Platform) RunMaintenance(ctx context.Context, sweep bool) {
	flush := time.NewTicker(10 * time.Second)
	defer flush.Stop()
	slow := time.NewTicker(time.Minute)
	defer slow.Stop()
	for {
		select {
		case <-ctx.Done():
			p.logErr("flush key usage", p.FlushKeyUsage(context.WithoutCancel(ctx)))
			return
		case <-flush.C:
			p.logErr("flush key usage", p.FlushKeyUsage(ctx))
		case <-slow.C:
			if sweep {
				_, err := p.FailOrphanedRuns(ctx)
				p.logErr("fail orphaned runs", err)
			}
			_, err := p.ForgetIdempotencyKeys(ctx)
			p.logErr("forget idempotency keys", err)
		}
	}
}

func (p *Platform) logErr(what string, err error) {
	if err != nil && !errors.Is(err, context.Canceled) {
		p.log.Error(what, "err", err)
	}
}

// knownProvider reports whether provider may be named in a model.
func (p *Platform) knownProvider(provider string) bool { return slices.Contains(p.providers, provider) }

// keyCache remembers recent key lookups and batches last-use times.
type keyCache struct {
	ttl     time.Duration
	mu      sync.Mutex
	entries map[string]cachedKey // by key hash
	used    map[string]time.Time // key id → last use not yet written
}

type cachedKey struct {
	key     *umami.APIKey
	fetched time.Time
}
