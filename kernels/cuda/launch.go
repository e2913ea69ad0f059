//go:build cuda

package cuda

/*
#cgo LDFLAGS: -lcuda
#cgo linux CFLAGS: -I/usr/local/cuda/include
#cgo linux LDFLAGS: -L/usr/local/cuda/lib64 -L/usr/lib/x86_64-linux-gnu
#include <cuda.h>
#include <string.h>

// ragr_launch copies the packed kernel arguments (buf, with the byte offset
// of each argument in offs) to an aligned stack buffer and launches f.
// cuLaunchKernel copies the argument values before it returns.
static CUresult ragr_launch(CUfunction f, unsigned gx, unsigned gy, unsigned gz,
		unsigned bx, unsigned by, unsigned bz, unsigned shm, CUstream s,
		const unsigned char* buf, int nbytes, const int* offs, int nargs) {
	unsigned char local[4096] __attribute__((aligned(64))); // by-value CUtensorMap arguments are 64-byte aligned
	void* ptrs[128];
	if (nbytes > (int)sizeof(local) || nargs > 128) return CUDA_ERROR_INVALID_VALUE;
	memcpy(local, buf, (size_t)nbytes);
	for (int i = 0; i < nargs; i++) ptrs[i] = local + offs[i];
	return cuLaunchKernel(f, gx, gy, gz, bx, by, bz, shm, s, ptrs, NULL);
}

static CUresult ragr_set_max_dynamic_shared(CUfunction f, int bytes) {
	return cuFuncSetAttribute(f, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes);
}

static const char* ragr_error_name(CUresult r) {
	const char* s = 0;
	if (cuGetErrorName(r, &s) != CUDA_SUCCESS || s == 0) return "CUDA_ERROR_UNKNOWN";
	return s;
}
*/
import "C"

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"

	"github.com/ragr-dev/ragr/kernels"
	"gorgonia.org/cu"
)

// defaultShared is the dynamic shared memory a kernel may use without
// opting in.
const defaultShared = 48 << 10

// Launch runs kernel name on the device's stream with the given grid and
// block sizes and dynamic shared memory. args are the kernel's parameters
// in order: DevicePtr or *Buffer for pointers (a nil *Buffer passes NULL),
// int32 or int for a C int (int is range-checked), int64 for long long,
// uint32, uint64, float32, float64, or Raw for a by-value struct. A
// launcher in this package owns each kernel's argument list; Launch checks
// the count, sizes and alignments against the parameter list the PTX
// declares (an int where the kernel takes a long long is an error, not a
// corrupted launch; a float where it takes an int of the same size is not
// caught). Errors name the kernel and the launch geometry.
func (d *Device) Launch(name string, grid, block [3]int, sharedBytes int, args ...any) error {
	buf, offs, sizes, err := packArgs(name, args)
	if err != nil {
		return err
	}
	if want, ok := d.params[name]; ok {
		if err := checkParams(name, want, sizes); err != nil {
			return err
		}
	}
	for i := 0; i < 3; i++ {
		if grid[i] < 1 || block[i] < 1 || grid[i] > math.MaxInt32 || block[i] > 1024 {
			return fmt.Errorf("kernel %s: invalid launch geometry grid %v block %v", name, grid, block)
		}
	}
	return d.do(func() error {
		f, err := d.function(name)
		if err != nil {
			return err
		}
		cf := *(*C.CUfunction)(unsafe.Pointer(&f))
		if sharedBytes > defaultShared {
			if sharedBytes > d.SharedPerBlock {
				return fmt.Errorf("kernel %s: %d bytes of shared memory requested, the device allows %d per block", name, sharedBytes, d.SharedPerBlock)
			}
			if r := C.ragr_set_max_dynamic_shared(cf, C.int(sharedBytes)); r != C.CUDA_SUCCESS {
				return fmt.Errorf("kernel %s: raising its dynamic shared memory limit to %d bytes: %s", name, sharedBytes, C.GoString(C.ragr_error_name(r)))
			}
		}
		cs := *(*C.CUstream)(unsafe.Pointer(&d.stream))
		var bp *C.uchar
		if len(buf) > 0 {
			bp = (*C.uchar)(unsafe.Pointer(&buf[0]))
		}
		var op *C.int
		if len(offs) > 0 {
			op = (*C.int)(unsafe.Pointer(&offs[0]))
		}
		err = d.profileLaunch(name, func() error {
			r := C.ragr_launch(cf, C.uint(grid[0]), C.uint(grid[1]), C.uint(grid[2]),
				C.uint(block[0]), C.uint(block[1]), C.uint(block[2]), C.uint(sharedBytes), cs,
				bp, C.int(len(buf)), op, C.int(len(offs)))
			if r != C.CUDA_SUCCESS {
				return fmt.Errorf("kernel %s: launch (grid %v, block %v, %d B shared): %s", name, grid, block, sharedBytes, C.GoString(C.ragr_error_name(r)))
			}
			return nil
		})
		if err != nil {
			return err
		}
		if d.syncEach.Load() {
			if err := d.stream.Synchronize(); err != nil {
				return fmt.Errorf("kernel %s: execution (grid %v, block %v): %w", name, grid, block, err)
			}
		}
		return nil
	})
}

