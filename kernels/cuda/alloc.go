//go:build cuda

package cuda

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"gorgonia.org/cu"
)

// Buffer is a block of device memory from a Device's caching allocator.
// Free returns it to the pool for reuse; the pool gives memory back to the
// driver only when an allocation would otherwise fail, or at Close.
type Buffer struct {
	d     *Device
	ptr   cu.DevicePtr
	size  int64 // bytes asked for
	class int64 // bytes reserved (the size class)
	freed bool
}

// Ptr returns the buffer's device address (0 for an empty buffer).
func (b *Buffer) Ptr() DevicePtr { return b.ptr }

// Bytes returns the size the buffer was allocated with.
func (b *Buffer) Bytes() int64 { return b.size }

// At returns the device address off bytes into the buffer; it panics when
// off is outside [0, Bytes()].
func (b *Buffer) At(off int64) DevicePtr {
	if off < 0 || off > b.size {
		panic(fmt.Sprintf("cuda.Buffer.At: offset %d outside a buffer of %d bytes", off, b.size))
	}
	return b.ptr + DevicePtr(off)
}

// Free returns the buffer to its device's pool. Freeing twice panics (a
// use-after-free bug in the caller).
func (b *Buffer) Free() {
	if b == nil {
		return
	}
	if b.freed {
		panic(fmt.Sprintf("cuda.Buffer.Free: buffer of %d bytes at %v freed twice", b.size, b.ptr))
	}
	b.freed = true
	if b.class == 0 {
		return
	}
	b.d.pool.put(b.ptr, b.class)
}

// PoolStats are the caching allocator's statistics, in bytes.
type PoolStats struct {
	// Current is the memory held by live Buffers (size classes, not requests).
	Current int64
	// Peak is the largest Current since Open or the last ResetPeak.
	Peak int64
	// Cached is the memory in the pool's free lists, reserved from the
	// driver but not in use.
	Cached int64
	// Reserved is all memory the pool holds from the driver (Current + Cached).
	Reserved int64
	// Allocs counts Alloc calls; DriverAllocs those that went to the driver.
	Allocs, DriverAllocs int64
}

type pool struct {
	mu    sync.Mutex
	free  map[int64][]cu.DevicePtr
	stats PoolStats
	// low is the least Current since the last background collection
	// started (gcPacer): about what that collection left live.
	low int64
	// closed: the device was closed; blocks freed after that went with its
	// context and are not cached, and Alloc fails.
	closed bool
}

func (p *pool) init() { p.free = map[int64][]cu.DevicePtr{} }

func (p *pool) put(ptr cu.DevicePtr, class int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stats.Current -= class
	p.low = min(p.low, p.stats.Current)
	if p.closed { // the block went with the context
		p.stats.Reserved -= class
		return
	}
	p.free[class] = append(p.free[class], ptr)
	p.stats.Cached += class
}

// releaseCached returns every cached block to the driver. Called with the
// context current.
func (p *pool) releaseCached() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var first error
	for class, ptrs := range p.free {
		for _, ptr := range ptrs {
			if err := cu.MemFree(ptr); err != nil && first == nil {
				first = fmt.Errorf("cuda: freeing a cached block of %d bytes: %w", class, err)
			}
			p.stats.Cached -= class
			p.stats.Reserved -= class
		}
		delete(p.free, class)
	}
	return first
}

// Alloc returns a buffer of at least bytes bytes (contents undefined),
// reusing a cached block of the same size class when there is one. When
// the driver is out of memory, the pool releases its cached blocks and
// tries once more; when that fails too, it collects garbage (buffers of
// unreachable tensors go back to the pool through their cleanups), waits
// for the cleanups, and tries a last time. The error then names the
// request and the pool's use.
// After each allocation it may start a background garbage
// collection, paced by the pool's in-use bytes (gcPacer).
func (d *Device) Alloc(bytes int64) (*Buffer, error) {
	b, err := d.alloc(bytes)
	if err == nil {
		d.gc.maybeCollect(d)
		if d.poison && b.class > 0 {
			if err := d.Memset32(b.ptr, 0x7fc00000, b.class/4); err != nil {
				b.Free()
				return nil, err
			}
		}
		return b, nil
	}
	if !errors.Is(err, cu.OutOfMemory) {
		return b, err
	}
	runtime.GC()
	d.settle()
	b, err = d.alloc(bytes)
	if err != nil {
		return nil, fmt.Errorf("after runtime.GC and a retry: %w", err)
	}
	return b, nil
}

// GCMinTrigger is the least in-use pool memory at which Alloc starts a
// background garbage collection (see gcPacer).
const GCMinTrigger = 512 << 20

// gcPacer paces garbage collection by device memory. Buffers of
// unreachable tensors come back to the pool through cleanups that run after
// a collection; the Go heap that holds the tensors is small, so the Go
// runtime alone collects rarely and the pool would grow until the device
// is full (a BERT-base training step whose live set is a few GiB held all
// 139 GiB of an H200 that way, every out-of-memory costing a synchronous
// collection). Alloc starts one collection in the background when the
// pool's in-use bytes pass twice the least in-use bytes seen since the last
// one started (about what it left live: GOGC=100 for device memory), at
// most halfway to the device's memory, at least GCMinTrigger (gcTrigger).
// Nothing waits for the cleanups.
type gcPacer struct {
	running atomic.Bool
	runs    atomic.Int64
}

