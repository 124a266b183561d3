package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The schema's migrations, "NNNN_name.sql", applied in the order of NNNN.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one embedded migration.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations in order. The files are part
// of the binary, so a malformed name is a bug of this package.
func migrations() []migration {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		panic(err)
	}
	var ms []migration
	for _, n := range names {
		base := path.Base(n)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			panic("saslkit/store/postgres: malformed migration name " + base)
		}
		b, err := migrationFiles.ReadFile(n)
		if err != nil {
			panic(err)
		}
		ms = append(ms, migration{version: v, name: base, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms
}

// latestVersion is the schema version this package's queries need.
func latestVersion() int {
	ms := migrations()
	return ms[len(ms)-1].version
}

// Migrate brings the schema named by cfg.Schema (nil cfg: [DefaultSchema])
// to this package's version, creating it if need be. It is idempotent:
// each migration runs once, recorded in the schema's schema_version
// table, and the whole runs in one transaction under an advisory lock, so
// that servers starting together migrate once and never see half a
// schema. The role needs the right to create a schema in the database (or
// to create in an existing one). Migrate is bounded by ctx alone, not by
// Config.QueryTimeout. It returns an [*Error] on failure.
func Migrate(ctx context.Context, pool *pgxpool.Pool, cfg *Config) error {
	schema := cfg.schema()
	quoted := pgx.Identifier{schema}.Sanitize()
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('saslkit/store/postgres:' || $1::text, 0))`, schema); err != nil {
			return err
		}
		setup := `CREATE SCHEMA IF NOT EXISTS ` + quoted + `;
SET LOCAL search_path TO ` + quoted + `;
CREATE TABLE IF NOT EXISTS schema_version (
	version integer PRIMARY KEY,
	name text NOT NULL,
	applied_at timestamptz NOT NULL DEFAULT now()
);`
		if _, err := tx.Exec(ctx, setup); err != nil {
			return err
		}
		var have int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM `+quoted+`.schema_version`).Scan(&have); err != nil {
			return err
		}
		for _, m := range migrations() {
			if m.version <= have {
				continue
			}
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return fmt.Errorf("%s: %w", m.name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO `+quoted+`.schema_version (version, name) VALUES ($1, $2)`, m.version, m.name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return &Error{Op: "migrate", Err: err}
	}
	return nil
}
