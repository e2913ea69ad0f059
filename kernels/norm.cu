// norm.cu: LayerNorm and RMSNorm over the last axis of contiguous fp32
// [rows, cols] arrays, forward and backward.
//
//   ragr_layernorm_fwd_f32(y, mean, rstd, x, gamma, beta, rows, cols, eps)
//       y = (x - mean) * rstd * gamma + beta, rstd = 1/sqrt(var + eps) (biased var);
//       mean and rstd [rows] are saved for the backward pass.
//   ragr_layernorm_bwd_f32(dx, part, dy, x, mean, rstd, gamma, rows, cols)
//       dx = rstd * (g - mean_j(g) - xhat * mean_j(g*xhat)), g = dy*gamma, xhat = (x-mean)*rstd;
//       part[2][gridDim.x][cols]: this block's partial sums of dy*xhat (dgamma) and dy (dbeta).
//   ragr_rmsnorm_fwd_f32(y, rstd, x, gamma, rows, cols, eps)
//       y = x * rstd * gamma, rstd = 1/sqrt(mean(x^2) + eps) (Qwen2RMSNorm in fp32).
//   ragr_rmsnorm_bwd_f32(dx, part, dy, x, rstd, gamma, rows, cols)
//       dx = rstd * (g - xhat * mean_j(g*xhat)), xhat = x*rstd; part[1][gridDim.x][cols]: dy*xhat.
//   ragr_norm_colsum_f32(out, part, nparts, cols)
//       out[j] += sum_p part[p][j] (the second pass: dgamma, and dbeta for the
//       second half of LayerNorm's partials). Accumulated into out, as
//       kernels/cpu's LayerNormBackwardRows accumulates dgamma/dbeta.
// rows long long, cols int >= 1. dgamma/dbeta are deterministic: fixed
// row-to-block assignment, fixed summation order, no atomics.
//
// Launch: forward and backward: blocks stride over rows (any grid; the
// backward's grid is the number of partial rows, the launcher uses
// min(rows, 2*SMs)); block 32..1024 threads (about cols/4); colsum: 1-D
// grid over columns, block 256.
//
// Warp-per-row variants for rows of at most C = 128, 256, 512, 768 or 1024
// columns (the launcher picks the smallest C >= cols; 768 is BERT-base's
// width): ragr_{layernorm,rmsnorm}_{fwd,bwd}_w<C>_f32, same parameters and
// results. A warp holds its row (and gamma, beta) in registers, C/32 values
// per lane: the forward reads x once and writes y once; the backward's
// partials are per warp — part[2][nwarps][cols] with nwarps = gridDim.x ·
// blockDim.x/32 the colsum's nparts — kept in registers until the end.
// Warps stride over rows; block 128, any grid.
//
// Benchmark: ragr bench kernels (rows layernorm_fwd_f32 ...).
#include "common.cuh"

extern "C" __global__ void ragr_layernorm_fwd_f32(float* __restrict__ y, float* __restrict__ mean, float* __restrict__ rstd,
                                                  const float* __restrict__ x, const float* __restrict__ gamma,
                                                  const float* __restrict__ beta, long long rows, int cols, float eps) {
	__shared__ float scratch[32];
	for (long long r = blockIdx.x; r < rows; r += gridDim.x) {
		const float* xr = x + r * cols;
		float s = 0.f;
		for (int j = threadIdx.x; j < cols; j += blockDim.x) s += xr[j];
		const float mu = block_sum(s, scratch) / (float)cols;
		float v = 0.f;
		for (int j = threadIdx.x; j < cols; j += blockDim.x) {
			const float d = xr[j] - mu;
			v += d * d;
		}
		const float rs = 1.f / sqrtf(block_sum(v, scratch) / (float)cols + eps);
		float* yr = y + r * cols;
		for (int j = threadIdx.x; j < cols; j += blockDim.x) yr[j] = (xr[j] - mu) * rs * gamma[j] + beta[j];
		if (threadIdx.x == 0) {
			mean[r] = mu;
			rstd[r] = rs;
		}
	}
}

