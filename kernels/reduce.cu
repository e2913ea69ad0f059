// reduce.cu: reductions over the middle axis of a contiguous [outer, n, inner]
// array (any axis of a contiguous tensor: outer = product of the dims
// before it, inner = product of the dims after it).
//
//   ragr_reduce_sum_rows_f32(y, x, outer, n, vec)         inner == 1: y[o] = sum_j x[o*n+j]
//   ragr_reduce_mean_rows_f32(y, x, outer, n, vec)        the sum divided by n
//   ragr_reduce_sum_cols_f32(y, x, outer, n, inner, chunk, div)
//                                                         y[o*inner+k] = sum_j x[(o*n+j)*inner+k]
//                                                         (divided by div > 0: the mean)
//   ragr_reduce_max_rows_f32(y, arg, x, outer, n, vec)
//   ragr_reduce_max_cols_f32(y, arg, x, outer, n, inner)  max and the first j reaching it (int32;
//                                                         arg may be NULL); a NaN is the maximum
//                                                         (the first NaN's index), like torch.max
// V is rows or cols (below); the _rows kernels take no inner argument.
// All sizes are long long; n >= 1. Accumulation is fp32.
//
// Variants, picked by the launcher:
//   _rows (inner == 1): one block per output row (grid-stride over rows,
//     block 256 for rows of 1024 or more, else about n/4 threads), each
//     thread reduces a strided slice, then the block reduces. vec = 1 (the
//     launcher's promise: n % 4 == 0 and x 16-byte aligned) reads float4s
//     and keeps four partial sums, so a thread has several loads in flight
//     before the block's synchronization (max: four candidates a load).
//   _cols (inner > 1): ragr_reduce_sum_cols_f32(y, x, outer, n, inner,
//     chunk, div): a block of 256 threads (8 warps) reduces 32 adjacent
//     columns k over a chunk of chunk rows j (the warp's loads coalesced over
//     k, the warps interleaved over j, four rows in flight per thread), then
//     across its warps through shared memory. Blocks stride over
//     ceil(n/chunk) * outer * ceil(inner/32) tiles. With chunk >= n the
//     block writes y (divided by div when div > 0: the mean); with chunk < n
//     (too few column tiles to fill the GPU: a bias gradient [8192, 768]
//     has 24) it writes the partial sums of chunk c to y[c*outer*inner + i]
//     (a workspace) and the launcher reduces those with a second launch
//     (outer 1, n = the chunk count, chunk >= n). Deterministic: a fixed
//     order for every shape and grid.
//   ragr_reduce_max_cols_f32: one thread per output element (grid-stride
//     over outer*inner, block 256), walking j; the warp's loads are
//     coalesced over k.
//
// Benchmark: ragr bench kernels (rows reduce_sum_f32 ...).
#include "common.cuh"

template <bool MEAN>
__device__ __forceinline__ void sum_rows(float* __restrict__ y, const float* __restrict__ x, long long outer, long long n, int vec) {
	__shared__ float scratch[32];
	for (long long o = blockIdx.x; o < outer; o += gridDim.x) {
		const float* row = x + o * n;
		float s0 = 0.f, s1 = 0.f, s2 = 0.f, s3 = 0.f;
		if (vec) {
			const float4* r4 = reinterpret_cast<const float4*>(row);
			const long long n4 = n >> 2;
			long long j = threadIdx.x;
			const long long step = blockDim.x;
			// two float4s per iteration: eight loads in flight per thread
			for (; j + step < n4; j += 2 * step) {
				const float4 a = r4[j], b = r4[j + step];
				s0 += a.x + b.x, s1 += a.y + b.y, s2 += a.z + b.z, s3 += a.w + b.w;
			}
			if (j < n4) {
				const float4 a = r4[j];
				s0 += a.x, s1 += a.y, s2 += a.z, s3 += a.w;
			}
		} else {
			for (long long j = threadIdx.x; j < n; j += blockDim.x) s0 += row[j];
		}
		float s = block_sum((s0 + s1) + (s2 + s3), scratch);
		if (threadIdx.x == 0) y[o] = MEAN ? s / (float)n : s;
	}
}

