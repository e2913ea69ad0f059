//go:build cuda

package cuda

import (
	"fmt"
	"sort"

	"gorgonia.org/cu"
)

// Timing is the result of Time: the median, fastest and slowest of the
// timed repetitions, in seconds (CUDA events around each repetition).
type Timing struct {
	Median, Min, Max float64
	Reps             int
}

// Time runs fn warmup times untimed, then reps times, each between two
// CUDA events on the device's stream, and returns the statistics of the
// event-measured times. fn must only queue work on the device (launches,
// device copies); Time synchronizes before reading the events.
func (d *Device) Time(warmup, reps int, fn func() error) (Timing, error) {
	if reps < 1 {
		return Timing{}, fmt.Errorf("cuda.Time: reps %d < 1", reps)
	}
	for i := 0; i < warmup; i++ {
		if err := fn(); err != nil {
			return Timing{}, err
		}
	}
	evs := make([]cu.Event, reps+1)
	err := d.do(func() error {
		for i := range evs {
			var err error
			if evs[i], err = cu.MakeEvent(cu.DefaultEvent); err != nil {
				return fmt.Errorf("cuda.Time: creating event: %w", err)
			}
		}
		return nil
	})
	defer d.do(func() error {
		for i := range evs {
			if evs[i] != (cu.Event{}) {
				_ = cu.DestroyEvent(&evs[i])
			}
		}
		return nil
	})
	if err != nil {
		return Timing{}, err
	}
	record := func(i int) error {
		return d.do(func() error {
			if err := evs[i].Record(d.stream); err != nil {
				return fmt.Errorf("cuda.Time: recording event: %w", err)
			}
			return nil
		})
	}
	if err := record(0); err != nil {
		return Timing{}, err
	}
	for i := 1; i <= reps; i++ {
		if err := fn(); err != nil {
			return Timing{}, err
		}
		if err := record(i); err != nil {
			return Timing{}, err
		}
	}
	if err := d.Synchronize(); err != nil {
		return Timing{}, err
	}
	ts := make([]float64, reps)
	err = d.do(func() error {
		for i := 0; i < reps; i++ {
			ms, err := evs[i].Elapsed(evs[i+1])
			if err != nil {
				return fmt.Errorf("cuda.Time: reading events: %w", err)
			}
			ts[i] = ms / 1e3
		}
		return nil
	})
	if err != nil {
		return Timing{}, err
	}
	sort.Float64s(ts)
	return Timing{Median: ts[reps/2], Min: ts[0], Max: ts[reps-1], Reps: reps}, nil
}