// norm_bwd: LN = LayerNorm (mean, dbeta) or RMSNorm. Each thread owns the
// columns j = threadIdx.x + k*blockDim.x; their dgamma/dbeta sums over this
// block's rows stay in registers when a thread owns at most NORM_REGS
// columns (cols <= 8*blockDim.x: every shape the launcher makes up to 8192
// columns), else in the block's rows of part. Either way the block writes
// its partial rows of part once at the end (or keeps them there).
#define NORM_REGS 8
template <bool LN>
__device__ __forceinline__ void norm_bwd(float* __restrict__ dx, float* __restrict__ part, const float* __restrict__ dy,
                                         const float* __restrict__ x, const float* __restrict__ mean, const float* __restrict__ rstd,
                                         const float* __restrict__ gamma, long long rows, int cols) {
	__shared__ float scratch[32];
	float* pg = part + (long long)blockIdx.x * cols;               // dgamma partials of this block
	float* pb = part + ((long long)gridDim.x + blockIdx.x) * cols; // dbeta partials (LayerNorm)
	const bool regs = cols <= NORM_REGS * (int)blockDim.x;
	float ag[NORM_REGS], ab[NORM_REGS];
#pragma unroll
	for (int k = 0; k < NORM_REGS; k++) ag[k] = 0.f, ab[k] = 0.f;
	if (!regs) {
		for (int j = threadIdx.x; j < cols; j += blockDim.x) {
			pg[j] = 0.f;
			if (LN) pb[j] = 0.f;
		}
	}
	for (long long r = blockIdx.x; r < rows; r += gridDim.x) {
		const float* xr = x + r * cols;
		const float* dyr = dy + r * cols;
		const float mu = LN ? mean[r] : 0.f, rs = rstd[r];
		float sg = 0.f, sgx = 0.f;
		for (int j = threadIdx.x; j < cols; j += blockDim.x) {
			const float g = dyr[j] * gamma[j], xh = (xr[j] - mu) * rs;
			sg += g;
			sgx += g * xh;
		}
		sg = LN ? block_sum(sg, scratch) / (float)cols : 0.f; // RMSNorm has no mean term
		sgx = block_sum(sgx, scratch) / (float)cols;
		float* dxr = dx + r * cols;
		if (regs) {
#pragma unroll
			for (int k = 0; k < NORM_REGS; k++) {
				const int j = threadIdx.x + k * blockDim.x;
				if (j < cols) {
					const float dd = dyr[j], xh = (xr[j] - mu) * rs;
					dxr[j] = rs * (dd * gamma[j] - sg - xh * sgx);
					ag[k] += dd * xh;
					ab[k] += dd;
				}
			}
		} else {
			for (int j = threadIdx.x; j < cols; j += blockDim.x) {
				const float dd = dyr[j], xh = (xr[j] - mu) * rs;
				dxr[j] = rs * (dd * gamma[j] - sg - xh * sgx);
				pg[j] += dd * xh; // only this thread touches column j of this block's partials
				if (LN) pb[j] += dd;
			}
		}
	}
	if (regs) {
#pragma unroll
		for (int k = 0; k < NORM_REGS; k++) {
			const int j = threadIdx.x + k * blockDim.x;
			if (j < cols) {
				pg[j] = ag[k];
				if (LN) pb[j] = ab[k];
			}
		}
	}
}

extern "C" __global__ void ragr_layernorm_bwd_f32(float* __restrict__ dx, float* __restrict__ part, const float* __restrict__ dy,
                                                  const float* __restrict__ x, const float* __restrict__ mean,
                                                  const float* __restrict__ rstd, const float* __restrict__ gamma, long long rows,
                                                  int cols) {
	norm_bwd<true>(dx, part, dy, x, mean, rstd, gamma, rows, cols);
}

