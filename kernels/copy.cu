// copy.cu: dtype casts, the strided copy that makes any view contiguous,
// and fills.
//
// Casts (contiguous, n elements, round to nearest even; NaN stays NaN,
// values beyond the target's range become +-Inf):
//   ragr_cast_f32_bf16(__nv_bfloat16* y, const float* x, n)   f32 -> bf16
//   ragr_cast_bf16_f32(float* y, const __nv_bfloat16* x, n)   bf16 -> f32 (exact)
//   ragr_cast_f32_f16(__half* y, const float* x, n)           f32 -> fp16
//   ragr_cast_f16_f32(float* y, const __half* x, n)           fp16 -> f32 (exact)
// Casts with int32 (T in f32, bf16, f16):
//   ragr_cast_i32_T(T* y, const int* x, n)   to f32 rounded to nearest even,
//       then (bf16, fp16) rounded again to T, as the CPU backend converts
//   ragr_cast_T_i32(int* y, const T* x, n)   truncated toward zero
//       (__float2int_rz: values beyond int32 saturate, NaN gives 0; the CPU
//       backend's Go conversion leaves those cases implementation-defined)
// Strided copy, by element size (the bytes are copied, the dtype does not
// matter): ragr_copy_strided_b32 / _b16(dst, src, StridedArgs) writes the
// contiguous dst of shape args.shape[0..ndim) (ndim <= 8) from src read at
// element offset sum_d k_d*args.stride[d] (any strides: transposes,
// slices, broadcasts with stride 0).
// Tiled transpose, the strided copy's fast path for a source whose
// stride-1 dimension is not the destination's innermost one (a transposed
// or permuted view): ragr_copy_transpose_b32 / _b16(dst, src, TransposeArgs)
// writes the same contiguous dst. The launcher picks it when, after
// dropping size-1 dimensions, the last dimension (R, dst-contiguous) has a
// source stride other than 0 and 1 and an earlier dimension (C) has source
// stride 1, both of extent >= 16; the other dimensions (at most 6) are
// batch dimensions. Each 64x64 tile of (R, C) is read with C innermost
// (coalesced source rows), held in shared memory (rows padded to an odd
// number of 4-byte words: no bank conflicts either way) and written with R
// innermost (coalesced destination rows); edges are masked.
// Fills: ragr_fill_f32(float* y, float v, n); ragr_fill_b16(uint16* y,
// unsigned v, n) writes the low 16 bits of v (bf16/fp16 bit patterns).
//
// Launch: 1-D grid-stride; block 256, grid = min(ceil(n/256), 16*SMs)
// (casts: ceil(n/(256*8)); they convert 8 elements per 16-byte-aligned step).
// Transpose: block 256 (8 warps), one 64x64 tile per block, grid = the
// number of tiles (a grid-stride loop over tiles covers a capped grid);
// each thread moves 16 elements (16 loads in flight, then 16 stores).
//
// Benchmark: ragr bench kernels (rows cast_f32_bf16, copy_strided_b32 ...).
#include "map.cuh"

// cast_map: y[i] = f(x[i]) from Ti to To. When x and y are 16-byte aligned a
// thread converts 8 elements per step with 16-byte loads and stores (two of
// them on a 4-byte side), then the tail goes element by element; otherwise
// element by element throughout.
template <typename T> union Pack8 {
	uint4 u[8 * sizeof(T) / 16];
	T v[8];
};
template <typename Ti, typename To, typename F>
__device__ __forceinline__ void cast_map(To* __restrict__ y, const Ti* __restrict__ x, long long n, F f) {
	static_assert(8 * sizeof(Ti) % 16 == 0 && 8 * sizeof(To) % 16 == 0, "8 elements fill 16-byte vectors");
	constexpr int KI = 8 * sizeof(Ti) / 16, KO = 8 * sizeof(To) / 16;
	long long done = 0;
	if (aligned16(x) && aligned16(y)) {
		const long long nv = n >> 3;
		RAGR_GRID_STRIDE(i, nv) {
			Pack8<Ti> a;
			Pack8<To> r;
#pragma unroll
			for (int k = 0; k < KI; k++) a.u[k] = reinterpret_cast<const uint4*>(x)[i * KI + k];
#pragma unroll
			for (int k = 0; k < 8; k++) r.v[k] = f(a.v[k]);
#pragma unroll
			for (int k = 0; k < KO; k++) reinterpret_cast<uint4*>(y)[i * KO + k] = r.u[k];
		}
		done = nv << 3;
	}
	RAGR_GRID_STRIDE(j, n - done) {
		const long long i = done + j;
		y[i] = f(x[i]);
	}
}

