//go:build cuda

package cuda

/*
#include <cuda.h>
#include <stdint.h>
#include <string.h>

// cuTensorMapEncodeTiled is a CUDA 12 driver entry point that the CUDA 11.8
// cuda.h this package builds against does not declare: its prototype, with
// the enums as the C ints they are.
typedef CUresult (*ragr_tmap_encode_fn)(void* tensorMap, int dataType, cuuint32_t rank,
		void* globalAddress, const cuuint64_t* globalDim, const cuuint64_t* globalStrides,
		const cuuint32_t* boxDim, const cuuint32_t* elementStrides,
		int interleave, int swizzle, int l2Promotion, int oobFill);

static ragr_tmap_encode_fn ragr_tmap_encode_ptr;

// ragr_tmap_init looks the entry point up in the driver (once, before any
// encode).
static CUresult ragr_tmap_init(void) {
	void* fn = NULL;
	CUresult r = cuGetProcAddress("cuTensorMapEncodeTiled", &fn, 12000, CU_GET_PROC_ADDRESS_DEFAULT);
	if (r != CUDA_SUCCESS) return r;
	if (fn == NULL) return CUDA_ERROR_NOT_FOUND;
	ragr_tmap_encode_ptr = (ragr_tmap_encode_fn)fn;
	return CUDA_SUCCESS;
}

// ragr_tmap_encode3 encodes a rank-3 tiled tensor map (element strides 1,
// no interleave) into a 64-byte-aligned local and copies its 128 bytes to out.
static CUresult ragr_tmap_encode3(unsigned char* out, int dtype, unsigned long long addr,
		unsigned long long d0, unsigned long long d1, unsigned long long d2,
		unsigned long long s1, unsigned long long s2,
		unsigned b0, unsigned b1, unsigned b2, int swizzle, int l2, int oob) {
	unsigned char map[128] __attribute__((aligned(64)));
	cuuint64_t dims[3] = {d0, d1, d2};
	cuuint64_t strides[2] = {s1, s2};
	cuuint32_t box[3] = {b0, b1, b2};
	cuuint32_t es[3] = {1, 1, 1};
	if (ragr_tmap_encode_ptr == NULL) return CUDA_ERROR_NOT_INITIALIZED;
	memset(map, 0, sizeof map);
	CUresult r = ragr_tmap_encode_ptr(map, dtype, 3, (void*)(uintptr_t)addr, dims, strides, box, es,
			0, swizzle, l2, oob);
	if (r == CUDA_SUCCESS) memcpy(out, map, sizeof map);
	return r;
}

static const char* ragr_tmap_error_name(CUresult r) {
	const char* s = 0;
	if (cuGetErrorName(r, &s) != CUDA_SUCCESS || s == 0) return "CUDA_ERROR_UNKNOWN";
	return s;
}
*/
import "C"

import (
	"fmt"
	"sync"
	"unsafe"
)

var (
	tmapOnce sync.Once
	tmapErr  error
)

// initTensorMapEncoder finds cuTensorMapEncodeTiled in the driver (once per
// process); an error says the driver lacks it.
func initTensorMapEncoder() error {
	tmapOnce.Do(func() {
		if r := C.ragr_tmap_init(); r != C.CUDA_SUCCESS {
			tmapErr = fmt.Errorf("the driver has no cuTensorMapEncodeTiled (the sm_90a GEMM needs a CUDA 12 driver): cuGetProcAddress: %s",
				C.GoString(C.ragr_tmap_error_name(r)))
		}
	})
	return tmapErr
}

// encode runs cuTensorMapEncodeTiled for t (the device's context must be
// current on the calling thread: Device.do)
// into dst, the 128-byte CUtensorMap the kernel takes by value.
func (t *tensorMap) encode(dst *[128]byte) error {
	if err := initTensorMapEncoder(); err != nil {
		return err
	}
	r := C.ragr_tmap_encode3((*C.uchar)(unsafe.Pointer(&dst[0])), C.int(t.dtype), C.ulonglong(t.addr),
		C.ulonglong(t.dims[0]), C.ulonglong(t.dims[1]), C.ulonglong(t.dims[2]),
		C.ulonglong(t.strides[0]), C.ulonglong(t.strides[1]),
		C.uint(t.box[0]), C.uint(t.box[1]), C.uint(t.box[2]),
		C.int(tmapSwizzle128B), C.int(tmapL2Promo256B), C.int(tmapOOBFillNone))
	if r != C.CUDA_SUCCESS {
		return fmt.Errorf("cuTensorMapEncodeTiled (%s): %s", t, C.GoString(C.ragr_tmap_error_name(r)))
	}
	return nil
}

// gemm90Args is the argument block of one sm_90a launch: the two encoded
// tensor maps (the Raw arguments point into it).
type gemm90Args struct {
	a, b [128]byte
}

// gemm90 launches the sm_90a kernel of plan for g (resolved: Path
// GemmWGMMA, M, N, K ≥ 1).
func (d *Device) gemm90(g Gemm, plan *gemm90Plan) error {
	var args gemm90Args
	// The driver checks the tensor maps' addresses against the calling
	// thread's current context (CUDA_ERROR_INVALID_CONTEXT on a thread that
	// never had it made current: seen on an H200 when a goroutine moved to
	// a fresh OS thread between launches), so encode with it current.
	if err := d.do(func() error {
		if err := plan.mapA.encode(&args.a); err != nil {
			return err
		}
		return plan.mapB.encode(&args.b)
	}); err != nil {
		return fmt.Errorf("kernel %s: %w", plan.kernel, err)
	}
	return d.Launch(plan.kernel, plan.grid, [3]int{plan.tile.threads(), 1, 1}, plan.tile.shared(),
		Raw{Bytes: args.a[:], Align: 64}, Raw{Bytes: args.b[:], Align: 64},
		g.C, g.Bias, int32(g.M), int32(g.N), int32(g.K), int32(g.LDC), g.StrideC, int32(g.batch()),
		plan.zA, plan.zB, g.Alpha, g.Beta, int32(g.Act), plan.flags)
}
