package umami

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"hash/crc32"
	"math/big"
	"slices"
	"strings"
	"time"
)

// Scope is a permission carried by an API key.
type Scope string

// The scopes. ScopeAll grants every other scope.
const (
	ScopeRunsCreate    Scope = "runs:create"
	ScopeRunsRead      Scope = "runs:read"
	ScopeKBRead        Scope = "kb:read"
	ScopeKBWrite       Scope = "kb:write"
	ScopeAgentsRead    Scope = "agents:read"
	ScopeAgentsWrite   Scope = "agents:write"
	ScopeWebhooksRead  Scope = "webhooks:read"
	ScopeWebhooksWrite Scope = "webhooks:write"
	ScopeAll           Scope = "*"
)

// Scopes lists every valid scope in documentation order.
var Scopes = []Scope{ScopeRunsCreate, ScopeRunsRead, ScopeKBRead, ScopeKBWrite,
	ScopeAgentsRead, ScopeAgentsWrite, ScopeWebhooksRead, ScopeWebhooksWrite, ScopeAll}

// ParseScopes parses a comma-separated scope list, rejecting unknown and
// empty entries and removing duplicates.
func ParseScopes(s string) ([]Scope, error) {
	var out []Scope
	for _, part := range strings.Split(s, ",") {
		sc := Scope(strings.TrimSpace(part))
		if !slices.Contains(Scopes, sc) {
			return nil, Errorf(EInvalid, "unknown scope %q (valid: %s)", sc, JoinScopes(Scopes))
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return out, nil
}

// JoinScopes renders scopes as a comma-separated list.
func JoinScopes(scopes []Scope) string {
	parts := make([]string, len(scopes))
	for i, s := range scopes {
		parts[i] = string(s)
	}
	return strings.Join(parts, ",")
}

// APIKey is a Platform API credential. Only the SHA-256 hash of the secret is
// stored; the secret itself is shown once, when the key is created.
type APIKey struct {
	ID         string
	OrgID      string
	Name       string
	Prefix     string // first characters of the secret, shown in lists
	Hash       string // hex SHA-256 of the whole secret
	Scopes     []Scope
	CreatedAt  time.Time
	LastUsedAt *time.Time
	ExpiresAt  *time.Time
	RevokedAt  *time.Time
}

// Principal returns who a request authenticated with this key acts as.
func (k *APIKey) Principal() *Principal {
	return &Principal{OrgID: k.OrgID, KeyID: k.ID, Scopes: k.Scopes}
}

// Active reports whether the key may authenticate at time now.
func (k *APIKey) Active(now time.Time) bool {
	return k.RevokedAt == nil && (k.ExpiresAt == nil || now.Before(*k.ExpiresAt))
}

// KeyPrefix starts every API key secret.
const KeyPrefix = "umami_"

const (
	base62        = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	keyBodyLen    = 32 // 32 base62 characters ≈ 190 bits of randomness
	keyChecksum   = 6  // base62 CRC-32 of the body
	keySecretLen  = len(KeyPrefix) + keyBodyLen + keyChecksum
	keyPrefixShow = len(KeyPrefix) + 6
)

// NewKeySecret returns a fresh API key secret: "umami_", 32 random base62
// characters and a 6-character checksum that lets a typo be rejected without
// a database lookup.
func NewKeySecret() string {
	body := make([]byte, keyBodyLen)
	max := big.NewInt(int64(len(base62)))
	for i := range body {
		n, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic(err) // crypto/rand never fails on supported platforms
		}
		body[i] = base62[n.Int64()]
	}
	return KeyPrefix + string(body) + keyCRC(string(body))
}

func keyCRC(body string) string {
	n := crc32.ChecksumIEEE([]byte(body))
	out := make([]byte, keyChecksum)
	for i := keyChecksum - 1; i >= 0; i-- {
		out[i] = base62[n%62]
		n /= 62
	}
	return string(out)
}

// WellFormedKey reports whether secret has the shape and checksum of a key.
func WellFormedKey(secret string) bool {
	if len(secret) != keySecretLen || !strings.HasPrefix(secret, KeyPrefix) {
		return false
	}
	body := secret[len(KeyPrefix) : len(KeyPrefix)+keyBodyLen]
	for i := 0; i < len(body); i++ {
		if strings.IndexByte(base62, body[i]) < 0 {
			return false
		}
	}
	return secret[len(KeyPrefix)+keyBodyLen:] == keyCRC(body)
}

// HashKey returns the stored form of a key secret.
func HashKey(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// KeyDisplayPrefix returns the part of a secret that may be shown in lists.
func KeyDisplayPrefix(secret string) string { return secret[:keyPrefixShow] }

// Principal is who is calling: for the Platform API, an API key.
type Principal struct {
	OrgID  string
	KeyID  string
	Scopes []Scope
}

// Allows reports whether the principal carries scope s (directly or through "*").
func (p *Principal) Allows(s Scope) bool {
	return slices.Contains(p.Scopes, ScopeAll) || slices.Contains(p.Scopes, s)
}

// Require returns an insufficient_scope error unless the principal carries s.
func (p *Principal) Require(s Scope) error {
	if !p.Allows(s) {
		return Errorf(EInsufficientScope, "this API key lacks the %q scope", s)
	}
	return nil
}