struct ToBf16 {
	__device__ __nv_bfloat16 operator()(float v) const { return __float2bfloat16_rn(v); }
};
struct ToF16 {
	__device__ __half operator()(float v) const { return __float2half_rn(v); }
};
struct FromBf16 {
	__device__ float operator()(__nv_bfloat16 v) const { return __bfloat162float(v); }
};
struct FromF16 {
	__device__ float operator()(__half v) const { return __half2float(v); }
};
template <typename T> struct FromI32 {
	__device__ T operator()(int v) const { return from_f32<T>(__int2float_rn(v)); }
};
template <typename T> struct ToI32 {
	__device__ int operator()(T v) const { return __float2int_rz(to_f32(v)); }
};

extern "C" __global__ void ragr_cast_f32_bf16(__nv_bfloat16* __restrict__ y, const float* __restrict__ x, long long n) {
	cast_map(y, x, n, ToBf16());
}
extern "C" __global__ void ragr_cast_bf16_f32(float* __restrict__ y, const __nv_bfloat16* __restrict__ x, long long n) {
	cast_map(y, x, n, FromBf16());
}
extern "C" __global__ void ragr_cast_f32_f16(__half* __restrict__ y, const float* __restrict__ x, long long n) {
	cast_map(y, x, n, ToF16());
}
extern "C" __global__ void ragr_cast_f16_f32(float* __restrict__ y, const __half* __restrict__ x, long long n) {
	cast_map(y, x, n, FromF16());
}

#define RAGR_CAST_I32(T, suffix)                                                                                  \
	extern "C" __global__ void ragr_cast_i32_##suffix(T* __restrict__ y, const int* __restrict__ x, long long n) { \
		cast_map(y, x, n, FromI32<T>());                                                                        \
	}                                                                                                               \
	extern "C" __global__ void ragr_cast_##suffix##_i32(int* __restrict__ y, const T* __restrict__ x, long long n) { \
		cast_map(y, x, n, ToI32<T>());                                                                          \
	}
RAGR_CAST_I32(float, f32)
RAGR_CAST_I32(__nv_bfloat16, bf16)
RAGR_CAST_I32(__half, f16)

#define RAGR_MAX_DIMS 8
struct StridedArgs {
	long long n;                     // elements (product of shape)
	long long shape[RAGR_MAX_DIMS];  // outermost first
	long long stride[RAGR_MAX_DIMS]; // source element strides
	int ndim;
};

// offset of element i of the contiguous output in the strided source; the
// quotient/remainder chain runs in 32-bit arithmetic when the element count
// fits (64-bit integer division is a long instruction sequence on the GPU).
template <typename I>
__device__ __forceinline__ long long strided_offset(I r, const StridedArgs& g) {
	long long off = 0;
	for (int d = g.ndim - 1; d >= 0; d--) {
		const I q = r / (I)g.shape[d];
		off += (long long)(r - q * (I)g.shape[d]) * g.stride[d];
		r = q;
	}
	return off;
}

template <typename T>
__device__ __forceinline__ void copy_strided(T* __restrict__ dst, const T* __restrict__ src, const StridedArgs& g) {
	if (g.n <= 0xffffffffLL) {
		RAGR_GRID_STRIDE(i, g.n) { dst[i] = src[strided_offset<unsigned>((unsigned)i, g)]; }
	} else {
		RAGR_GRID_STRIDE(i, g.n) { dst[i] = src[strided_offset<long long>(i, g)]; }
	}
}

extern "C" __global__ void ragr_copy_strided_b32(unsigned* __restrict__ dst, const unsigned* __restrict__ src, const StridedArgs args) {
	copy_strided(dst, src, args);
}
extern "C" __global__ void ragr_copy_strided_b16(unsigned short* __restrict__ dst, const unsigned short* __restrict__ src,
                                                 const StridedArgs args) {
	copy_strided(dst, src, args);
}

