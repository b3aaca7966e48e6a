package yamlfast

import "unsafe"

// Blocks hands out memory in blocks to a tree builder, which takes its
// nodes from them instead of allocating each one. For a large document it
// allocates the next blocks, and touches each of their pages, on another
// goroutine: new memory costs a page fault per page on first touch (about
// 1 ms per MB on small virtual machines), which is then paid off the
// parser's path. Close ends that goroutine. A Blocks is for one goroutine.
type Blocks[T any] struct {
	size   int
	ahead  chan []T
	done   chan struct{}
	closed bool
}

// NewBlocks returns blocks of size values; with prefetch, made in advance.
func NewBlocks[T any](size int, prefetch bool) *Blocks[T] {
	b := &Blocks[T]{size: size}
	if prefetch {
		b.ahead, b.done = make(chan []T, 8), make(chan struct{})
		go fill(size, b.ahead, b.done)
	}
	return b
}

func fill[T any](size int, ahead chan<- []T, done <-chan struct{}) {
	var zero T
	step := max(1, 4096/int(unsafe.Sizeof(zero)))
	for {
		s := make([]T, size)
		for i := 0; i < len(s); i += step {
			s[i] = zero // the first touch of each page
		}
		select {
		case ahead <- s:
		case <-done:
			return
		}
	}
}

// Next returns a new block.
func (b *Blocks[T]) Next() []T {
	if b.ahead != nil && !b.closed {
		return <-b.ahead
	}
	return make([]T, b.size)
}

// Close stops the prefetching.
func (b *Blocks[T]) Close() {
	if b.done != nil && !b.closed {
		b.closed = true
		close(b.done)
	}
}
