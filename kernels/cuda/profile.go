//go:build cuda

package cuda

import (
	"fmt"
	"sync"

	"gorgonia.org/cu"
)

// profiler records a CUDA event before and after every launch while the
// device is profiling (Device.StartProfile).
type profiler struct {
	mu     sync.Mutex
	closed bool // StopProfile has taken the records
	names  []string
	events []cu.Event // start and stop of launch i at 2i, 2i+1
}

// event creates an event (the device's context is current: called inside
// Device.do).
func (p *profiler) event() (cu.Event, error) {
	ev, err := cu.MakeEvent(cu.DefaultEvent)
	if err != nil {
		return ev, fmt.Errorf("cuda: profile: creating an event: %w", err)
	}
	return ev, nil
}

// StartProfile starts timing every kernel launch, copy and memset on the
// device's stream with a pair of CUDA events (a few microseconds of host
// time each; the GPU time between the events is the operation's; copies
// appear as "memcpy HtoD", "memcpy DtoH", "memcpy DtoD", "memcpy DtoD 2D"
// and "memset"). An error when the device is profiling already.
func (d *Device) StartProfile() error {
	if !d.prof.CompareAndSwap(nil, &profiler{}) {
		return fmt.Errorf("cuda: device %d is profiling already", d.ordinal)
	}
	return nil
}

// StopProfile stops timing, waits for the timed launches and returns the
// GPU time per kernel name, the largest first.
func (d *Device) StopProfile() ([]KernelStat, error) {
	p := d.prof.Swap(nil)
	if p == nil {
		return nil, fmt.Errorf("cuda: device %d is not profiling", d.ordinal)
	}
	// a launch that saw p before the swap records nothing more after this
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	if err := d.Synchronize(); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	secs := make([]float64, len(p.names))
	err := d.do(func() error {
		var first error
		for i := range p.names {
			ms, err := p.events[2*i].Elapsed(p.events[2*i+1])
			if err != nil && first == nil {
				first = fmt.Errorf("cuda: profile: reading the events of %s: %w", p.names[i], err)
			}
			secs[i] = float64(ms) / 1000
		}
		for i := range p.events {
			_ = cu.DestroyEvent(&p.events[i])
		}
		return first
	})
	if err != nil {
		return nil, err
	}
	return kernelStats(p.names, secs), nil
}

// profileLaunch runs launch between two recorded events when the device
// is profiling (inside Device.do, the context current).
func (d *Device) profileLaunch(name string, launch func() error) error {
	p := d.prof.Load()
	if p == nil {
		return launch()
	}
	start, err := p.event()
	if err != nil {
		return err
	}
	stop, err := p.event()
	if err != nil {
		_ = cu.DestroyEvent(&start)
		return err
	}
	drop := func() {
		_ = cu.DestroyEvent(&start)
		_ = cu.DestroyEvent(&stop)
	}
	if err := start.Record(d.stream); err != nil {
		drop()
		return fmt.Errorf("cuda: profile: recording an event: %w", err)
	}
	if err := launch(); err != nil {
		drop()
		return err
	}
	if err := stop.Record(d.stream); err != nil {
		drop()
		return fmt.Errorf("cuda: profile: recording an event: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed { // StopProfile ran meanwhile: this launch is not in its report
		drop()
		return nil
	}
	p.names = append(p.names, name)
	p.events = append(p.events, start, stop)
	return nil
}
