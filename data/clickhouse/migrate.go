package clickhouse

import (
	"context"
	"log/slog"

	"github.com/duesight/duesight/data"
)

// migrations are the embedded schema steps, checked at start-up.
var migrations = func() []migration {
	m, err := loadMigrations(migrationFS)
	if err != nil {
		panic("clickhouse: " + err.Error()) // a build defect, caught by every test
	}
	return m
}()

// LatestVersion is the schema version this build migrates databases to.
func LatestVersion() int { return migrations[len(migrations)-1].Version }

// appliedVersion is the highest version recorded in schema_migrations.
func (s *Store) appliedVersion(ctx context.Context) (int, error) {
	var v uint32
	q := "SELECT max(version) FROM " + s.d.table("schema_migrations")
	if err := s.conn.QueryRow(ctx, q).Scan(&v); err != nil {
		return 0, fail(err, "read schema version")
	}
	return int(v), nil
}

// migrate creates the database and the schema_migrations table if missing,
// refuses a database migrated by a newer build, and applies every embedded
// migration newer than the recorded version, recording each after all its
// statements succeeded. Statements are idempotent (IF NOT EXISTS), so a
// migration interrupted by a crash is simply re-run; two processes
// migrating at once run the same statements and record the version twice,
// which is harmless (the version is max(version)).
func (s *Store) migrate(ctx context.Context) error {
	if s.opt.MustExist {
		if err := s.checkExists(ctx); err != nil {
			return err
		}
	}
	for _, stmt := range s.d.bootstrap() {
		if err := s.conn.Exec(ctx, stmt); err != nil {
			return fail(err, "create database %s", s.d.DB)
		}
	}
	applied, err := s.appliedVersion(ctx)
	if err != nil {
		return err
	}
	latest := LatestVersion()
	if applied > latest {
		return errorf(data.Conflict, nil,
			"clickhouse: database %s is at schema version %d, newer than this build's %d: upgrade duesight",
			s.d.DB, applied, latest)
	}
	for _, m := range migrations[applied:] {
		start := s.opt.Now()
		stmts, err := s.d.render(m)
		if err != nil {
			return errorf(data.Internal, err, "clickhouse: migration %s", m.Name)
		}
		for i, stmt := range stmts {
			if err := s.conn.Exec(ctx, stmt); err != nil {
				return fail(err, "migration %s statement %d", m.Name, i+1)
			}
		}
		b, err := s.prepareBatch(ctx, "INSERT INTO "+s.d.table("schema_migrations")+" (version, name, applied_at)")
		if err != nil {
			return fail(err, "record migration %s", m.Name)
		}
		if err := b.Append(uint32(m.Version), m.Name, s.opt.Now().UTC()); err != nil {
			_ = b.Abort()
			return fail(err, "record migration %s", m.Name)
		}
		if err := b.Send(); err != nil {
			return fail(err, "record migration %s", m.Name)
		}
		s.log.Info("migrated", slog.Int("version", m.Version), slog.String("migration", m.Name),
			slog.Int("statements", len(stmts)), slog.Duration("took", s.opt.Now().Sub(start)))
	}
	return nil
}

// checkExists returns data.NotFound unless the database exists with a
// schema_migrations table (Options.MustExist).
func (s *Store) checkExists(ctx context.Context) error {
	var n uint64
	q := "SELECT count() FROM system.tables WHERE database = ? AND name = 'schema_migrations'"
	if err := s.conn.QueryRow(ctx, q, s.d.DB).Scan(&n); err != nil {
		return fail(err, "look up database %s", s.d.DB)
	}
	if n > 0 {
		return nil
	}
	if err := s.conn.QueryRow(ctx, "SELECT count() FROM system.databases WHERE name = ?", s.d.DB).Scan(&n); err != nil {
		return fail(err, "look up database %s", s.d.DB)
	}
	if n == 0 {
		return errorf(data.NotFound, nil, "clickhouse: database %s does not exist", s.d.DB)
	}
	return errorf(data.NotFound, nil, "clickhouse: database %s holds no duesight schema", s.d.DB)
}
