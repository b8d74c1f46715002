package postgres

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/umamiai/umami"
)

// Driver errors become the domain's codes; others pass unchanged.
func TestTranslate(t *testing.T) {
	for _, c := range []struct {
		err  error
		code string
	}{
		{&pgconn.PgError{Code: "23505"}, umami.EConflict},
		{&pgconn.PgError{Code: "22P02"}, umami.EInvalid},
		{&pgconn.PgError{Code: "22021"}, umami.EInvalid}, // NUL in text
		{&pgconn.PgError{Code: "22P05"}, umami.EInvalid}, // NUL in jsonb
		{&pgconn.PgError{Code: "57P01"}, umami.EUnavailable},
		{&pgconn.PgError{Code: "53100"}, umami.EUnavailable}, // disk full
		{&pgconn.PgError{Code: "53200"}, umami.EUnavailable}, // out of memory
		{&pgconn.PgError{Code: "53300"}, umami.EUnavailable}, // too many connections
		{&pgconn.PgError{Code: "08006"}, umami.EUnavailable},
		{&pgconn.PgError{Code: "25006"}, umami.EUnavailable}, // a demoted primary
		{&pgconn.PgError{Code: "42P01"}, umami.EInternal},    // a bug: undefined table
		{fmt.Errorf("run: %w", context.DeadlineExceeded), umami.EInternal},
		{umami.Errorf(umami.ENotFound, "x"), umami.ENotFound},
	} {
		if got := umami.ErrorCode(translate(fmt.Errorf("wrapped: %w", c.err))); got != c.code {
			t.Errorf("translate(%v) has code %q, want %q", c.err, got, c.code)
		}
	}
}
