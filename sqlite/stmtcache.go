package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"

	msqlite "modernc.org/sqlite"
)

// modernc.org/sqlite compiles the SQL text of every Exec and Query afresh,
// and River's queries are long: profiling the run benchmark showed 40 % of
// the CPU in SQLite's parser. Each connection therefore keeps the prepared
// statements of the parameterized queries it has run, keyed by their text.
// Queries without arguments (migrations, pragmas, multi-statement scripts)
// are not cached.

// maxCachedStmts bounds the statements kept per connection; the platform and
// River together use well under a hundred distinct texts.
const maxCachedStmts = 256

// openDB opens a pool whose connections cache prepared statements.
func openDB(dsn string) *sql.DB {
	return sql.OpenDB(&connector{dsn: dsn, driver: &msqlite.Driver{}})
}

type connector struct {
	dsn    string
	driver *msqlite.Driver
}

func (c *connector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.driver.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return &cachingConn{conn: conn, stmts: map[string]*cachedStmt{}}, nil
}

func (c *connector) Driver() driver.Driver { return c.driver }

// sqliteConn is what modernc's connection implements and we forward.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

type cachingConn struct {
	conn  driver.Conn
	stmts map[string]*cachedStmt
}

type cachedStmt struct {
	stmt driver.Stmt
	busy bool // rows of it are open; a second use must not reset it
}

func (c *cachingConn) inner() sqliteConn { return c.conn.(sqliteConn) }

// stmt returns the cached statement for query, preparing it on first use,
// or nil when it cannot be cached or is in use.
func (c *cachingConn) stmt(ctx context.Context, query string) *cachedStmt {
	if s, ok := c.stmts[query]; ok {
		if s.busy {
			return nil
		}
		return s
	}
	if len(c.stmts) >= maxCachedStmts {
		return nil
	}
	st, err := c.inner().PrepareContext(ctx, query)
	if err != nil {
		return nil // let the uncached path report the error
	}
	s := &cachedStmt{stmt: st}
	c.stmts[query] = s
	return s
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if len(args) > 0 {
		if s := c.stmt(ctx, query); s != nil {
			return s.stmt.(driver.StmtExecContext).ExecContext(ctx, args)
		}
	}
	return c.inner().ExecContext(ctx, query, args)
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if len(args) > 0 {
		if s := c.stmt(ctx, query); s != nil {
			rows, err := s.stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
			if err != nil {
				return nil, err
			}
			s.busy = true
			return &releasingRows{Rows: rows, s: s}, nil
		}
	}
	return c.inner().QueryContext(ctx, query, args)
}

func (c *cachingConn) Prepare(query string) (driver.Stmt, error) { return c.conn.Prepare(query) }
func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.inner().PrepareContext(ctx, query)
}
func (c *cachingConn) Begin() (driver.Tx, error) { return c.conn.Begin() } //nolint:staticcheck // required by driver.Conn
func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.inner().BeginTx(ctx, opts)
}
func (c *cachingConn) Ping(ctx context.Context) error         { return c.inner().Ping(ctx) }
func (c *cachingConn) ResetSession(ctx context.Context) error { return c.inner().ResetSession(ctx) }
func (c *cachingConn) IsValid() bool                          { return c.inner().IsValid() }

// Close finalizes the cached statements, then closes the connection.
func (c *cachingConn) Close() error {
	var errs []error
	for _, s := range c.stmts {
		errs = append(errs, s.stmt.Close())
	}
	clear(c.stmts)
	return errors.Join(append(errs, c.conn.Close())...)
}

// releasingRows marks its statement free again when closed.
type releasingRows struct {
	driver.Rows
	s *cachedStmt
}

func (r *releasingRows) Close() error {
	r.s.busy = false
	return r.Rows.Close()
}