// argLayout is one packed argument's size and alignment.
type argLayout struct{ size, align int }

// checkParams compares the packed arguments with the kernel's PTX
// parameter list.
func checkParams(name string, want []kernels.Param, got []argLayout) error {
	if len(got) != len(want) {
		return fmt.Errorf("kernel %s: %d arguments, the kernel takes %d", name, len(got), len(want))
	}
	for i := range want {
		if got[i].size != want[i].Size || got[i].align != want[i].Align {
			return fmt.Errorf("kernel %s: argument %d is %d bytes (align %d), the kernel's parameter %d is %d bytes (align %d)",
				name, i, got[i].size, got[i].align, i, want[i].Size, want[i].Align)
		}
	}
	return nil
}

// packArgs lays the arguments out at their natural alignment, as the
// kernel's parameter space has them, and returns each one's offset and
// layout.
func packArgs(name string, args []any) ([]byte, []C.int, []argLayout, error) {
	var buf []byte
	offs := make([]C.int, 0, len(args))
	sizes := make([]argLayout, 0, len(args))
	put := func(align int, b []byte) {
		for len(buf)%align != 0 {
			buf = append(buf, 0)
		}
		offs = append(offs, C.int(len(buf)))
		sizes = append(sizes, argLayout{len(b), align})
		buf = append(buf, b...)
	}
	le := binary.LittleEndian
	for i, a := range args {
		var b [8]byte
		switch v := a.(type) {
		case cu.DevicePtr:
			le.PutUint64(b[:], uint64(v))
			put(8, b[:8])
		case *Buffer:
			if v != nil {
				le.PutUint64(b[:], uint64(v.ptr))
			}
			put(8, b[:8])
		case int32:
			le.PutUint32(b[:], uint32(v))
			put(4, b[:4])
		case int:
			if v < math.MinInt32 || v > math.MaxInt32 {
				return nil, nil, nil, fmt.Errorf("kernel %s: argument %d: int %d does not fit a C int (pass int64 for long long)", name, i, v)
			}
			le.PutUint32(b[:], uint32(int32(v)))
			put(4, b[:4])
		case uint32:
			le.PutUint32(b[:], v)
			put(4, b[:4])
		case int64:
			le.PutUint64(b[:], uint64(v))
			put(8, b[:8])
		case uint64:
			le.PutUint64(b[:], v)
			put(8, b[:8])
		case float32:
			le.PutUint32(b[:], math.Float32bits(v))
			put(4, b[:4])
		case float64:
			le.PutUint64(b[:], math.Float64bits(v))
			put(8, b[:8])
		case Raw:
			al := v.Align
			if al < 1 {
				al = 1
			}
			put(al, v.Bytes)
		default:
			return nil, nil, nil, fmt.Errorf("kernel %s: argument %d has unsupported type %T", name, i, a)
		}
	}
	if len(buf) > 4096 {
		return nil, nil, nil, fmt.Errorf("kernel %s: %d bytes of arguments, the limit is 4096", name, len(buf))
	}
	return buf, offs, sizes, nil
}

// attrSharedOptin is CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN,
// which gorgonia.org/cu does not name.
const attrSharedOptin = C.CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN
