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
// memory. Short rows leave most of a warp idle: a warp-per-row variant is
// the next step if the benchmark shows it (kernels/NOTES.md).
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
