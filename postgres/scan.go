package postgres

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/umamiai/umami"
)

// Times are timestamptz (microseconds) and come back in UTC.

func utc(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := utc(*t)
	return &u
}

// toJSON encodes what jsonb columns hold: nil stays JSON null, so that nil
// and empty maps and slices round-trip as they do in the SQLite store.
func toJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("marshal %T: %v", v, err)) // only maps and slices of strings are stored
	}
	return string(b)
}

func fromJSON[T any](b []byte) (T, error) {
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return v, fmt.Errorf("decode stored json: %w", err)
	}
	return v, nil
}

func scopeStrings(scopes []umami.Scope) []string {
	out := make([]string, len(scopes))
	for i, s := range scopes {
		out[i] = string(s)
	}
	return out
}

// scopesOf converts stored scopes; none gives nil, as in the SQLite store.
func scopesOf(stored []string) []umami.Scope {
	var out []umami.Scope
	for _, s := range stored {
		out = append(out, umami.Scope(s))
	}
	return out
}

func runError(code, message *string) *umami.RunError {
	if code == nil {
		return nil
	}
	return &umami.RunError{Code: *code, Message: deref(message, "")}
}

func errorParts(e *umami.RunError) (code, message *string) {
	if e == nil {
		return nil, nil
	}
	return &e.Code, &e.Message
}

func deref[T any](p *T, fallback T) T {
	if p != nil {
		return *p
	}
	return fallback
}

// nilIfEmpty passes an optional id as NULL when it is empty.
func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// validID reports whether s is a UUID in its 36-character form. Ids are
// uuid columns: a malformed one matches nothing (as in the SQLite store)
// rather than failing the statement and with it the transaction.
func validID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'):
			return false
		}
	}
	return true
}

func notFoundID(what, id string) error {
	return umami.Errorf(umami.ENotFound, "%s %s not found", what, id)
}

// checkPage rejects a cursor that cannot be an id.
func checkPage(p umami.Page) error {
	if p.After != "" && !validID(p.After) {
		return umami.Errorf(umami.EInvalid, "invalid page cursor %q", p.After)
	}
	return nil
}

// rowScanner is what pgx.Row and pgx.Rows have in common.
type rowScanner interface{ Scan(dest ...any) error }

// queryAll converts each row with scan.
func queryAll[T any](rows pgx.Rows, err error, scan func(rowScanner) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func prefixed(prefix, columns string) string {
	parts := strings.Split(columns, ",")
	for i, p := range parts {
		parts[i] = prefix + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}
