package store

import "context"

// RawExec runs a statement (written with ? placeholders) on a store's
// writer, for tests that check what the schema itself forbids or that
// build data an older schema holds.
func RawExec(ctx context.Context, s Store, query string, args ...any) error {
	d := s.(*db)
	_, err := d.w.ExecContext(ctx, d.bind(query), args...)
	return err
}

// RawInt runs a query returning one integer.
func RawInt(ctx context.Context, s Store, query string, args ...any) (int64, error) {
	d := s.(*db)
	var n int64
	err := d.r.QueryRowContext(ctx, d.bind(query), args...).Scan(&n)
	return n, err
}
