package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/umamiai/umami"
)

// translate turns errors that mean "the database is not there" into the
// domain's service_unavailable (the API answers 503) and leftover unique
// violations into conflict. The original error stays in the chain, and in
// the message, for the logs. Domain errors pass unchanged.
func translate(err error) error {
	var domain *umami.Error
	switch {
	case err == nil || errors.As(err, &domain):
		return err
	case unavailable(err):
		return fmt.Errorf("%w: %w", umami.Errorf(umami.EUnavailable, "database unavailable"), err)
	case sqlState(err) == "23505":
		return fmt.Errorf("%w: %w", umami.Errorf(umami.EConflict, "already exists"), err)
	case sqlState(err) == "22P02":
		return fmt.Errorf("%w: %w", umami.Errorf(umami.EInvalid, "malformed value"), err)
	case sqlState(err) == "22021", sqlState(err) == "22P05": // NUL or a bad encoding in text or jsonb
		return fmt.Errorf("%w: %w", umami.Errorf(umami.EInvalid, "text that PostgreSQL cannot store (a NUL character?)"), err)
	}
	return err
}

// unavailable reports connection failures, lost connections and server
// shutdowns, as opposed to errors of the statement or the caller's context.
func unavailable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	switch code := sqlState(err); {
	case code == "57P01", code == "57P02", code == "57P03", // admin/crash shutdown, cannot connect now
		strings.HasPrefix(code, "53"), // insufficient resources: disk full, out of memory, too many connections
		strings.HasPrefix(code, "08"), // connection exceptions
		code == "25006":               // read-only transaction: a standby, or a primary demoted in a failover
		return true
	case code != "":
		return false
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connectErr) || errors.As(err, &netErr) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || pgconn.SafeToRetry(err)
}

// sqlState returns the SQLSTATE of a server error, "" for other errors.
func sqlState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// notFound turns "no rows" into the domain's not_found error.
func notFound(err error, what, id string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return umami.Errorf(umami.ENotFound, "%s %s not found", what, id)
	}
	return err
}

// conflict turns a unique violation into the domain's conflict error.
func conflict(err error, what string) error {
	if sqlState(err) == "23505" {
		return umami.Errorf(umami.EConflict, "%s already exists", what)
	}
	return err
}

// reachError explains a failed first contact in one line that names the
// server but never the password.
func reachError(addr string, err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return fmt.Errorf("PostgreSQL at %s refused the connection: %s (SQLSTATE %s)", addr, pgErr.Message, pgErr.Code)
	}
	return fmt.Errorf("cannot reach PostgreSQL at %s: %s", addr, netCause(err))
}

// netCause is the innermost useful part of a connection error: "connection
// refused", "no such host", "i/o timeout"...
func netCause(err error) string {
	var dnsErr *net.DNSError
	var sysErr *os.SyscallError
	var opErr *net.OpError
	var bodyErr *pgproto3.ExceededMaxBodyLenErr
	switch {
	case errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err):
		return "no answer in time (is the host right, and the port open?)"
	case errors.As(err, &dnsErr):
		return dnsErr.Error()
	case errors.As(err, &sysErr):
		return sysErr.Err.Error()
	case errors.As(err, &opErr):
		return opErr.Err.Error()
	case errors.As(err, &bodyErr):
		return "the answer is not PostgreSQL's (wrong port, or a proxy in the way?)"
	}
	for errors.Unwrap(err) != nil {
		err = errors.Unwrap(err)
	}
	return err.Error()
}

// addrOf names the server a configuration points at.
func addrOf(cfg *pgx.ConnConfig) string {
	if strings.HasPrefix(cfg.Host, "/") {
		return fmt.Sprintf("%s/.s.PGSQL.%d", cfg.Host, cfg.Port)
	}
	return net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
}

// parseReason is the innermost message of a parse error: pgx quotes the
// whole connection string, and net/url's errors quote the raw URL.
func parseReason(err error) string {
	for {
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			return urlErr.Err.Error()
		}
		inner := errors.Unwrap(err)
		if inner == nil {
			return err.Error()
		}
		err = inner
	}
}

var (
	urlPassword = regexp.MustCompile(`^[a-zA-Z]+://[^:/@]*:([^@]*)@`)
	kvPassword  = regexp.MustCompile(`password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)`)
)

// redact removes from msg whatever password connString carries.
func redact(msg, connString string) string {
	var secrets []string
	if m := urlPassword.FindStringSubmatch(connString); m != nil {
		secrets = append(secrets, m[1])
		if dec, err := url.PathUnescape(m[1]); err == nil {
			secrets = append(secrets, dec)
		}
	}
	for _, m := range kvPassword.FindAllStringSubmatch(connString, -1) {
		secrets = append(secrets, strings.Trim(m[1], "'"))
	}
	for _, s := range secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "xxxxx")
		}
	}
	return msg
}
