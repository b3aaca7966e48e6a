package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// On SQLite, parsing a statement costs about as much as running it, and
// the driver parses every statement it is given as text. The push's
// statements are therefore prepared once on the writer's connection and
// run through each transaction (Tx.StmtContext reuses the connection's
// prepared statement). PostgreSQL's driver (pgx) already caches prepared
// statements per connection.

// insertSizes are the row counts of the push's prepared multi-row inserts:
// n rows are written as the fewest such chunks.
var insertSizes = []int{64, 16, 4, 1}

// forUpdate is a query that PostgreSQL runs with FOR UPDATE OF alias.
func forUpdate(text, alias string) query {
	qq := q(text)
	qq.pg += " FOR UPDATE OF " + alias
	return qq
}

type insertKey struct {
	table int // index in pushInserts
	rows  int
}

// prepareWrites prepares the push's statements on SQLite's writer; it runs
// in Open, before any transaction can hold the writer's one connection. A
// statement that does not prepare (a schema migrated only part of the way,
// in tests) is left to run as text, and fails there.
func (s *db) prepareWrites(ctx context.Context) {
	s.prep = map[string]*sql.Stmt{}
	s.inserts = map[insertKey]*sql.Stmt{}
	if st, err := s.r.PrepareContext(ctx, qHaveBlobs.lite); err == nil {
		s.haveBlobs = st
	}
	for _, qq := range pushStatements {
		if st, err := s.w.PrepareContext(ctx, qq.lite); err == nil {
			s.prep[qq.lite] = st
		}
	}
	for i, ins := range pushInserts {
		for _, n := range insertSizes {
			if st, err := s.w.PrepareContext(ctx, insertText(ins.table, ins.cols, n, ins.suffix)); err == nil {
				s.inserts[insertKey{i, n}] = st
			}
		}
	}
}

func (s *db) closeWrites() {
	if s.haveBlobs != nil {
		s.haveBlobs.Close()
	}
	for _, st := range s.prep {
		st.Close()
	}
	for _, st := range s.inserts {
		st.Close()
	}
}

func insertText(table string, cols []string, rows int, suffix string) string {
	return "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES " + placeholders(rows, len(cols)) + suffix
}

// exec runs a statement in tx, prepared when SQLite has it prepared.
func (s *db) exec(ctx context.Context, tx *sql.Tx, qq query, args ...any) (sql.Result, error) {
	if st := s.prep[qq.lite]; st != nil {
		return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, s.sql(qq), args...)
}

func (s *db) queryRow(ctx context.Context, tx *sql.Tx, qq query, args ...any) *sql.Row {
	if st := s.prep[qq.lite]; st != nil {
		return tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return tx.QueryRowContext(ctx, s.sql(qq), args...)
}

func (s *db) query(ctx context.Context, tx *sql.Tx, qq query, args ...any) (*sql.Rows, error) {
	if st := s.prep[qq.lite]; st != nil {
		return tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return tx.QueryContext(ctx, s.sql(qq), args...)
}

// insertPush inserts a push's rows into pushInserts[table]: on SQLite in
// chunks of insertSizes rows, through the prepared statements; on
// PostgreSQL with insertRows.
func (s *db) insertPush(ctx context.Context, tx *sql.Tx, table int, rows [][]any) error {
	ins := pushInserts[table]
	if s.inserts[insertKey{table, 1}] == nil {
		return s.insertRows(ctx, tx, ins.table, ins.cols, rows, ins.suffix)
	}
	var args []any
	for len(rows) > 0 {
		n := insertSizes[len(insertSizes)-1]
		for _, size := range insertSizes {
			if size <= len(rows) {
				n = size
				break
			}
		}
		args = args[:0]
		for _, r := range rows[:n] {
			if len(r) != len(ins.cols) {
				return fmt.Errorf("store: %s row has %d values for %d columns", ins.table, len(r), len(ins.cols))
			}
			args = append(args, r...)
		}
		st := s.inserts[insertKey{table, n}]
		if st == nil {
			return s.insertRows(ctx, tx, ins.table, ins.cols, rows, ins.suffix)
		}
		if _, err := tx.StmtContext(ctx, st).ExecContext(ctx, args...); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}
