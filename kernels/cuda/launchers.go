//go:build cuda

package cuda

import "math"

const (
	blockElem = 256 // threads per block of the 1-D grid-stride kernels
)

// maxGrid1D caps grid-stride launches at 16 blocks per SM.
func (d *Device) maxGrid1D() int { return 16 * d.SMs }

// launch1D launches a 1-D grid-stride kernel over n work items with perThread
// items per thread (the vector width).
func (d *Device) launch1D(name string, n int64, perThread int, args ...any) error {
	g := Grid1D(n, blockElem, perThread, d.maxGrid1D())
	return d.Launch(name, [3]int{g, 1, 1}, [3]int{blockElem, 1, 1}, 0, args...)
}

// launchRows launches a kernel whose blocks stride over rows.
func (d *Device) launchRows(name string, rows int64, cols int, args ...any) error {
	g := rows
	if m := int64(32 * d.SMs); g > m {
		g = m
	}
	return d.Launch(name, [3]int{int(g), 1, 1}, [3]int{rowBlock(cols), 1, 1}, 0, args...)
}

// withErrFlag runs launch with a device int32 set to MaxInt32, which the
// kernel lowers with atomicMin to the first bad index; it returns that
// index, or -1 when the kernel found nothing wrong. It synchronizes.
func (d *Device) withErrFlag(launch func(flag DevicePtr) error) (int, error) {
	b, err := d.Alloc(4)
	if err != nil {
		return 0, err
	}
	defer b.Free()
	if err := d.Memset32(b.Ptr(), math.MaxInt32, 1); err != nil {
		return 0, err
	}
	if err := launch(b.Ptr()); err != nil {
		return 0, err
	}
	var v [1]int32
	if err := CopyDtoH(d, v[:], b.Ptr()); err != nil {
		return 0, err
	}
	if v[0] == math.MaxInt32 {
		return -1, nil
	}
	return int(v[0]), nil
}

// readInt32 reads one int32 at p (for error messages).
func (d *Device) readInt32(p DevicePtr) int32 {
	var v [1]int32
	if err := CopyDtoH(d, v[:], p); err != nil {
		return math.MinInt32
	}
	return v[0]
}
