package store

import (
	"context"
	"fmt"
)

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

// PushGroup writes pushes as one group commit, in order, as the batcher
// does when they arrive together.
func PushGroup(ctx context.Context, s Store, ps []*Push) ([]*PushResult, []error) {
	d := s.(*db)
	jobs := make([]*pushJob, len(ps))
	for i, p := range ps {
		if err := validatePush(p); err != nil {
			panic(err)
		}
		digests, blobs, err := d.prepareBlobs(ctx, p)
		if err != nil {
			panic(err)
		}
		jobs[i] = &pushJob{ctx: ctx, p: p, digests: digests, blobs: blobs, done: make(chan struct{})}
	}
	d.commitGroup(jobs)
	res := make([]*PushResult, len(ps))
	errs := make([]error, len(ps))
	for i, j := range jobs {
		<-j.done
		res[i], errs[i] = j.res, j.err
	}
	return res, errs
}

// RawRows runs a query and returns its rows as text.
func RawRows(ctx context.Context, s Store, query string) ([]string, error) {
	d := s.(*db)
	rows, err := d.r.QueryContext(ctx, d.bind(query))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		out = append(out, fmt.Sprintf("%v", vals))
	}
	return out, rows.Err()
}
