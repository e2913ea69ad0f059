// softmax.cu: softmax and log-softmax over the last axis of contiguous
// [rows, cols] fp32 arrays, forward and backward.
//
//   ragr_softmax_fwd_f32(y, x, rows, cols)          y = exp(x - max) / sum exp(x - max)
//   ragr_log_softmax_fwd_f32(y, x, rows, cols)      y = (x - max) - log(sum exp(x - max))
//   ragr_softmax_bwd_f32(dx, dy, y, rows, cols)     dx = y * (dy - sum(dy*y))
//   ragr_log_softmax_bwd_f32(dx, dy, y, rows, cols) dx = dy - exp(y) * sum(dy)
// rows is long long, cols int >= 1. The forward pass makes one online pass
// (running max and rescaled sum, merged across threads) and one writing
// pass; a row of all -Inf gives NaN, as in PyTorch. dx may alias dy.
//
// Launch: blocks stride over rows (any grid; the launcher uses
// min(rows, 32*SMs)); block = a multiple of 32 up to 1024 threads (the
// launcher uses about cols/4, clamped to [32, 1024]); no dynamic shared
// memory.
//
// Warp-per-row variants for rows of at most C = 128, 256, 512 or 1024
// columns (the launcher picks the smallest C >= cols; the block kernels
// above take longer rows):
//   ragr_softmax_fwd_w<C>_f32, ragr_log_softmax_fwd_w<C>_f32,
//   ragr_softmax_bwd_w<C>_f32, ragr_log_softmax_bwd_w<C>_f32
// with the same parameters and results: each warp holds a whole row in
// registers (C/32 values per lane, coalesced loads all issued before the
// first use), reduces with shuffles, and writes once — one read and one
// write per element, no shared memory, no block barriers. Warps stride over
// rows: block 128 (4 rows at a time), any grid.
//
// Benchmark: ragr bench kernels (rows softmax_fwd_f32 ...).
#include "common.cuh"

template <bool LOG>
__device__ __forceinline__ void softmax_fwd(float* __restrict__ y, const float* __restrict__ x, long long rows, int cols) {
	__shared__ float scratch[64];
	for (long long r = blockIdx.x; r < rows; r += gridDim.x) {
		const float* xr = x + r * cols;
		float* yr = y + r * cols;
		MaxSum ms = {-INFINITY, 0.f};
		for (int j = threadIdx.x; j < cols; j += blockDim.x) {
			const float v = xr[j];
			const MaxSum one = {v, 1.f};
			ms = maxsum_merge(ms, one); // a NaN makes the sum NaN, so the row is NaN
		}
		ms = block_maxsum(ms, scratch);
		if (LOG) {
			// (x - max) - log(sum), as PyTorch: x - (max + log(sum)) would lose
			// the small outputs near 0 to the rounding of max + log(sum)
			const float ls = logf(ms.s);
			for (int j = threadIdx.x; j < cols; j += blockDim.x) yr[j] = (xr[j] - ms.m) - ls;
		} else {
			const float inv = 1.f / ms.s;
			for (int j = threadIdx.x; j < cols; j += blockDim.x) yr[j] = expf(xr[j] - ms.m) * inv;
		}
	}
}

extern "C" __global__ void ragr_softmax_fwd_f32(float* __restrict__ y, const float* __restrict__ x, long long rows, int cols) {
	softmax_fwd<false>(y, x, rows, cols);
}
extern "C" __global__ void ragr_log_softmax_fwd_f32(float* __restrict__ y, const float* __restrict__ x, long long rows, int cols) {
	softmax_fwd<true>(y, x, rows, cols);
}

// ---------------------------------------------------------------------------
// Warp per row (cols <= 32*V)

template <bool LOG, int V>
__device__ __forceinline__ void softmax_fwd_warp(float* __restrict__ y, const float* __restrict__ x, long long rows,
                                                 int cols) {
	const int lane = threadIdx.x & 31;
	for (long long r = warp_row0(); r < rows; r += warp_rows_stride()) {
		float v[V];
		warp_load_row<V>(v, x + r * cols, cols, -INFINITY);
		float m = -INFINITY;
#pragma unroll
		for (int i = 0; i < V; i++) m = nan_max(m, v[i]);
		m = warp_max(m);  // NaN if the row holds one
		float s = 0.f;
#pragma unroll
		for (int i = 0; i < V; i++) s += expf(v[i] - m);  // padding: exp(-inf) = 0; an all -inf row: NaN
		s = warp_sum(s);
		float* yr = y + r * cols;
		if (LOG) {
			const float ls = logf(s);
#pragma unroll
			for (int i = 0; i < V; i++)
				if (lane + 32 * i < cols) yr[lane + 32 * i] = (v[i] - m) - ls;
		} else {
			const float inv = 1.f / s;
#pragma unroll
			for (int i = 0; i < V; i++)
				if (lane + 32 * i < cols) yr[lane + 32 * i] = expf(v[i] - m) * inv;
		}
	}
}

