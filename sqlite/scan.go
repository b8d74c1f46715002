package sqlite

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/umamiai/umami"
)

// Times are stored as integer microseconds since the epoch, UTC.

func micros(t time.Time) int64 { return t.UnixMicro() }

func nullMicros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMicro()
}

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

func fromNullMicros(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}

func toJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("marshal %T: %v", v, err)) // only maps and slices of strings are stored
	}
	return string(b)
}

func fromJSON[T any](s string) (T, error) {
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return v, fmt.Errorf("decode stored json: %w", err)
	}
	return v, nil
}

func nullString(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

func fromNullString(s sql.NullString) *string {
	if !s.Valid {
		return nil
	}
	return &s.String
}

func runError(code, message sql.NullString) *umami.RunError {
	if !code.Valid {
		return nil
	}
	return &umami.RunError{Code: code.String, Message: message.String}
}

func errorParts(e *umami.RunError) (code, message any) {
	if e == nil {
		return nil, nil
	}
	return e.Code, e.Message
}

// notFound turns sql.ErrNoRows into the domain's not_found error.
func notFound(err error, what, id string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return umami.Errorf(umami.ENotFound, "%s %s not found", what, id)
	}
	return err
}

// conflict turns a uniqueness violation into the domain's conflict error.
func conflict(err error, what string) error {
	if err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed") {
		return umami.Errorf(umami.EConflict, "%s already exists", what)
	}
	return err
}

func scopesFromString(s string) []umami.Scope {
	var out []umami.Scope
	for _, p := range strings.Split(s, ",") {
		if p != "" {
			out = append(out, umami.Scope(p))
		}
	}
	return out
}

// rowScanner is what *sql.Row and *sql.Rows have in common.
type rowScanner interface{ Scan(dest ...any) error }

// queryAll runs q and converts each row with scan.
func queryAll[T any](rows *sql.Rows, err error, scan func(rowScanner) (T, error)) ([]T, error) {
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
