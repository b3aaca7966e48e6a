package jsonreport

import (
	"io"
	"runtime"
	"sync"

	"github.com/mlthreat/mlthreat/internal/analysis"
)

// chunkThreats is how many threats one goroutine encodes at a time
// (about 0.7 MB of text); tests lower it.
var chunkThreats = 256

// chunkBytes is room for a chunk's text (threats average under 3 kB).
func chunkBytes() int { return chunkThreats * 4 << 10 }

// chunk is a run of threats, encoded by a worker and written in order.
type chunk struct {
	lo, hi int
	buf    []byte
	err    error
	panic  any // re-raised on the caller's goroutine, where it can be recovered
	done   chan struct{}
}

func (e *threatEncoder) encode(c *chunk, ts []*analysis.Threat) {
	defer func() {
		c.panic = recover()
		close(c.done)
	}()
	c.buf, c.err = e.appendChunk(c.buf, ts, c.lo, c.hi)
}

// writeThreats writes r's threats, comma-separated. Workers encode chunks
// while the caller writes finished ones in order; at most a few chunks per
// worker are held at once.
func writeThreats(w io.Writer, r *analysis.Report) error {
	ts := r.Threats
	n := (len(ts) + chunkThreats - 1) / chunkThreats
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		e := newThreatEncoder(r)
		buf := make([]byte, 0, chunkBytes())
		for lo := 0; lo < len(ts); lo += chunkThreats {
			hi := min(lo+chunkThreats, len(ts))
			var err error
			if buf, err = e.appendChunk(buf[:0], ts, lo, hi); err != nil {
				return err
			}
			if _, err := w.Write(buf); err != nil {
				return err
			}
		}
		return nil
	}

	window := 2 * workers
	jobs := make(chan *chunk, window+1)
	order := make(chan *chunk, window)
	free := make(chan []byte, window+2)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			e := newThreatEncoder(r)
			for c := range jobs {
				e.encode(c, ts)
			}
		})
	}
	go func() {
		defer close(order)
		defer close(jobs)
		for lo := 0; lo < len(ts); lo += chunkThreats {
			c := &chunk{lo: lo, hi: min(lo+chunkThreats, len(ts)), done: make(chan struct{})}
			select {
			case c.buf = <-free:
			default:
				c.buf = make([]byte, 0, chunkBytes())
			}
			// order holds the chunks in flight; a full window waits here.
			select {
			case order <- c:
			case <-stop:
				return
			}
			jobs <- c
		}
	}()

	var err error
	var panicked any
	for c := range order {
		<-c.done
		if err != nil || panicked != nil {
			continue // draining after a failure
		}
		if panicked = c.panic; panicked == nil {
			if err = c.err; err == nil {
				_, err = w.Write(c.buf)
			}
		}
		if err != nil || panicked != nil {
			close(stop)
			continue
		}
		select {
		case free <- c.buf[:0]:
		default:
		}
	}
	wg.Wait()
	if panicked != nil {
		panic(panicked)
	}
	return err
}

// appendChunk appends threats ts[lo:hi], each preceded by a comma unless
// it is the first of all.
func (e *threatEncoder) appendChunk(b []byte, ts []*analysis.Threat, lo, hi int) ([]byte, error) {
	for i := lo; i < hi; i++ {
		if i > 0 {
			b = append(b, ",\n"...)
		}
		b = append(b, "    "...)
		var err error
		if b, err = e.appendThreat(b, ts[i]); err != nil {
			return b, err
		}
	}
	return b, nil
}
