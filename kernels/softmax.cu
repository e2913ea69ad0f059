// softmax.cu: softmax and log-softmax over the last axis of contiguous
// [rows, cols] fp32 arrays, forward and backward.
//
//   ragr_softmax_fwd_f32(y, x, rows, cols)          y = exp(x - max) / sum exp(x - max)
//   ragr_log_softmax_fwd_f32(y, x, rows, cols)      y = (x - max) - log(sum exp(x - max))
//   ragr_softmax_bwd_f32(dx, dy, y, rows, cols)     dx = y * (dy - sum(dy*y))
//   ragr_log_softmax_bwd_f32(dx, dy, y, rows, cols) dx = dy - exp(y) * sum(dy)
// rows is long long, cols int >= 1. A row of all -Inf, or holding a NaN or
// a +Inf, gives NaN, as in PyTorch. dx may alias dy. Sums of exp(x - max)
// use exp_term (rowsoftmax.cuh); the softmax outputs use expf.
//
// The forward block kernels above make one online pass (per-thread running
// max and rescaled sum, one exp per element, merged across threads) and one
// writing pass: two reads of the row. Rows move as float4 when cols % 4 ==
// 0 and x, y are 16-byte aligned (checked in the kernel), else as floats.
// Launch: blocks stride over rows (any grid; the launcher uses
// min(rows, 32*SMs)); block = a multiple of 32 up to 1024 threads (the
// launcher uses about cols/4, clamped to [32, 1024]); no dynamic shared
// memory. The launcher runs them for rows longer than 32768 columns.
//
// Register-row forward variants, for rows of 1025..32768 columns:
//   ragr_softmax_fwd_reg_f32, ragr_log_softmax_fwd_reg_f32
// with the same parameters and results: each block holds its row in
// registers (32 values per thread, as 8 float4 when the row allows, else
// 32 coalesced floats), so the row is read once and written once; a block
// max, exp once per element, a block sum. Launch: block = 32 *
// ceil(cols / 1024) threads (so cols <= 32 * block), one block per row
// (blocks stride over rows: any grid). With a block too small for the row
// they run the two-pass code above.
//
// Warp-per-row variants for rows of at most C = 128, 256, 512 or 1024
// columns (the launcher picks the smallest C >= cols; the block kernels
// above take longer rows):
//   ragr_softmax_fwd_w<C>_f32, ragr_log_softmax_fwd_w<C>_f32,
//   ragr_softmax_bwd_w<C>_f32, ragr_log_softmax_bwd_w<C>_f32
// with the same parameters and results: each warp holds a whole row in
// registers (C/32 values per lane, coalesced loads all issued before the
// first use; the forward moves float4 when cols % 4 == 0 and x, y are
// 16-byte aligned), reduces with shuffles, and writes once — one read and
// one write per element, no shared memory, no block barriers; the forward
// keeps exp(x - max) in registers (one exp per element). Warps stride over
// rows: block 128 (4 rows at a time), any grid (the launcher: one warp per
// row for the forward up to 512 blocks per SM, at most 16 blocks per SM for
// the backward). The forward's register cap (__launch_bounds__) keeps 12
// blocks per SM resident up to 512 columns, 6 at 1024.
//
// Benchmark: ragr bench kernels (rows softmax_fwd_f32 ...).
#include "rowsoftmax.cuh"

// ---------------------------------------------------------------------------
// Block per row, two passes (rows of any length)

template <bool LOG, bool VEC>
__device__ __forceinline__ void softmax_fwd_rows(float* __restrict__ y, const float* __restrict__ x, long long rows,
                                                 int cols) {
	__shared__ float scratch[64];
	const int T = blockDim.x;
	for (long long r = blockIdx.x; r < rows; r += gridDim.x) {
		const float* xr = x + r * cols;
		float* yr = y + r * cols;
		MaxSum ms = {-INFINITY, 0.f};
		if (VEC) {
			const int nq = cols >> 2;
			int q = threadIdx.x;
			for (; q + T < nq; q += 2 * T) {  // two quads in flight
				const float4 a = ld4(xr, q), b = ld4(xr, q + T);
				const float v[8] = {a.x, a.y, a.z, a.w, b.x, b.y, b.z, b.w};
				maxsum_fold(ms, v);
			}
			if (q < nq) {
				const float4 a = ld4(xr, q);
				const float v[4] = {a.x, a.y, a.z, a.w};
				maxsum_fold(ms, v);
			}
		} else {
			for (int j = threadIdx.x; j < cols; j += T) {
				const float v[1] = {xr[j]};
				maxsum_fold(ms, v);
			}
		}
		ms = block_maxsum(ms, scratch);  // a NaN or +Inf made the sum NaN, so the row is NaN
		if (LOG) {
			// (x - max) - log(sum), as PyTorch: x - (max + log(sum)) would lose
			// the small outputs near 0 to the rounding of max + log(sum)
			const float ls = logf(ms.s);
			if (VEC) {
				for (int q = threadIdx.x; q < (cols >> 2); q += T) {
					const float4 a = ld4(xr, q);
					st4(yr, q, make_float4((a.x - ms.m) - ls, (a.y - ms.m) - ls, (a.z - ms.m) - ls, (a.w - ms.m) - ls));
				}
			} else {
				for (int j = threadIdx.x; j < cols; j += T) yr[j] = (xr[j] - ms.m) - ls;
			}
		} else {
			const float inv = 1.f / ms.s;
			if (VEC) {
				for (int q = threadIdx.x; q < (cols >> 2); q += T) {
					const float4 a = ld4(xr, q);
					st4(yr, q, make_float4(expf(a.x - ms.m) * inv, expf(a.y - ms.m) * inv, expf(a.z - ms.m) * inv,
					                       expf(a.w - ms.m) * inv));
				}
			} else {
				for (int j = threadIdx.x; j < cols; j += T) yr[j] = expf(xr[j] - ms.m) * inv;
			}
		}
	}
}

