package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river/rivermigrate"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrationLock is the advisory lock key every node takes before migrating
// ("umami" in ASCII), so that nodes starting together migrate one at a time.
const migrationLock int64 = 0x756d616d69

// pgvector 0.5.0 brought HNSW indexes, 0.7.0 the halfvec type that indexes
// embeddings longer than 2,000 dimensions.
const (
	vectorExtension  = "vector"
	vectorMinVersion = "0.7.0"
)

// migrate applies pending migrations, each in its own transaction, then
// River's, all on one dedicated connection that holds the advisory lock for
// the whole time. Closing that connection releases the lock whatever
// happens.
func migrate(ctx context.Context, cfg *pgx.ConnConfig, db *DB) error {
	conn, err := pgx.ConnectConfig(ctx, cfg.Copy())
	if err != nil {
		return reachError(db.addr, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrationLock); err != nil {
		return fmt.Errorf("migrations: take advisory lock: %w", err)
	}
	if err := ensureExtension(ctx, conn, vectorExtension, vectorMinVersion); err != nil {
		return err
	}
	if err := applyMigrations(ctx, conn); err != nil {
		return err
	}
	return migrateRiver(ctx, conn, db)
}

func applyMigrations(ctx context.Context, conn *pgx.Conn) error {
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS umami_migrations (
		version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("create migrations table: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		if err := applyFile(ctx, conn, name); err != nil {
			return err
		}
	}
	return nil
}

// applyFile runs one migration and records it, in one transaction, unless
// it is already recorded.
func applyFile(ctx context.Context, conn *pgx.Conn, name string) error {
	base := path.Base(name)
	version, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
	if err != nil {
		return fmt.Errorf("migration %s: name must start with a number", base)
	}
	body, err := migrations.ReadFile(name)
	if err != nil {
		return err
	}
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		var done bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM umami_migrations WHERE version = $1)`,
			version).Scan(&done); err != nil || done {
			return err
		}
		if _, err := tx.Exec(ctx, string(body)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO umami_migrations (version, name) VALUES ($1, $2)`, version, base)
		return err
	})
	if err != nil {
		return fmt.Errorf("migration %s: %w", base, err)
	}
	return nil
}

// migrateRiver applies River's migrations on conn, each in its own
// transaction: one of them adds an enum value that a later one uses, which
// PostgreSQL refuses within a single transaction.
func migrateRiver(ctx context.Context, conn *pgx.Conn, db *DB) error {
	migrator, err := rivermigrate.New(db.RiverDriver(), nil)
	if err != nil {
		return fmt.Errorf("river migrator: %w", err)
	}
	for applied := 1; applied > 0; {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			res, err := migrator.MigrateTx(ctx, tx, rivermigrate.DirectionUp, &rivermigrate.MigrateOpts{MaxSteps: 1})
			if err == nil {
				applied = len(res.Versions)
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("river migrations: %w", err)
		}
	}
	return nil
}

// ensureExtension creates extension name in the database unless it is
// there, and explains how to fix a server that lacks it, a version that is
// too old, or a role that may not create it.
func ensureExtension(ctx context.Context, conn *pgx.Conn, name, minVersion string) error {
	var available string
	var installed *string
	err := conn.QueryRow(ctx, `SELECT default_version, installed_version FROM pg_available_extensions
		WHERE name = $1`, name).Scan(&available, &installed)
	if errors.Is(err, pgx.ErrNoRows) {
		return missingExtension(name, addrOf(conn.Config()))
	} else if err != nil {
		return fmt.Errorf("check extension %s: %w", name, err)
	}
	if v := deref(installed, available); versionLess(v, minVersion) {
		return fmt.Errorf("PostgreSQL extension %q is version %s; umami needs %s or later (HNSW indexes on vector and halfvec): "+
			"install a newer pgvector (scripts/install-pgvector.sh) and run ALTER EXTENSION %s UPDATE", name, v, minVersion, name)
	}
	if installed != nil {
		return nil
	}
	if _, err := conn.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS `+pgx.Identifier{name}.Sanitize()); err != nil {
		return createExtensionError(name, conn.Config().Database, err)
	}
	return nil
}

func missingExtension(name, addr string) error {
	return fmt.Errorf("PostgreSQL at %s does not have the %q extension (pgvector %s or later) installed. "+
		"Install it on the database server: on Debian/Ubuntu `apt install postgresql-15-pgvector` (use your server's "+
		"major version) where that package is recent enough (Debian 13, Ubuntu 24.04, or the apt.postgresql.org "+
		"repository), or build it from source: see scripts/install-pgvector.sh in the umami repository, or "+
		"https://github.com/pgvector/pgvector#installation", addr, name, vectorMinVersion)
}

func createExtensionError(name, database string, err error) error {
	if sqlState(err) == "42501" {
		return fmt.Errorf("cannot create the %q extension: the database role is not a superuser. Ask an "+
			"administrator to run `CREATE EXTENSION %s;` once in database %q, then start umami again (%w)",
			name, name, database, err)
	}
	return fmt.Errorf("create extension %s: %w", name, err)
}

// versionLess compares dotted version numbers ("0.4.1" < "0.5.0").
func versionLess(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(pa), len(pb)) {
		na, nb := part(pa, i), part(pb, i)
		if na != nb {
			return na < nb
		}
	}
	return false
}

func part(parts []string, i int) int {
	if i >= len(parts) {
		return 0
	}
	n, _ := strconv.Atoi(parts[i])
	return n
}
