// reduce.cu: reductions over the middle axis of a contiguous [outer, n, inner]
// array (any axis of a contiguous tensor: outer = product of the dims
// before it, inner = product of the dims after it).
//
//   ragr_reduce_sum_V_f32(y, x, outer, n, inner)          y[o*inner+k] = sum_j x[(o*n+j)*inner+k]
//   ragr_reduce_mean_V_f32(y, x, outer, n, inner)         the sum divided by n
//   ragr_reduce_max_V_f32(y, arg, x, outer, n, inner)     max and the first j reaching it (int32;
//                                                         arg may be NULL); a NaN is the maximum
//                                                         (the first NaN's index), like torch.max
// V is rows or cols (below); the _rows kernels take no inner argument.
// All sizes are long long; n >= 1. Accumulation is fp32.
//
// Variants, picked by the launcher:
//   _rows (inner == 1): one block per output row (grid = outer, block 256),
//     each thread reduces a strided slice, then the block reduces.
//   _cols (inner > 1): one thread per output element (grid-stride over
//     outer*inner, block 256), walking j; the warp's loads are coalesced over k.
//
// Benchmark: ragr bench kernels (rows reduce_sum_f32 ...).
#include "common.cuh"

template <bool MEAN>
__device__ __forceinline__ void sum_rows(float* __restrict__ y, const float* __restrict__ x, long long outer, long long n) {
	__shared__ float scratch[32];
	for (long long o = blockIdx.x; o < outer; o += gridDim.x) {
		const float* row = x + o * n;
		float s = 0.f;
		for (long long j = threadIdx.x; j < n; j += blockDim.x) s += row[j];
		s = block_sum(s, scratch);
		if (threadIdx.x == 0) y[o] = MEAN ? s / (float)n : s;
	}
}

template <bool MEAN>
__device__ __forceinline__ void sum_cols(float* __restrict__ y, const float* __restrict__ x, long long outer, long long n,
                                         long long inner) {
	RAGR_GRID_STRIDE(i, outer * inner) {
		const long long o = i / inner, k = i - o * inner;
		const float* p = x + o * n * inner + k;
		float s = 0.f;
		for (long long j = 0; j < n; j++) s += p[j * inner];
		y[i] = MEAN ? s / (float)n : s;
	}
}

extern "C" __global__ void ragr_reduce_sum_rows_f32(float* __restrict__ y, const float* __restrict__ x, long long outer, long long n) {
	sum_rows<false>(y, x, outer, n);
}
extern "C" __global__ void ragr_reduce_mean_rows_f32(float* __restrict__ y, const float* __restrict__ x, long long outer, long long n) {
	sum_rows<true>(y, x, outer, n);
}
extern "C" __global__ void ragr_reduce_sum_cols_f32(float* __restrict__ y, const float* __restrict__ x, long long outer, long long n,
                                                    long long inner) {
	sum_cols<false>(y, x, outer, n, inner);
}
extern "C" __global__ void ragr_reduce_mean_cols_f32(float* __restrict__ y, const float* __restrict__ x, long long outer, long long n,
                                                     long long inner) {
	sum_cols<true>(y, x, outer, n, inner);
}

// (value, index) pair ordering for max with NaN as the maximum and the
// first index winning ties.
__device__ __forceinline__ bool better(float v, long long i, float w, long long j) {
	const bool vn = v != v, wn = w != w;
	if (vn || wn) {
		if (vn && wn) return i < j;
		return vn;
	}
	if (v != w) return v > w;
	return i < j;
}

extern "C" __global__ void ragr_reduce_max_rows_f32(float* __restrict__ y, int* __restrict__ arg, const float* __restrict__ x,
                                                    long long outer, long long n) {
	__shared__ float sv[32];
	__shared__ long long si[32];
	const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = (blockDim.x + 31) >> 5;
	for (long long o = blockIdx.x; o < outer; o += gridDim.x) {
		const float* row = x + o * n;
		float bv = -INFINITY;
		long long bi = n; // n: nothing seen yet (loses every tie against a real index)
		for (long long j = threadIdx.x; j < n; j += blockDim.x) {
			const float v = row[j];
			if (bi == n || better(v, j, bv, bi)) bv = v, bi = j;
		}
#pragma unroll
		for (int off = 16; off > 0; off >>= 1) {
			const float ov = __shfl_xor_sync(RAGR_FULL_MASK, bv, off);
			const long long oi = __shfl_xor_sync(RAGR_FULL_MASK, bi, off);
			if (oi != n && (bi == n || better(ov, oi, bv, bi))) bv = ov, bi = oi;
		}
		__syncthreads();
		if (lane == 0) sv[warp] = bv, si[warp] = bi;
		__syncthreads();
		if (warp == 0) {
			bv = lane < nwarps ? sv[lane] : -INFINITY;
			bi = lane < nwarps ? si[lane] : n;
#pragma unroll
			for (int off = 16; off > 0; off >>= 1) {
				const float ov = __shfl_xor_sync(RAGR_FULL_MASK, bv, off);
				const long long oi = __shfl_xor_sync(RAGR_FULL_MASK, bi, off);
				if (oi != n && (bi == n || better(ov, oi, bv, bi))) bv = ov, bi = oi;
			}
			if (lane == 0) {
				y[o] = bv;
				if (arg) arg[o] = (int)bi;
			}
		}
	}
}

extern "C" __global__ void ragr_reduce_max_cols_f32(float* __restrict__ y, int* __restrict__ arg, const float* __restrict__ x,
                                                    long long outer, long long n, long long inner) {
	RAGR_GRID_STRIDE(i, outer * inner) {
		const long long o = i / inner, k = i - o * inner;
		const float* p = x + o * n * inner + k;
		float bv = p[0];
		long long bi = 0;
		for (long long j = 1; j < n; j++) {
			const float v = p[j * inner];
			if (better(v, j, bv, bi)) bv = v, bi = j;
		}
		y[i] = bv;
		if (arg) arg[i] = (int)bi;
	}
}