// maybeCollect starts a background collection when the in-use bytes have
// passed the trigger and none is running.
func (g *gcPacer) maybeCollect(d *Device) {
	p := &d.pool
	p.mu.Lock()
	cur, trig := p.stats.Current, gcTrigger(p.low, d.TotalMem)
	if cur <= trig || !g.running.CompareAndSwap(false, true) {
		p.mu.Unlock()
		return
	}
	p.low = cur
	p.mu.Unlock()
	go func() {
		runtime.GC()
		g.runs.Add(1)
		g.running.Store(false)
	}()
}

// settle waits (up to about 100 ms) until the cleanups queued by a
// collection have returned their buffers: the pool's in-use bytes stop
// falling. It returns them.
func (d *Device) settle() int64 {
	prev := d.Stats().Current
	for i := 0; i < 50; i++ { // cleanups run on their own goroutine after the GC
		time.Sleep(2 * time.Millisecond)
		cur := d.Stats().Current
		if cur == prev && i >= 2 {
			break
		}
		prev = cur
	}
	return prev
}

// gcTrigger is the in-use bytes at which the next background collection
// starts, low being the least in-use bytes since the last one started:
// twice low (GOGC=100 for device memory), but at most halfway from low to
// the device's total memory (a large live set, or one big tensor alive when
// the last collection started, would otherwise put the trigger beyond the
// device and stop pacing until an out-of-memory), and at least
// GCMinTrigger. total 0 (unknown) leaves out the cap.
func gcTrigger(low, total int64) int64 {
	t := 2 * low
	if total > 0 {
		t = min(t, low+max(total-low, 0)/2)
	}
	return max(t, GCMinTrigger)
}

// GCRuns returns how many background collections paced by device memory
// (gcPacer) have finished since Open.
func (d *Device) GCRuns() int64 { return d.gc.runs.Load() }

// alloc is one try of Alloc (the pool, then the driver, then the driver
// again after releasing the pool's cached blocks).
func (d *Device) alloc(bytes int64) (*Buffer, error) {
	if bytes < 0 {
		return nil, fmt.Errorf("cuda.Alloc: negative size %d", bytes)
	}
	b := &Buffer{d: d, size: bytes}
	if bytes == 0 {
		return b, nil
	}
	class := sizeClass(bytes)
	b.class = class
	p := &d.pool
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, fmt.Errorf("cuda.Alloc: %d bytes on device %d: the device is closed", bytes, d.ordinal)
	}
	p.stats.Allocs++
	if l := p.free[class]; len(l) > 0 {
		b.ptr = l[len(l)-1]
		p.free[class] = l[:len(l)-1]
		p.stats.Cached -= class
		p.stats.Current += class
		if p.stats.Current > p.stats.Peak {
			p.stats.Peak = p.stats.Current
		}
		p.mu.Unlock()
		return b, nil
	}
	p.mu.Unlock()
	err := d.do(func() error {
		ptr, err := cu.MemAlloc(class)
		if errors.Is(err, cu.OutOfMemory) {
			// cached blocks may still be read by queued kernels (they
			// went back to the pool in stream order): finish them first
			if serr := d.stream.Synchronize(); serr != nil {
				return fmt.Errorf("cuda.Alloc: synchronizing before releasing the pool's cache: %w", serr)
			}
			if rerr := p.releaseCached(); rerr != nil {
				return rerr
			}
			ptr, err = cu.MemAlloc(class)
		}
		if err != nil {
			st := d.Stats()
			free, total, _ := cu.MemInfo()
			return fmt.Errorf("cuda.Alloc: %d bytes (class %d) on device %d: %w (pool: %d B in use, %d B cached, peak %d B; device: %d B free of %d B)",
				bytes, class, d.ordinal, err, st.Current, st.Cached, st.Peak, free, total)
		}
		b.ptr = ptr
		return nil
	})
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.stats.DriverAllocs++
	p.stats.Current += class
	p.stats.Reserved += class
	if p.stats.Current > p.stats.Peak {
		p.stats.Peak = p.stats.Current
	}
	p.mu.Unlock()
	return b, nil
}

// Stats returns the allocator's statistics.
func (d *Device) Stats() PoolStats {
	d.pool.mu.Lock()
	defer d.pool.mu.Unlock()
	return d.pool.stats
}

// ResetPeak sets the peak statistic to the current use.
func (d *Device) ResetPeak() {
	d.pool.mu.Lock()
	defer d.pool.mu.Unlock()
	d.pool.stats.Peak = d.pool.stats.Current
}

// EmptyCache returns every cached (free) block to the driver.
func (d *Device) EmptyCache() error {
	return d.do(func() error {
		if err := d.stream.Synchronize(); err != nil { // queued kernels may read cached blocks
			return fmt.Errorf("cuda.EmptyCache: %w", err)
		}
		return d.pool.releaseCached()
	})
}