// dx = y*(dy - sum(dy*y)) (LOG: dx = dy - exp(y)*sum(dy)); dx may alias dy
// (every lane reads its elements before writing them).
template <bool LOG, int V>
__device__ __forceinline__ void softmax_bwd_warp(float* dx, const float* dy, const float* __restrict__ y, long long rows,
                                                 int cols) {
	const int lane = threadIdx.x & 31;
	for (long long r = warp_row0(); r < rows; r += warp_rows_stride()) {
		float g[V], o[V];
		warp_load_row<V>(g, dy + r * cols, cols, 0.f);
		warp_load_row<V>(o, y + r * cols, cols, 0.f);
		float s = 0.f;
#pragma unroll
		for (int i = 0; i < V; i++) s += LOG ? g[i] : g[i] * o[i];
		s = warp_sum(s);
		float* dxr = dx + r * cols;
#pragma unroll
		for (int i = 0; i < V; i++)
			if (lane + 32 * i < cols) dxr[lane + 32 * i] = LOG ? g[i] - expf(o[i]) * s : o[i] * (g[i] - s);
	}
}

#define RAGR_SOFTMAX_WARP(C)                                                                                     \
	extern "C" __global__ void ragr_softmax_fwd_w##C##_f32(float* __restrict__ y, const float* __restrict__ x,    \
	                                                       long long rows, int cols) {                           \
		softmax_fwd_warp<false, C / 32>(y, x, rows, cols);                                                    \
	}                                                                                                         \
	extern "C" __global__ void ragr_log_softmax_fwd_w##C##_f32(float* __restrict__ y, const float* __restrict__ x, \
	                                                           long long rows, int cols) {                       \
		softmax_fwd_warp<true, C / 32>(y, x, rows, cols);                                                     \
	}                                                                                                         \
	extern "C" __global__ void ragr_softmax_bwd_w##C##_f32(float* dx, const float* dy, const float* __restrict__ y, \
	                                                       long long rows, int cols) {                           \
		softmax_bwd_warp<false, C / 32>(dx, dy, y, rows, cols);                                               \
	}                                                                                                         \
	extern "C" __global__ void ragr_log_softmax_bwd_w##C##_f32(float* dx, const float* dy,                       \
	                                                           const float* __restrict__ y, long long rows,       \
	                                                           int cols) {                                       \
		softmax_bwd_warp<true, C / 32>(dx, dy, y, rows, cols);                                                \
	}

RAGR_SOFTMAX_WARP(128)
RAGR_SOFTMAX_WARP(256)
RAGR_SOFTMAX_WARP(512)
RAGR_SOFTMAX_WARP(1024)

// ---------------------------------------------------------------------------
// Block per row

extern "C" __global__ void ragr_softmax_bwd_f32(float* dx, const float* dy, const float* __restrict__ y, long long rows, int cols) {
	__shared__ float scratch[32];
	for (long long r = blockIdx.x; r < rows; r += gridDim.x) {
		const float* dyr = dy + r * cols;
		const float* yr = y + r * cols;
		float* dxr = dx + r * cols;
		float s = 0.f;
		for (int j = threadIdx.x; j < cols; j += blockDim.x) s += dyr[j] * yr[j];
		s = block_sum(s, scratch);
		for (int j = threadIdx.x; j < cols; j += blockDim.x) dxr[j] = yr[j] * (dyr[j] - s);
	}
}

extern "C" __global__ void ragr_log_softmax_bwd_f32(float* dx, const float* dy, const float* __restrict__ y, long long rows, int cols) {
	__shared__ float scratch[32];
	for (long long r = blockIdx.x; r < rows; r += gridDim.x) {
		const float* dyr = dy + r * cols;
		const float* yr = y + r * cols;
		float* dxr = dx + r * cols;
		float s = 0.f;
		for (int j = threadIdx.x; j < cols; j += blockDim.x) s += dyr[j];
		s = block_sum(s, scratch);
		for (int j = threadIdx.x; j < cols; j += blockDim.x) dxr[j] = dyr[j] - expf(yr[j]) * s;
	}
}
