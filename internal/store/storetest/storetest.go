// Package storetest gives tests fresh, empty stores over both dialects:
// SQLite in a temporary directory, and PostgreSQL in a schema of its own
// on MLTHREAT_PG_URL or, when that is unset, on a private cluster this
// package starts from the PostgreSQL binaries it finds (stopped by Stop,
// which the test binary's TestMain calls).
//
// PostgreSQL is required: without a server or binaries the tests fail,
// unless MLTHREAT_PG_SKIP=1 says to skip it. The private cluster runs with
// fsync off (its data are thrown away); MLTHREAT_PG_FSYNC=on makes its
// commits durable, for benchmarks of writes. Seed fills a store with a
// realistic portfolio for benchmarks and load tests.
//
// It may import internal/store and the standard library only (and the
// drivers store registers).
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mlthreat/mlthreat/internal/store"
)

// Dialects returns the dialects tests should run over: both, or only
// SQLite when MLTHREAT_PG_SKIP=1.
func Dialects(t testing.TB) []string {
	t.Helper()
	if os.Getenv("MLTHREAT_PG_SKIP") == "1" {
		return []string{store.SQLite}
	}
	return []string{store.SQLite, store.Postgres}
}

// Open returns a fresh, empty, migrated store of dialect, closed (and its
// PostgreSQL schema dropped) when the test ends.
func Open(t testing.TB, dialect string) store.Store {
	t.Helper()
	return OpenOptions(t, dialect, store.Options{})
}

// OpenOptions is Open with options (MigrateTo, pool sizes).
func OpenOptions(t testing.TB, dialect string, opts store.Options) store.Store {
	t.Helper()
	dsn := DSN(t, dialect)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := store.Open(ctx, dsn, opts)
	if err != nil {
		t.Fatalf("storetest: open %s store: %v", dialect, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// DSN returns the DSN of a fresh, empty database of dialect, removed when
// the test ends; several Opens of it share the data (for tests of
// migrations and of instances starting together).
func DSN(t testing.TB, dialect string) string {
	t.Helper()
	if dialect == store.Postgres && os.Getenv("MLTHREAT_PG_SKIP") == "1" {
		t.Skip("MLTHREAT_PG_SKIP=1: PostgreSQL tests skipped")
	}
	if dialect == store.SQLite {
		return "sqlite:" + filepath.Join(t.TempDir(), "mlthreat.db")
	}
	dsn, drop, err := NewDSN(dialect)
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	t.Cleanup(func() {
		if err := drop(); err != nil {
			t.Errorf("storetest: %v", err)
		}
	})
	return dsn
}

// NewDSN is DSN for data that outlive one test (benchmarks share a seeded
// store): the caller calls drop when done. It fails for PostgreSQL when
// MLTHREAT_PG_SKIP=1.
func NewDSN(dialect string) (dsn string, drop func() error, err error) {
	switch dialect {
	case store.SQLite:
		dir, err := os.MkdirTemp("", "mlthreat-store-")
		if err != nil {
			return "", nil, err
		}
		return "sqlite:" + filepath.Join(dir, "mlthreat.db"), func() error { return os.RemoveAll(dir) }, nil
	case store.Postgres:
		if os.Getenv("MLTHREAT_PG_SKIP") == "1" {
			return "", nil, errors.New("MLTHREAT_PG_SKIP=1: no PostgreSQL")
		}
		base, err := serverURL()
		if err != nil {
			return "", nil, err
		}
		return freshSchema(base)
	default:
		return "", nil, fmt.Errorf("unknown dialect %q", dialect)
	}
}

// freshSchema creates a schema of its own and returns a DSN whose
// search_path selects it, and the function that drops it.
func freshSchema(base string) (string, func() error, error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", nil, err
	}
	schema := "t_" + hex.EncodeToString(b[:])
	u, err := url.Parse(base)
	if err != nil {
		return "", nil, fmt.Errorf("MLTHREAT_PG_URL: %w", err)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		return "", nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("create schema on %s: %w", redact(base), err)
	}
	drop := func() error {
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			return fmt.Errorf("drop schema %s: %w", schema, err)
		}
		return nil
	}
	qv := u.Query()
	qv.Set("search_path", schema)
	u.RawQuery = qv.Encode()
	return u.String(), drop, nil
}

func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// errNoPostgres explains what to do when no PostgreSQL can be found.
var errNoPostgres = fmt.Errorf("no PostgreSQL: set MLTHREAT_PG_URL to a server (postgres://...), " +
	"install the postgresql package (initdb and pg_ctl on PATH or in /usr/lib/postgresql/*/bin), " +
	"or set MLTHREAT_PG_SKIP=1 to run the SQLite tests only")
