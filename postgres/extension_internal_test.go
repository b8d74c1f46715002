package postgres

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/umamiai/umami/internal/pgtest"
)

// A server without the extension (simulated with a name no server has)
// gets installation advice; an old version gets upgrade advice.
func TestMissingExtensionAdvice(t *testing.T) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	err = ensureExtension(ctx, conn, "vector_missing_for_test", vectorMinVersion)
	if err == nil || !strings.Contains(err.Error(), "scripts/install-pgvector.sh") ||
		!strings.Contains(err.Error(), "apt install postgresql-15-pgvector") {
		t.Errorf("missing extension: %v", err)
	}
	t.Log(err)
	err = ensureExtension(ctx, conn, vectorExtension, "99.0.0")
	if err == nil || !strings.Contains(err.Error(), "ALTER EXTENSION vector UPDATE") {
		t.Errorf("old extension: %v", err)
	}
}

func TestVersionLess(t *testing.T) {
	for _, c := range []struct {
		a, b string
		less bool
	}{{"0.4.1", "0.5.0", true}, {"0.5.0", "0.5.0", false}, {"0.8.0", "0.5.0", false}, {"0.10", "0.5.0", false}, {"1", "0.5.0", false}} {
		if got := versionLess(c.a, c.b); got != c.less {
			t.Errorf("versionLess(%s, %s) = %v", c.a, c.b, got)
		}
	}
}

func TestValidID(t *testing.T) {
	for s, want := range map[string]bool{
		"0190a000-0000-7000-8000-000000000001": true,
		"0190A000-0000-7000-8000-00000000000F": true,
		"0190a000000070008000000000000001":     false,
		"0190a000-0000-7000-8000-00000000000g": false,
		"":                                     false,
	} {
		if validID(s) != want {
			t.Errorf("validID(%q) = %v", s, !want)
		}
	}
}
