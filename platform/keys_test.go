package platform_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/umamiai/umami"
	"github.com/umamiai/umami/platform"
	"github.com/umamiai/umami/sqlite"
)

// last_used_at is not written per request: authentications are batched and
// written by FlushKeyUsage (every 10 s in a server).
func TestKeyUsageIsBatched(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "umami.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	p := platform.New(platform.Config{Store: store, Now: func() time.Time { return now }})
	org, err := p.CreateOrg(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	k, err := p.CreateKey(ctx, org.ID, "ci", []umami.Scope{umami.ScopeRunsRead}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	lastUsed := func() *time.Time {
		keys, err := p.ListKeys(ctx, org.ID)
		if err != nil {
			t.Fatal(err)
		}
		return keys[0].LastUsedAt
	}
	if _, err := p.Authenticate(ctx, k.Secret); err != nil {
		t.Fatal(err)
	}
	if lastUsed() != nil {
		t.Fatal("last_used_at written on the request itself")
	}
	if err := p.FlushKeyUsage(ctx); err != nil {
		t.Fatal(err)
	}
	if got := lastUsed(); got == nil || !got.Equal(now) {
		t.Fatalf("after flush last_used_at = %v, want %v", got, now)
	}
	now = now.Add(2 * time.Hour) // past the key's expiry, and past the cache TTL
	if _, err := p.Authenticate(ctx, k.Secret); umami.ErrorCode(err) != umami.EInvalidAPIKey {
		t.Fatalf("expired key: %v", err)
	}
}

func TestPasswordHash(t *testing.T) {
	h, err := platform.HashPassword("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !platform.CheckPassword(h, "correct horse battery staple") {
		t.Error("the right password was refused")
	}
	for _, bad := range []string{"correct horse battery stapl", "", "Correct horse battery staple"} {
		if platform.CheckPassword(h, bad) {
			t.Errorf("password %q accepted", bad)
		}
	}
	if platform.CheckPassword("md5$abc", "x") || platform.CheckPassword("pbkdf2-sha256$1$!!$!!", "x") {
		t.Error("a malformed hash matched")
	}
}
