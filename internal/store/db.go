package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrations embed.FS

// Options tune Open. The zero value is a sensible default.
type Options struct {
	// ReadConns bounds SQLite's read pool (default 2×GOMAXPROCS, at
	// least 4). Writes always go through one connection.
	ReadConns int
	// MaxConns bounds the PostgreSQL pool (default 32).
	MaxConns int
	// BusyTimeout is how long SQLite waits for another process's write
	// lock (default 10 s).
	BusyTimeout time.Duration
	// MigrateTo stops the migrations at this version (0 = the newest).
	// Tests use it to build an older schema; the server never sets it.
	MigrateTo int64
	// Logger receives migration progress (default: discard).
	Logger *slog.Logger
}

// Dialects.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// db implements Store over database/sql for both dialects.
type db struct {
	dialect string
	w       *sql.DB    // writes: SQLite's single connection; PostgreSQL's pool
	r       *sql.DB    // reads: SQLite's read pool; the same pool as w for PostgreSQL
	batch   []*batcher // group commit of pushes
	// SQLite's push statements, prepared on the writer (stmts.go); nil on
	// PostgreSQL. Read-only once Open returns.
	prep      map[string]*sql.Stmt
	inserts   map[insertKey]*sql.Stmt
	haveBlobs *sql.Stmt // qHaveBlobs on the read pool
}

var _ Store = (*db)(nil)

// Open opens (creating when needed) the store dsn names and runs its
// migrations:
//
//   - "" — SQLite in ./mlthreat.db
//   - "sqlite:PATH" or a plain file path — SQLite in PATH
//   - "postgres://…" or "postgresql://…" — PostgreSQL (libpq URL, as pgx reads it)
func Open(ctx context.Context, dsn string, opts Options) (Store, error) {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return openPostgres(ctx, dsn, opts)
	case strings.HasPrefix(dsn, "sqlite:"):
		return openSQLite(ctx, strings.TrimPrefix(dsn, "sqlite:"), opts)
	case strings.Contains(dsn, "://"):
		return nil, fmt.Errorf("store: unsupported database URL scheme in %q (want postgres:// or sqlite:PATH)", redact(dsn))
	case dsn == "":
		return openSQLite(ctx, "mlthreat.db", opts)
	default:
		return openSQLite(ctx, dsn, opts)
	}
}

// redact drops a URL's password so errors can carry the DSN.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

func openSQLite(ctx context.Context, path string, opts Options) (Store, error) {
	if path == "" {
		return nil, errors.New("store: empty SQLite path")
	}
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("store: SQLite path %q must not contain '?' or '#'", path)
	}
	busy := opts.BusyTimeout
	if busy <= 0 {
		busy = 10 * time.Second
	}
	// Memory-mapped reads (shared by the connections) and page caches
	// larger than the 2 MiB default keep the portfolio's indexes in
	// memory, within a bounded footprint: 64 MiB mapped, 32 MiB for the
	// writer, 8 MiB per reader.
	common := "_pragma=busy_timeout(" + strconv.FormatInt(busy.Milliseconds(), 10) + ")" +
		"&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)&_pragma=mmap_size(67108864)&_pragma=temp_store(MEMORY)"
	// journal_mode is persistent: set it once on the writer, before any
	// reader opens the file.
	w, err := sql.Open("sqlite", path+"?"+common+"&_pragma=journal_mode(WAL)&_pragma=cache_size(-32768)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	w.SetConnMaxLifetime(0)
	// Switching a new file to WAL takes an exclusive lock that SQLite
	// does not wait for; another instance opening it at the same moment
	// gets SQLITE_BUSY and tries again.
	for attempt := 0; ; attempt++ {
		err = w.PingContext(ctx)
		if err == nil {
			break
		}
		var se *sqlite.Error
		if attempt == 20 || !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY {
			w.Close()
			return nil, fmt.Errorf("store: open %s: %w", path, err)
		}
		time.Sleep(time.Duration(10*(attempt+1)) * time.Millisecond)
	}
	// Without a lock service, instances opening a new file together can
	// race to apply the same migration; the loser's statement fails, and
	// its next attempt finds the migration applied.
	for attempt := 0; ; attempt++ {
		err = migrate(ctx, w, goose.DialectSQLite3, "migrations/sqlite", opts)
		if err == nil {
			break
		}
		if attempt == 4 || ctx.Err() != nil {
			w.Close()
			return nil, err
		}
		time.Sleep(time.Duration(50*(attempt+1)) * time.Millisecond)
	}
	r, err := sql.Open("sqlite", path+"?"+common+"&_pragma=query_only(1)&_pragma=cache_size(-8192)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	n := opts.ReadConns
	if n <= 0 {
		n = max(4, 2*runtime.GOMAXPROCS(0))
	}
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	r.SetConnMaxIdleTime(5 * time.Minute)
	s := &db{dialect: SQLite, w: w, r: r}
	s.prepareWrites(ctx)
	s.startBatchers(1)
	return s, nil
}

// pgBatchers is the number of concurrent group commits on PostgreSQL.
const pgBatchers = 4

func openPostgres(ctx context.Context, dsn string, opts Options) (Store, error) {
	p, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", redact(dsn), err)
	}
	n := opts.MaxConns
	if n <= 0 {
		n = 32
	}
	p.SetMaxOpenConns(n)
	p.SetMaxIdleConns(n)
	p.SetConnMaxIdleTime(5 * time.Minute)
	if err := p.PingContext(ctx); err != nil {
		p.Close()
		return nil, fmt.Errorf("store: connect to %s: %w", redact(dsn), err)
	}
	if err := migrate(ctx, p, goose.DialectPostgres, "migrations/postgres", opts); err != nil {
		p.Close()
		return nil, err
	}
	s := &db{dialect: Postgres, w: p, r: p}
	// Grouping pushes saves a commit (and its WAL flush) per push. A group
	// writes the shared totals row once, at its end, so several groups run
	// at once and queue only for that row and their commits, while each
	// waits on its round trips.
	s.startBatchers(pgBatchers)
	return s, nil
}

