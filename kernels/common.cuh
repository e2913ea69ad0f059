// common.cuh: helpers shared by every kernels/*.cu file (not a kernel family).
//
//   - RAGR_GRID_STRIDE(i, n): grid-stride loop over [0, n) with a 64-bit index.
//   - warp_sum / warp_max: butterfly reductions over a full warp (all 32
//     lanes must call them).
//   - block_sum / block_max: reductions over a whole block (blockDim.x a
//     multiple of 32, at most 1024); every thread gets the result. They use
//     a 32-float shared scratch array the caller passes, and synchronize.
//   - philox4x32_10: the counter-based RNG used by dropout (Salmon et al.,
//     "Parallel random numbers: as easy as 1, 2, 3", SC'11; the constants
//     are the paper's).
//   - Loads/stores that convert bf16/fp16 storage to fp32 compute.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>

#define RAGR_GRID_STRIDE(i, n)                                                   \
	for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); \
	     i += (long long)blockDim.x * gridDim.x)

#define RAGR_FULL_MASK 0xffffffffu

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
	for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(RAGR_FULL_MASK, v, o);
	return v;
}

__device__ __forceinline__ double warp_sum_d(double v) {
#pragma unroll
	for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(RAGR_FULL_MASK, v, o);
	return v;
}

// warp_max propagates NaN: the result is NaN when any lane holds NaN.
__device__ __forceinline__ float nan_max(float a, float b) {
	return (a != a || a > b) ? a : b;
}

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
	for (int o = 16; o > 0; o >>= 1) v = nan_max(v, __shfl_xor_sync(RAGR_FULL_MASK, v, o));
	return v;
}

// Warp-per-row kernels (softmax.cu, norm.cu): warps stride over rows.
// The warp's first row and the stride between its rows.
__device__ __forceinline__ long long warp_row0() {
	return (long long)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
}
__device__ __forceinline__ long long warp_rows_stride() { return (long long)gridDim.x * (blockDim.x >> 5); }

// The row's elements lane + 32i (i < V) into v, pad beyond cols.
template <int V>
__device__ __forceinline__ void warp_load_row(float (&v)[V], const float* __restrict__ p, int cols, float pad) {
	const int lane = threadIdx.x & 31;
#pragma unroll
	for (int i = 0; i < V; i++) {
		const int j = lane + 32 * i;
		v[i] = j < cols ? p[j] : pad;
	}
}

// block_sum: every thread of the block must call it; scratch holds 32 floats.
__device__ __forceinline__ float block_sum(float v, float* scratch) {
	const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
	const int nwarps = (blockDim.x + 31) >> 5;
	v = warp_sum(v);
	__syncthreads(); // scratch may still be read by a previous call
	if (lane == 0) scratch[warp] = v;
	__syncthreads();
	v = lane < nwarps ? scratch[lane] : 0.f;
	return warp_sum(v);
}

__device__ __forceinline__ float block_max(float v, float* scratch) {
	const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
	const int nwarps = (blockDim.x + 31) >> 5;
	v = warp_max(v);
	__syncthreads();
	if (lane == 0) scratch[warp] = v;
	__syncthreads();
	v = lane < nwarps ? scratch[lane] : -INFINITY;
	return warp_max(v);
}

// Online softmax state: running max m and the sum s of exp(x - m).
struct MaxSum {
	float m, s;
};

__device__ __forceinline__ MaxSum maxsum_merge(MaxSum a, MaxSum b) {
	if (a.m == -INFINITY) return b;
	if (b.m == -INFINITY) return a;
	MaxSum r;
	r.m = fmaxf(a.m, b.m);
	r.s = a.s * expf(a.m - r.m) + b.s * expf(b.m - r.m);
	return r;
}

__device__ __forceinline__ MaxSum warp_maxsum(MaxSum v) {
#pragma unroll
	for (int o = 16; o > 0; o >>= 1) {
		MaxSum w;
		w.m = __shfl_xor_sync(RAGR_FULL_MASK, v.m, o);
		w.s = __shfl_xor_sync(RAGR_FULL_MASK, v.s, o);
		v = maxsum_merge(v, w);
	}
	return v;
}

// block_maxsum: scratch holds 64 floats.
__device__ __forceinline__ MaxSum block_maxsum(MaxSum v, float* scratch) {
	const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
	const int nwarps = (blockDim.x + 31) >> 5;
	v = warp_maxsum(v);
	__syncthreads();
	if (lane == 0) {
		scratch[warp] = v.m;
		scratch[32 + warp] = v.s;
	}
	__syncthreads();
	MaxSum w;
	w.m = lane < nwarps ? scratch[lane] : -INFINITY;
	w.s = lane < nwarps ? scratch[32 + lane] : 0.f;
	return warp_maxsum(w);
}

// Storage conversions: compute is fp32, storage may be bf16 or fp16.
__device__ __forceinline__ float to_f32(float x) { return x; }
__device__ __forceinline__ float to_f32(__nv_bfloat16 x) { return __bfloat162float(x); }
__device__ __forceinline__ float to_f32(__half x) { return __half2float(x); }
template <typename T> __device__ __forceinline__ T from_f32(float x);
template <> __device__ __forceinline__ float from_f32<float>(float x) { return x; }
template <> __device__ __forceinline__ __nv_bfloat16 from_f32<__nv_bfloat16>(float x) {
	return __float2bfloat16_rn(x);
}
template <> __device__ __forceinline__ __half from_f32<__half>(float x) { return __float2half_rn(x); }

// Philox 4x32-10: 10 rounds over a 128-bit counter with a 64-bit key.
struct Philox4 {
	uint32_t x, y, z, w;
};

__device__ __forceinline__ Philox4 philox4x32_10(Philox4 c, uint32_t k0, uint32_t k1) {
	const uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u;
	const uint32_t W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
#pragma unroll
	for (int r = 0; r < 10; r++) {
		const uint32_t hi0 = __umulhi(M0, c.x), lo0 = M0 * c.x;
		const uint32_t hi1 = __umulhi(M1, c.z), lo1 = M1 * c.z;
		Philox4 n;
		n.x = hi1 ^ c.y ^ k0;
		n.y = lo1;
		n.z = hi0 ^ c.w ^ k1;
		n.w = lo0;
		c = n;
		k0 += W0;
		k1 += W1;
	}
	return c;
}

// u01: a uniform float in [0, 1) from the top 24 bits of u.
__device__ __forceinline__ float u01(uint32_t u) { return (float)(u >> 8) * (1.0f / 16777216.0f); }
