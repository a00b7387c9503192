package parquet

import (
	"math/bits"
	"sync"
)

// poolAllocator is the memory.Allocator given to the Parquet reader and
// writers. Page and decompression buffers are allocated per column chunk
// and released when the chunk's reader closes; recycling them through
// power-of-two size classes (4 KiB … 64 MiB) removes most of the garbage a
// full scan makes. Recycled buffers are zeroed, as fresh Go memory is.
// Larger buffers fall back to plain allocation. Each Store owns one.
type poolAllocator struct {
	pools [poolMaxClass - poolMinClass + 1]sync.Pool
}

const (
	poolMinClass = 12 // 4 KiB
	poolMaxClass = 26 // 64 MiB
)

func classOf(n int) int {
	if n <= 1<<poolMinClass {
		return poolMinClass
	}
	return bits.Len(uint(n - 1))
}

func (p *poolAllocator) Allocate(size int) []byte {
	c := classOf(size)
	if c > poolMaxClass {
		return make([]byte, size)
	}
	if v := p.pools[c-poolMinClass].Get(); v != nil {
		b := *(v.(*[]byte))
		b = b[:size]
		clear(b)
		return b
	}
	return make([]byte, size, 1<<c)
}

func (p *poolAllocator) Reallocate(size int, b []byte) []byte {
	if cap(b) >= size {
		return b[:size]
	}
	nb := p.Allocate(size)
	copy(nb, b)
	p.Free(b)
	return nb
}

func (p *poolAllocator) Free(b []byte) {
	c := cap(b)
	if c < 1<<poolMinClass || c > 1<<poolMaxClass || c&(c-1) != 0 {
		return // not one of ours
	}
	b = b[:c]
	p.pools[bits.Len(uint(c))-1-poolMinClass].Put(&b)
}