template <bool LOG>
__device__ __forceinline__ void softmax_fwd(float* __restrict__ y, const float* __restrict__ x, long long rows, int cols) {
	if (rows_vec4(cols, x, y))
		softmax_fwd_rows<LOG, true>(y, x, rows, cols);
	else
		softmax_fwd_rows<LOG, false>(y, x, rows, cols);
}

extern "C" __global__ void __launch_bounds__(1024, 2) ragr_softmax_fwd_f32(float* __restrict__ y, const float* __restrict__ x,
                                                                        long long rows, int cols) {
	softmax_fwd<false>(y, x, rows, cols);
}
extern "C" __global__ void __launch_bounds__(1024, 2) ragr_log_softmax_fwd_f32(float* __restrict__ y,
                                                                            const float* __restrict__ x, long long rows,
                                                                            int cols) {
	softmax_fwd<true>(y, x, rows, cols);
}

// ---------------------------------------------------------------------------
// Block per row, the row in registers (cols <= 32 * blockDim.x)

#define RAGR_SOFTMAX_REG 32  // row elements per thread

template <bool LOG, bool VEC>
__device__ __forceinline__ void softmax_fwd_reg_rows(float* __restrict__ y, const float* __restrict__ x, long long rows,
                                                     int cols) {
	constexpr int N = RAGR_SOFTMAX_REG;
	__shared__ float scratch[32];
	const int t = threadIdx.x, T = blockDim.x;
	for (long long r = blockIdx.x; r < rows; r += gridDim.x) {
		const float* xr = x + r * cols;
		float* yr = y + r * cols;
		float v[N];  // VEC: quads t + T*k (elements 4k..4k+3); else elements t + T*i; padded with -inf
		if (VEC) {
#pragma unroll
			for (int k = 0; k < N / 4; k++) {
				const int q = t + T * k;
				float4 a = make_float4(-INFINITY, -INFINITY, -INFINITY, -INFINITY);
				if (4 * q < cols) a = ld4(xr, q);
				v[4 * k] = a.x, v[4 * k + 1] = a.y, v[4 * k + 2] = a.z, v[4 * k + 3] = a.w;
			}
		} else {
			const int n = t < cols ? (cols - t + T - 1) / T : 0;  // this thread's elements
			const float* p = xr + t;
#pragma unroll
			for (int i = 0; i < N; i++) v[i] = i < n ? p[(long long)T * i] : -INFINITY;
		}
		float m = v[0];
#pragma unroll
		for (int i = 1; i < N; i++) m = nan_max(m, v[i]);
		m = block_max(m, scratch);  // NaN if the row holds one
		// padding adds exp(-inf) = 0; a row of all -inf (m = -inf) or
		// holding +inf gets a NaN sum, so NaN outputs
		float s = 0.f;
		if (LOG) {
#pragma unroll
			for (int i = 0; i < N; i++) s += exp_term(v[i] - m);
		} else {
#pragma unroll
			for (int i = 0; i < N; i++) {
				v[i] = expf(v[i] - m);
				s += v[i];
			}
		}
		s = block_sum(s, scratch);
		const float ls = LOG ? logf(s) : 0.f, inv = LOG ? 0.f : 1.f / s;
#pragma unroll
		for (int i = 0; i < N; i++) v[i] = LOG ? (v[i] - m) - ls : v[i] * inv;
		if (VEC) {
#pragma unroll
			for (int k = 0; k < N / 4; k++) {
				const int q = t + T * k;
				if (4 * q < cols) st4(yr, q, make_float4(v[4 * k], v[4 * k + 1], v[4 * k + 2], v[4 * k + 3]));
			}
		} else {
			const int n = t < cols ? (cols - t + T - 1) / T : 0;
			float* p = yr + t;
#pragma unroll
			for (int i = 0; i < N; i++)
				if (i < n) p[(long long)T * i] = v[i];
		}
	}
}