// migrate brings the schema up to date (or to opts.MigrateTo). On
// PostgreSQL an advisory session lock makes instances that start together
// take turns.
func migrate(ctx context.Context, d *sql.DB, dialect goose.Dialect, dir string, opts Options) error {
	fsys, err := fs.Sub(migrations, dir)
	if err != nil {
		return err
	}
	popts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	if dialect == goose.DialectPostgres {
		// One lock per schema: deployments (and tests) in different
		// schemas of one database do not wait for each other.
		var schema sql.NullString
		if err := d.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
			return fmt.Errorf("store: migrate: %w", err)
		}
		if !schema.Valid {
			return errors.New("store: migrate: no schema on the search_path exists")
		}
		h := fnv.New64a()
		h.Write([]byte("mlthreat migrations " + schema.String))
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(int64(h.Sum64()>>1)), lock.WithLockTimeout(1, 300))
		if err != nil {
			return err
		}
		popts = append(popts, goose.WithSessionLocker(locker))
	}
	if opts.Logger != nil {
		popts = append(popts, goose.WithSlog(opts.Logger))
	}
	p, err := goose.NewProvider(dialect, d, fsys, popts...)
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	if opts.MigrateTo > 0 {
		_, err = p.UpTo(ctx, opts.MigrateTo)
	} else {
		_, err = p.Up(ctx)
	}
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	return nil
}

func (s *db) Dialect() string { return s.dialect }

func (s *db) Close() error {
	var err error
	s.stopBatchers()
	s.closeWrites()
	if s.dialect == SQLite {
		// Refreshes the planner's statistics where they have drifted.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err = s.w.ExecContext(ctx, "PRAGMA optimize")
		cancel()
	}
	err = errors.Join(err, s.w.Close())
	if s.r != s.w {
		err = errors.Join(err, s.r.Close())
	}
	return err
}

func (s *db) Ping(ctx context.Context) error {
	if err := s.r.PingContext(ctx); err != nil {
		return err
	}
	// The read pool may be fine while the writer is wedged; a trivial
	// query through it proves it answers.
	var one int
	return s.w.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

// query is one SQL statement written with ? placeholders, with its
// PostgreSQL spelling ($1, $2, …) worked out once, when the package loads.
type query struct{ lite, pg string }

func q(text string) query { return query{lite: text, pg: rebind(text)} }

// sql returns the statement in the store's dialect.
func (s *db) sql(qq query) string {
	if s.dialect == Postgres {
		return qq.pg
	}
	return qq.lite
}

// bind rewrites a statement built at run time (filters, multi-row
// inserts) for the store's dialect.
func (s *db) bind(text string) string {
	if s.dialect == Postgres {
		return rebind(text)
	}
	return text
}

// rebind turns ? placeholders into $1..$n, leaving quoted literals and
// identifiers alone.
func rebind(text string) string {
	var b strings.Builder
	b.Grow(len(text) + 16)
	n := 0
	var quote byte
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// write runs fn in one write transaction, retrying when PostgreSQL reports
// a serialization failure or deadlock (and, with retryUnique, a unique
// violation: two transactions created the same row at once) or SQLite
// reports it stayed busy.
func (s *db) write(ctx context.Context, retryUnique bool, fn func(tx *sql.Tx) error) error {
	for attempt := 0; ; attempt++ {
		err := s.tx(ctx, s.w, nil, fn)
		if err == nil || attempt >= 10 || !s.retryable(err, retryUnique) {
			return err
		}
		d := time.Duration(1+rand.IntN(1<<min(attempt, 6))) * time.Millisecond
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(d):
		}
	}
}

// read runs fn in one read transaction, so that the several queries of a
// view see one snapshot.
func (s *db) read(ctx context.Context, fn func(tx *sql.Tx) error) error {
	var o *sql.TxOptions
	if s.dialect == Postgres {
		o = &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
	}
	return s.tx(ctx, s.r, o, fn)
}

func (s *db) tx(ctx context.Context, pool *sql.DB, o *sql.TxOptions, fn func(tx *sql.Tx) error) error {
	tx, err := pool.BeginTx(ctx, o)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

func (s *db) retryable(err error, unique bool) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "40001", "40P01": // serialization_failure, deadlock_detected
			return true
		case "23505": // unique_violation
			return unique
		}
		return false
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return true
		}
	}
	return false
}

// isUnique reports whether err is a unique or primary-key violation.
func isUnique(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// Times are stored as UTC unix milliseconds.
func millis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// nullMillis stores the zero time as NULL.
func nullMillis(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}

func fromNullMillis(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return fromMillis(n.Int64)
}

// now is the clock for defaults (a zero At); tests pass explicit times.
func now() time.Time { return time.Now().UTC() }
