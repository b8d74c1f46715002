package platform

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/umamiai/umami"
)

// Roles of console users.
const (
	RoleOwner = "owner"
)

// passwordIterations follows OWASP's PBKDF2-HMAC-SHA256 guidance.
const passwordIterations = 600_000

// CreateUser creates a console user of an org with a password.
func (p *Platform) CreateUser(ctx context.Context, orgID, email, password, role string) (*umami.User, error) {
	if !strings.Contains(email, "@") || len(email) > 254 {
		return nil, invalid("email %q is not an email address", email)
	}
	if len(password) < 12 {
		return nil, invalid("password must have at least 12 characters")
	}
	hash, err := HashPassword(password)
	if err != nil {
		return nil, err
	}
	u := &umami.User{ID: newID(), OrgID: orgID, Email: strings.ToLower(email), PasswordHash: hash, Role: role, CreatedAt: p.Now()}
	if err := p.store.Update(ctx, func(tx umami.Tx) error { return tx.CreateUser(ctx, u) }); err != nil {
		return nil, fmt.Errorf("create user: %w", err)
	}
	return u, nil
}

// HashPassword returns "pbkdf2-sha256$<iterations>$<salt>$<key>".
func HashPassword(password string) (string, error) {
	salt := make([]byte, 16)
	rand.Read(salt)
	key, err := pbkdf2.Key(sha256.New, password, salt, passwordIterations, 32)
	if err != nil {
		return "", err
	}
	enc := base64.RawStdEncoding
	return fmt.Sprintf("pbkdf2-sha256$%d$%s$%s", passwordIterations, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches a HashPassword result.
func CheckPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 4 || parts[0] != "pbkdf2-sha256" {
		return false
	}
	iter, err1 := strconv.Atoi(parts[1])
	salt, err2 := base64.RawStdEncoding.DecodeString(parts[2])
	want, err3 := base64.RawStdEncoding.DecodeString(parts[3])
	if err1 != nil || err2 != nil || err3 != nil {
		return false
	}
	got, err := pbkdf2.Key(sha256.New, password, salt, iter, len(want))
	return err == nil && subtle.ConstantTimeCompare(got, want) == 1
}
