package main

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// keysList runs "keys list" and decodes its JSON lines.
func keysList(t *testing.T, dir, org string) (raw string, keys []map[string]any) {
	t.Helper()
	r := mustCLI(t, "keys", "list", "--org", org, "--data-dir", dir)
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		if line == "" {
			continue
		}
		var k map[string]any
		if err := json.Unmarshal([]byte(line), &k); err != nil {
			t.Fatalf("keys list line %q is not JSON: %v", line, err)
		}
		keys = append(keys, k)
	}
	return r.stdout, keys
}

func findKey(keys []map[string]any, name string) map[string]any {
	for _, k := range keys {
		if k["name"] == name {
			return k
		}
	}
	return nil
}

// createKeyCLI runs "keys create" and returns the one line it prints.
func createKeyCLI(t *testing.T, dir, org, name, scopes string, more ...string) string {
	t.Helper()
	r := mustCLI(t, append([]string{"keys", "create", "--org", org, "--name", name, "--scopes", scopes, "--data-dir", dir}, more...)...)
	secret, ok := strings.CutSuffix(r.stdout, "\n")
	if !ok || strings.Contains(secret, "\n") || !apiKeyRE.MatchString(secret) {
		t.Fatalf("keys create printed %q, want exactly one line with the key (umami_...)", r.stdout)
	}
	return secret
}

func TestAdminCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()

	t.Run("version", func(t *testing.T) {
		r := mustCLI(t, "version")
		if !regexp.MustCompile(`^umami \S+\n$`).MatchString(r.stdout) {
			t.Errorf("version printed %q, want \"umami <version>\\n\"", r.stdout)
		}
	})

	t.Run("migrate twice", func(t *testing.T) {
		for i := 1; i <= 2; i++ {
			r := mustCLI(t, "migrate", "--data-dir", dir)
			if r.stdout != "migrations applied\n" {
				t.Errorf("migrate #%d printed %q", i, r.stdout)
			}
		}
	})

	// orgs create / keys create / list / revoke, all offline.
	r := mustCLI(t, "orgs", "create", "Acme Inc", "--data-dir", dir)
	org := strings.TrimSpace(r.stdout)
	if r.stdout != org+"\n" || !uuidRE.MatchString(org) {
		t.Fatalf("orgs create printed %q, want one UUID line", r.stdout)
	}
	list := mustCLI(t, "orgs", "list", "--data-dir", dir)
	if !strings.Contains(list.stdout, `"org_id":"`+org+`"`) || !strings.Contains(list.stdout, `"name":"Acme Inc"`) {
		t.Errorf("orgs list does not show the new org:\n%s", list.stdout)
	}

	before := time.Now()
	secret := createKeyCLI(t, dir, org, "ci", "runs:create,runs:read", "--expires-in", "720h")
	raw, keys := keysList(t, dir, org)
	if strings.Contains(raw, secret) || strings.Contains(raw, secret[len(secret)-12:]) {
		t.Errorf("keys list shows the secret:\n%s", raw)
	}
	k := findKey(keys, "ci")
	if k == nil {
		t.Fatalf("keys list has no key named ci:\n%s", raw)
	}
	keyID, _ := k["key_id"].(string)
	prefix, _ := k["prefix"].(string)
	if !uuidRE.MatchString(keyID) || k["org_id"] != org {
		t.Errorf("key %v: want a key_id UUID and org_id %s", k, org)
	}
	if len(prefix) < len("umami_")+1 || len(prefix) >= len(secret) || !strings.HasPrefix(secret, prefix) {
		t.Errorf("key prefix %q is not a proper prefix of the secret", prefix)
	}
	if sc, _ := json.Marshal(k["scopes"]); string(sc) != `["runs:create","runs:read"]` {
		t.Errorf("key scopes = %s, want [\"runs:create\",\"runs:read\"]", sc)
	}
	exp := parseTime(t, "expires_at", k["expires_at"])
	if want := before.Add(720 * time.Hour); exp.Before(want.Add(-time.Minute)) || exp.After(want.Add(time.Minute)) {
		t.Errorf("expires_at = %v, want about %v (720h from now)", exp, want)
	}
	if k["revoked_at"] != nil {
		t.Errorf("new key revoked_at = %v, want null", k["revoked_at"])
	}

	rv := mustCLI(t, "keys", "revoke", keyID, "--data-dir", dir)
	var revoked map[string]any
	if err := json.Unmarshal([]byte(rv.stdout), &revoked); err != nil {
		t.Fatalf("keys revoke printed %q: %v", rv.stdout, err)
	}
	if revoked["key_id"] != keyID || revoked["revoked_at"] == nil || strings.Contains(rv.stdout, secret) {
		t.Errorf("keys revoke printed %s, want the key with revoked_at set and no secret", rv.stdout)
	}
	if _, keys := keysList(t, dir, org); findKey(keys, "ci") == nil || findKey(keys, "ci")["revoked_at"] == nil {
		t.Errorf("keys list after revoke: ci has no revoked_at: %v", keys)
	}

	t.Run("errors", func(t *testing.T) {
		unknownOrg := "01980000-0000-7000-8000-000000000abc"
		cases := []struct {
			name string
			args []string
			want []string // each must appear on stderr
		}{
			{"unknown scope", []string{"keys", "create", "--org", org, "--name", "x", "--scopes", "runs:read,runs:destroy"},
				[]string{"scope", "runs:destroy"}},
			{"unknown org", []string{"keys", "create", "--org", unknownOrg, "--name", "x", "--scopes", "runs:read"},
				[]string{unknownOrg, "not found"}},
			{"missing scopes", []string{"keys", "create", "--org", org, "--name", "x"},
				[]string{"--scopes"}},
			{"malformed org", []string{"keys", "create", "--org", "acme", "--name", "x", "--scopes", "runs:read"},
				[]string{"org"}},
			{"unknown key revoke", []string{"keys", "revoke", "01980000-0000-7000-8000-000000000def"},
				[]string{"01980000-0000-7000-8000-000000000def"}},
		}
		for _, c := range cases {
			r := runCLI(t, append(c.args, "--data-dir", dir)...)
			if r.code == 0 {
				t.Errorf("%s: exit code 0, want non-zero\n%s", c.name, r)
				continue
			}
			for _, w := range c.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("%s: stderr does not mention %q\n%s", c.name, w, r)
				}
			}
			if r.stdout != "" {
				t.Errorf("%s: stdout = %q, want nothing", c.name, r.stdout)
			}
		}
		if _, keys := keysList(t, dir, org); len(keys) != 1 {
			t.Errorf("failed key creations left keys behind: %v", keys)
		}
	})

	t.Run("live server sees CLI keys", func(t *testing.T) {
		s := startServer(t, "serve", dir, freePort(t))
		org2 := strings.TrimSpace(mustCLI(t, "orgs", "create", "Live", "--data-dir", dir).stdout)
		secret := createKeyCLI(t, dir, org2, "live", "runs:create,runs:read")
		a := newAPI(t, s.baseURL, secret)
		status, body := a.do("GET", "/api/v1/agent-runs", nil)
		if status != http.StatusOK || body["data"] == nil || body["has_more"] != false {
			t.Fatalf("GET /api/v1/agent-runs with a key just created by the CLI: status %d, body %v; want 200 and an empty list", status, body)
		}
		if status, body := a.do("POST", "/api/v1/agents", map[string]any{"org_id": org2, "name": "x"}); status != http.StatusForbidden || body["error"] != "insufficient_scope" {
			t.Errorf("POST /api/v1/agents with a runs-only key: status %d, body %v; want 403 insufficient_scope", status, body)
		}
		_, keys := keysList(t, dir, org2)
		live := findKey(keys, "live")
		if live == nil {
			t.Fatalf("keys list has no key named live: %v", keys)
		}
		mustCLI(t, "keys", "revoke", live["key_id"].(string), "--data-dir", dir)
		revokedAt := time.Now()
		for {
			status, body := a.do("GET", "/api/v1/agent-runs", nil)
			if status == http.StatusUnauthorized {
				if body["error"] != "invalid_api_key" {
					t.Errorf("revoked key: body %v, want error invalid_api_key", body)
				}
				t.Logf("server rejected the key %v after the CLI revoked it", time.Since(revokedAt).Round(time.Millisecond))
				break
			}
			if status != http.StatusOK {
				t.Fatalf("GET with the key being revoked: status %d, body %v", status, body)
			}
			if time.Since(revokedAt) > 3*time.Second {
				t.Fatalf("the server still accepts the key 3 s after the CLI revoked it")
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}