// sum_cols: see _cols above. blockDim.x must be 256.
__device__ __forceinline__ void sum_cols(float* __restrict__ y, const float* __restrict__ x, long long outer, long long n,
                                         long long inner, long long chunk, long long div) {
	__shared__ float part[8][33];
	const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
	const long long ktiles = (inner + 31) >> 5, chunks = (n + chunk - 1) / chunk;
	const long long tiles = chunks * outer * ktiles;
	for (long long t = blockIdx.x; t < tiles; t += gridDim.x) {
		const long long kt = t % ktiles, rest = t / ktiles;
		const long long o = rest % outer, c = rest / outer;
		const long long k = kt * 32 + lane;
		const long long j0 = c * chunk, j1 = min(n, j0 + chunk);
		float s0 = 0.f, s1 = 0.f, s2 = 0.f, s3 = 0.f;
		if (k < inner) {
			const float* p = x + o * n * inner + k;
			long long j = j0 + warp;
			for (; j + 24 < j1; j += 32) {
				s0 += p[j * inner];
				s1 += p[(j + 8) * inner];
				s2 += p[(j + 16) * inner];
				s3 += p[(j + 24) * inner];
			}
			for (; j < j1; j += 8) s0 += p[j * inner];
		}
		__syncthreads(); // part may still be read for the previous tile
		part[warp][lane] = (s0 + s1) + (s2 + s3);
		__syncthreads();
		if (warp == 0 && k < inner) {
			float s = 0.f;
#pragma unroll
			for (int w = 0; w < 8; w++) s += part[w][lane];
			if (chunks > 1) {
				y[c * outer * inner + o * inner + k] = s;
			} else {
				y[o * inner + k] = div > 0 ? s / (float)div : s;
			}
		}
	}
}

extern "C" __global__ void ragr_reduce_sum_rows_f32(float* __restrict__ y, const float* __restrict__ x, long long outer, long long n, int vec) {
	sum_rows<false>(y, x, outer, n, vec);
}
extern "C" __global__ void ragr_reduce_mean_rows_f32(float* __restrict__ y, const float* __restrict__ x, long long outer, long long n, int vec) {
	sum_rows<true>(y, x, outer, n, vec);
}
extern "C" __global__ void __launch_bounds__(256) ragr_reduce_sum_cols_f32(float* __restrict__ y, const float* __restrict__ x, long long outer,
                                                                        long long n, long long inner, long long chunk, long long div) {
	sum_cols(y, x, outer, n, inner, chunk, div);
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
                                                    long long outer, long long n, int vec) {
	__shared__ float sv[32];
	__shared__ long long si[32];
	const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = (blockDim.x + 31) >> 5;
	for (long long o = blockIdx.x; o < outer; o += gridDim.x) {
		const float* row = x + o * n;
		float bv = -INFINITY;
		long long bi = n; // n: nothing seen yet (loses every tie against a real index)
		if (vec) { // float4s (n % 4 == 0, row 16-byte aligned); better() orders by index, so any visiting order gives the first maximum
			const float4* r4 = reinterpret_cast<const float4*>(row);
			const long long n4 = n >> 2;
			for (long long q = threadIdx.x; q < n4; q += blockDim.x) {
				const float4 a = r4[q];
				const long long j = q << 2;
				if (bi == n || better(a.x, j, bv, bi)) bv = a.x, bi = j;
				if (better(a.y, j + 1, bv, bi)) bv = a.y, bi = j + 1;
				if (better(a.z, j + 2, bv, bi)) bv = a.z, bi = j + 2;
				if (better(a.w, j + 3, bv, bi)) bv = a.w, bi = j + 3;
			}
		} else {
			for (long long j = threadIdx.x; j < n; j += blockDim.x) {
				const float v = row[j];
				if (bi == n || better(v, j, bv, bi)) bv = v, bi = j;
			}
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