extern "C" __global__ void ragr_rmsnorm_fwd_f32(float* __restrict__ y, float* __restrict__ rstd, const float* __restrict__ x,
                                                const float* __restrict__ gamma, long long rows, int cols, float eps) {
	__shared__ float scratch[32];
	for (long long r = blockIdx.x; r < rows; r += gridDim.x) {
		const float* xr = x + r * cols;
		float s = 0.f;
		for (int j = threadIdx.x; j < cols; j += blockDim.x) s += xr[j] * xr[j];
		const float rs = 1.f / sqrtf(block_sum(s, scratch) / (float)cols + eps);
		float* yr = y + r * cols;
		for (int j = threadIdx.x; j < cols; j += blockDim.x) yr[j] = gamma[j] * (xr[j] * rs);
		if (threadIdx.x == 0) rstd[r] = rs;
	}
}

extern "C" __global__ void ragr_rmsnorm_bwd_f32(float* __restrict__ dx, float* __restrict__ part, const float* __restrict__ dy,
                                                const float* __restrict__ x, const float* __restrict__ rstd,
                                                const float* __restrict__ gamma, long long rows, int cols) {
	norm_bwd<false>(dx, part, dy, x, nullptr, rstd, gamma, rows, cols);
}

// ---------------------------------------------------------------------------
// Warp per row (cols <= 32*V)

template <bool LN, int V>
__device__ __forceinline__ void norm_fwd_warp(float* __restrict__ y, float* __restrict__ mean, float* __restrict__ rstd,
                                              const float* __restrict__ x, const float* __restrict__ gamma,
                                              const float* __restrict__ beta, long long rows, int cols, float eps) {
	const int lane = threadIdx.x & 31;
	float gm[V], bt[V];
	warp_load_row<V>(gm, gamma, cols, 0.f);
	if (LN) warp_load_row<V>(bt, beta, cols, 0.f);
	for (long long r = warp_row0(); r < rows; r += warp_rows_stride()) {
		float v[V];
		warp_load_row<V>(v, x + r * cols, cols, 0.f);
		float mu = 0.f;
		if (LN) {
			float s = 0.f;
#pragma unroll
			for (int i = 0; i < V; i++) s += v[i];
			mu = warp_sum(s) / (float)cols;
		}
		float q = 0.f;
#pragma unroll
		for (int i = 0; i < V; i++) {
			const float d = lane + 32 * i < cols ? v[i] - mu : 0.f;
			q += d * d;
		}
		const float rs = 1.f / sqrtf(warp_sum(q) / (float)cols + eps);
		float* yr = y + r * cols;
#pragma unroll
		for (int i = 0; i < V; i++)
			if (lane + 32 * i < cols) yr[lane + 32 * i] = LN ? (v[i] - mu) * rs * gm[i] + bt[i] : gm[i] * (v[i] * rs);
		if (lane == 0) {
			if (LN) mean[r] = mu;
			rstd[r] = rs;
		}
	}
}

