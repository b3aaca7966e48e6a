package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"
)

// SQLite has one writer, and a push's commit (writing its pages to the WAL
// and syncing it) costs as much as the push itself; on PostgreSQL pushes
// queue on the totals row until they commit. Concurrent pushes are
// therefore committed in groups: one transaction, one savepoint per push,
// one commit. A push that fails rolls back to its savepoint alone; every
// push is acknowledged only after the commit that holds it.

// maxBatch bounds the pushes of one group commit.
const maxBatch = 64

type pushJob struct {
	ctx     context.Context
	p       *Push
	digests [6]string
	blobs   []blob
	res     *PushResult
	err     error
	done    chan struct{}
}

type batcher struct {
	jobs    chan *pushJob
	mu      sync.RWMutex // held for reading while sending; Close takes it to close jobs
	closed  bool
	stopped chan struct{}
}

// startBatchers starts n group-commit writers; a push goes to the one of
// its system, so that one system's pushes keep their order.
func (s *db) startBatchers(n int) {
	s.batch = make([]*batcher, n)
	for i := range s.batch {
		b := &batcher{jobs: make(chan *pushJob, maxBatch), stopped: make(chan struct{})}
		s.batch[i] = b
		go s.runBatches(b)
	}
}

// stopBatchers lets queued pushes finish and stops the writers.
func (s *db) stopBatchers() {
	for _, b := range s.batch {
		b.mu.Lock()
		if !b.closed {
			b.closed = true
			close(b.jobs)
		}
		b.mu.Unlock()
		<-b.stopped
	}
}

var errClosed = errors.New("store: closed")

// pushBatched queues a push for the next group commit and waits for it.
func (s *db) pushBatched(ctx context.Context, p *Push, digests [6]string, blobs []blob) (*PushResult, error) {
	j := &pushJob{ctx: ctx, p: p, digests: digests, blobs: blobs, done: make(chan struct{})}
	h := fnv.New32a()
	h.Write([]byte(p.System))
	b := s.batch[h.Sum32()%uint32(len(s.batch))]
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return nil, errClosed
	}
	select {
	case b.jobs <- j:
		b.mu.RUnlock()
	case <-ctx.Done():
		b.mu.RUnlock()
		return nil, ctx.Err()
	}
	select {
	case <-j.done:
		return j.res, j.err
	case <-ctx.Done():
		// The push may still commit; it is not acknowledged.
		return nil, ctx.Err()
	}
}

// savepoint starts a push's savepoint, after releasing the previous push's
// (in one round trip on PostgreSQL).
func (s *db) savepoint(ctx context.Context, tx *sql.Tx, release bool) error {
	var err error
	switch {
	case release && s.dialect == Postgres:
		_, err = tx.ExecContext(ctx, qRelease.pg+"; "+qSavepoint.pg)
	case release:
		if _, err = s.exec(ctx, tx, qRelease); err == nil {
			_, err = s.exec(ctx, tx, qSavepoint)
		}
	default:
		_, err = s.exec(ctx, tx, qSavepoint)
	}
	return err
}

func (s *db) runBatches(b *batcher) {
	defer close(b.stopped)
	group := make([]*pushJob, 0, maxBatch)
	for j := range b.jobs {
		group = append(group[:0], j)
	more:
		for len(group) < maxBatch {
			select {
			case j, ok := <-b.jobs:
				if !ok {
					break more
				}
				group = append(group, j)
			default:
				break more
			}
		}
		s.commitGroup(group)
	}
}

// commitGroup writes a group in one transaction. When the transaction
// itself fails (not one push), every push is retried on its own.
func (s *db) commitGroup(group []*pushJob) {
	live := group[:0:0]
	for _, j := range group {
		if err := j.ctx.Err(); err != nil {
			j.err = err
			close(j.done)
			continue
		}
		live = append(live, j)
	}
	if len(live) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := s.write(ctx, true, func(tx *sql.Tx) error {
		var totals totalsDelta
		for i, j := range live {
			j.res, j.err = nil, nil
			if err := s.savepoint(ctx, tx, i > 0); err != nil {
				return err
			}
			res, delta, err := s.pushTx(ctx, tx, j.p, j.digests, j.blobs)
			if err != nil && s.retryable(err, true) {
				// A deadlock or serialisation failure (another instance, or
				// two groups writing the same new blob): the group's locks
				// may be part of it, so the group gives way whole.
				return err
			}
			if err != nil {
				j.err = err
				if _, rerr := s.exec(ctx, tx, qRollbackTo); rerr != nil {
					return rerr
				}
			} else {
				j.res = res
				if delta != nil {
					totals.add(delta)
				}
			}
		}
		if _, err := s.exec(ctx, tx, qRelease); err != nil {
			return err
		}
		return s.applyTotals(ctx, tx, &totals)
	})
	if err != nil && len(live) > 1 {
		// Nothing of the group committed: write each push alone, so one
		// push's fault cannot fail the others.
		for _, j := range live {
			j.res = nil
			j.err = s.write(ctx, true, func(tx *sql.Tx) error {
				var err error
				j.res, err = s.pushAlone(ctx, tx, j.p, j.digests, j.blobs)
				return err
			})
			if j.err != nil {
				j.res = nil
			}
			close(j.done)
		}
		return
	}
	for _, j := range live {
		if err != nil {
			j.res, j.err = nil, fmt.Errorf("commit: %w", err)
		}
		close(j.done)
	}
}