#define RAGR_TILE 64
#define RAGR_TILE_BATCH 6
struct TransposeArgs {
	long long rows, cols;   // extents of R (dst-contiguous) and C (src-contiguous)
	long long src_row;      // source stride of R (C's is 1)
	long long dst_col;      // destination stride of C (R's is 1)
	long long tiles_r, tiles_c, tiles; // tiles along R, along C, in all (with the batch)
	long long bshape[RAGR_TILE_BATCH];  // batch dimensions, outermost first
	long long bsrc[RAGR_TILE_BATCH];    // their source strides
	long long bdst[RAGR_TILE_BATCH];    // their destination strides
	int nb;
};

// One 64x64 tile per step: rows r of the tile are R indices, columns C
// indices. Read: warp w takes tile rows w, w+8, ..., lanes the columns
// (lane, lane+32): source rows are contiguous. Write: warp w takes tile
// columns w, w+8, ..., lanes the rows: destination rows are contiguous.
// Shared rows hold P elements of S: 65 words (b32) or 66 halves = 33 words
// (b16): an odd word pitch, so a column read hits 32 different banks.
template <typename T>
__device__ __forceinline__ void copy_transpose(T* __restrict__ dst, const T* __restrict__ src, const TransposeArgs& g) {
	constexpr int P = RAGR_TILE + (sizeof(T) == 4 ? 1 : 2), RPT = RAGR_TILE / 8;
	__shared__ T tile[RAGR_TILE * P];
	const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
	for (long long k = blockIdx.x; k < g.tiles; k += gridDim.x) {
		long long q = k / g.tiles_c;
		const long long c0 = (k - q * g.tiles_c) * RAGR_TILE;
		long long b = q / g.tiles_r;
		const long long r0 = (q - b * g.tiles_r) * RAGR_TILE;
		long long so = 0, dof = 0;
		for (int d = g.nb - 1; d >= 0; d--) {
			const long long e = b / g.bshape[d];
			const long long i = b - e * g.bshape[d];
			so += i * g.bsrc[d];
			dof += i * g.bdst[d];
			b = e;
		}
		T v[2 * RPT];
#pragma unroll
		for (int i = 0; i < RPT; i++) {
			const long long r = r0 + warp + 8 * i;
			const T* s = src + so + r * g.src_row + c0;
#pragma unroll
			for (int h = 0; h < 2; h++) {
				const long long c = c0 + lane + 32 * h;
				v[2 * i + h] = r < g.rows && c < g.cols ? s[lane + 32 * h] : (T)0;
			}
		}
#pragma unroll
		for (int i = 0; i < RPT; i++)
#pragma unroll
			for (int h = 0; h < 2; h++) tile[(warp + 8 * i) * P + lane + 32 * h] = v[2 * i + h];
		__syncthreads();
#pragma unroll
		for (int i = 0; i < RPT; i++) {
			const long long c = c0 + warp + 8 * i;
			T* o = dst + dof + c * g.dst_col + r0;
#pragma unroll
			for (int h = 0; h < 2; h++) {
				const long long r = r0 + lane + 32 * h;
				if (r < g.rows && c < g.cols) o[lane + 32 * h] = tile[(lane + 32 * h) * P + warp + 8 * i];
			}
		}
		__syncthreads(); // the tile is rewritten by the next step
	}
}

extern "C" __global__ void __launch_bounds__(256) ragr_copy_transpose_b32(unsigned* __restrict__ dst, const unsigned* __restrict__ src,
                                                                           const TransposeArgs args) {
	copy_transpose(dst, src, args);
}
extern "C" __global__ void __launch_bounds__(256) ragr_copy_transpose_b16(unsigned short* __restrict__ dst,
                                                                           const unsigned short* __restrict__ src,
                                                                           const TransposeArgs args) {
	copy_transpose(dst, src, args);
}

extern "C" __global__ void ragr_fill_f32(float* __restrict__ y, float v, long long n) {
	RAGR_GRID_STRIDE(i, n) { y[i] = v; }
}
extern "C" __global__ void ragr_fill_b16(unsigned short* __restrict__ y, unsigned v, long long n) {
	const unsigned short h = (unsigned short)(v & 0xffffu);
	RAGR_GRID_STRIDE(i, n) { y[i] = h; }
}