template <bool LOG>
__device__ __forceinline__ void softmax_fwd_reg(float* __restrict__ y, const float* __restrict__ x, long long rows,
                                                int cols) {
	if ((long long)blockDim.x * RAGR_SOFTMAX_REG < cols)
		softmax_fwd<LOG>(y, x, rows, cols);  // the row does not fit: two passes
	else if (rows_vec4(cols, x, y))
		softmax_fwd_reg_rows<LOG, true>(y, x, rows, cols);
	else
		softmax_fwd_reg_rows<LOG, false>(y, x, rows, cols);
}

extern "C" __global__ void __launch_bounds__(1024) ragr_softmax_fwd_reg_f32(float* __restrict__ y,
                                                                            const float* __restrict__ x,
                                                                            long long rows, int cols) {
	softmax_fwd_reg<false>(y, x, rows, cols);
}
extern "C" __global__ void __launch_bounds__(1024) ragr_log_softmax_fwd_reg_f32(float* __restrict__ y,
                                                                                const float* __restrict__ x,
                                                                                long long rows, int cols) {
	softmax_fwd_reg<true>(y, x, rows, cols);
}

// ---------------------------------------------------------------------------
// Warp per row (cols <= 32*V)

template <bool LOG, int V, bool VEC>
__device__ __forceinline__ void softmax_fwd_warp_rows(float* __restrict__ y, const float* __restrict__ x,
                                                      long long rows, int cols) {
	const int lane = threadIdx.x & 31;
	for (long long r = warp_row0(); r < rows; r += warp_rows_stride()) {
		const float* xr = x + r * cols;
		float* yr = y + r * cols;
		float v[V];  // VEC: quads lane + 32k (elements 4k..4k+3); else elements lane + 32i
		if (VEC) {
#pragma unroll
			for (int k = 0; k < V / 4; k++) {
				const int q = lane + 32 * k;
				float4 a = make_float4(-INFINITY, -INFINITY, -INFINITY, -INFINITY);
				if (4 * q < cols) a = ld4(xr, q);
				v[4 * k] = a.x, v[4 * k + 1] = a.y, v[4 * k + 2] = a.z, v[4 * k + 3] = a.w;
			}
		} else {
			warp_load_row<V>(v, xr, cols, -INFINITY);
		}
		float m = -INFINITY;
#pragma unroll
		for (int i = 0; i < V; i++) m = nan_max(m, v[i]);
		m = warp_max(m);  // NaN if the row holds one
		// padding: exp(-inf) = 0; an all -inf row (or one holding +inf): NaN
		float s = 0.f;
		if (LOG) {
#pragma unroll
			for (int i = 0; i < V; i++) s += exp_term(v[i] - m);
		} else {
#pragma unroll
			for (int i = 0; i < V; i++) {
				v[i] = expf(v[i] - m);  // once per element, kept for the output
				s += v[i];
			}
		}
		s = warp_sum(s);
		const float ls = LOG ? logf(s) : 0.f, inv = LOG ? 0.f : 1.f / s;
#pragma unroll
		for (int i = 0; i < V; i++) v[i] = LOG ? (v[i] - m) - ls : v[i] * inv;
		if (VEC) {
#pragma unroll
			for (int k = 0; k < V / 4; k++) {
				const int q = lane + 32 * k;
				if (4 * q < cols) st4(yr, q, make_float4(v[4 * k], v[4 * k + 1], v[4 * k + 2], v[4 * k + 3]));
			}
		} else {
#pragma unroll
			for (int i = 0; i < V; i++)
				if (lane + 32 * i < cols) yr[lane + 32 * i] = v[i];
		}
	}
}

template <bool LOG, int V>
__device__ __forceinline__ void softmax_fwd_warp(float* __restrict__ y, const float* __restrict__ x, long long rows,
                                                 int cols) {
	if (rows_vec4(cols, x, y))
		softmax_fwd_warp_rows<LOG, V, true>(y, x, rows, cols);
	else
		softmax_fwd_warp_rows<LOG, V, false>(y, x, rows, cols);
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

// The forward warp kernels' register cap: 12 blocks of 128 per SM (40
// registers) up to 512 columns, 6 (80) for 1024; no spills on sm_80 / sm_90.
#define RAGR_SOFTMAX_FWD_BOUNDS(C) __launch_bounds__(128, (C) <= 512 ? 12 : 6)

#define RAGR_SOFTMAX_WARP(C)                                                                                     \
	extern "C" __global__ void RAGR_SOFTMAX_FWD_BOUNDS(C) ragr_softmax_fwd_w##C##_f32(                     \
	    float* __restrict__ y, const float* __restrict__ x, long long rows, int cols) {                       \
		softmax_fwd_warp<false, C / 32>(y, x, rows, cols);                                                    \
	}                                                                                                         \
	extern "C" __global__ void RAGR_SOFTMAX_FWD_BOUNDS(C) ragr_log_softmax_fwd_w##C##_f32(                 \
	    float* __restrict__ y, const float* __restrict__ x, long long rows, int cols) {                       \
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
// Block per row, backward

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