template <bool LN, int V>
__device__ __forceinline__ void norm_bwd_warp(float* __restrict__ dx, float* __restrict__ part,
                                              const float* __restrict__ dy, const float* __restrict__ x,
                                              const float* __restrict__ mean, const float* __restrict__ rstd,
                                              const float* __restrict__ gamma, long long rows, int cols) {
	const int lane = threadIdx.x & 31;
	const long long w = warp_row0(), nw = warp_rows_stride();
	float gm[V], ag[V], ab[V];
	warp_load_row<V>(gm, gamma, cols, 0.f);
#pragma unroll
	for (int i = 0; i < V; i++) ag[i] = 0.f, ab[i] = 0.f;
	for (long long r = w; r < rows; r += nw) {
		float xv[V], dv[V];
		warp_load_row<V>(xv, x + r * cols, cols, 0.f);
		warp_load_row<V>(dv, dy + r * cols, cols, 0.f);
		const float mu = LN ? mean[r] : 0.f, rs = rstd[r];
		float sg = 0.f, sgx = 0.f;
#pragma unroll
		for (int i = 0; i < V; i++) {
			if (lane + 32 * i >= cols) continue;
			const float g = dv[i] * gm[i], xh = (xv[i] - mu) * rs;
			sg += g;
			sgx += g * xh;
		}
		sg = LN ? warp_sum(sg) / (float)cols : 0.f;  // RMSNorm has no mean term
		sgx = warp_sum(sgx) / (float)cols;
		float* dxr = dx + r * cols;
#pragma unroll
		for (int i = 0; i < V; i++) {
			if (lane + 32 * i >= cols) continue;
			const float dd = dv[i], xh = (xv[i] - mu) * rs;
			dxr[lane + 32 * i] = rs * (dd * gm[i] - sg - xh * sgx);
			ag[i] += dd * xh;
			ab[i] += dd;
		}
	}
	float* pg = part + w * cols;
	float* pb = part + (nw + w) * cols;
#pragma unroll
	for (int i = 0; i < V; i++) {
		if (lane + 32 * i >= cols) continue;
		pg[lane + 32 * i] = ag[i];
		if (LN) pb[lane + 32 * i] = ab[i];
	}
}

#define RAGR_NORM_WARP(C)                                                                                          \
	extern "C" __global__ void ragr_layernorm_fwd_w##C##_f32(                                                      \
	    float* __restrict__ y, float* __restrict__ mean, float* __restrict__ rstd, const float* __restrict__ x,    \
	    const float* __restrict__ gamma, const float* __restrict__ beta, long long rows, int cols, float eps) {   \
		norm_fwd_warp<true, C / 32>(y, mean, rstd, x, gamma, beta, rows, cols, eps);                            \
	}                                                                                                           \
	extern "C" __global__ void ragr_layernorm_bwd_w##C##_f32(                                                      \
	    float* __restrict__ dx, float* __restrict__ part, const float* __restrict__ dy, const float* __restrict__ x, \
	    const float* __restrict__ mean, const float* __restrict__ rstd, const float* __restrict__ gamma,          \
	    long long rows, int cols) {                                                                               \
		norm_bwd_warp<true, C / 32>(dx, part, dy, x, mean, rstd, gamma, rows, cols);                             \
	}                                                                                                           \
	extern "C" __global__ void ragr_rmsnorm_fwd_w##C##_f32(float* __restrict__ y, float* __restrict__ rstd,        \
	                                                       const float* __restrict__ x,                             \
	                                                       const float* __restrict__ gamma, long long rows,         \
	                                                       int cols, float eps) {                                   \
		norm_fwd_warp<false, C / 32>(y, nullptr, rstd, x, gamma, nullptr, rows, cols, eps);                     \
	}                                                                                                           \
	extern "C" __global__ void ragr_rmsnorm_bwd_w##C##_f32(                                                        \
	    float* __restrict__ dx, float* __restrict__ part, const float* __restrict__ dy, const float* __restrict__ x, \
	    const float* __restrict__ rstd, const float* __restrict__ gamma, long long rows, int cols) {              \
		norm_bwd_warp<false, C / 32>(dx, part, dy, x, nullptr, rstd, gamma, rows, cols);                         \
	}

RAGR_NORM_WARP(128)
RAGR_NORM_WARP(256)
RAGR_NORM_WARP(512)
RAGR_NORM_WARP(768)
RAGR_NORM_WARP(1024)

extern "C" __global__ void ragr_norm_colsum_f32(float* __restrict__ out, const float* __restrict__ part, int nparts, int cols) {
	RAGR_GRID_STRIDE(j, (long long)cols) {
		float s = 0.f;
		for (int p = 0; p < nparts; p++) s += part[(long long)p * cols + j];
		out[j] += s;
	}
}
