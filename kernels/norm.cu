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
//       out[j] += sum_p part[p][j] (the second pass: dgamma, or RMSNorm's).
//   ragr_norm_colsum2_f32(out0, out1, part, nparts, cols)
//       the same for LayerNorm's two halves in one launch: out0 += the
//       dgamma partials part[0], out1 += the dbeta partials part[1].
//       Accumulated into out, as kernels/cpu's LayerNormBackwardRows
//       accumulates dgamma/dbeta.
// rows long long, cols int >= 1. dgamma/dbeta are deterministic: fixed
// row-to-block assignment, fixed summation order, no atomics.
//
// Launch: forward and backward: blocks stride over rows (any grid; the
// backward's grid is the number of partial rows, the launcher uses
// min(rows, 2*SMs)); block 32..1024 threads (about cols/4); colsum: blocks
// stride over tiles of 32 columns (any grid; the launcher gives one block
// per tile), block 32*G threads, G <= 32 groups of partial rows.
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
// 16-byte vector variants of those (cols % 4 == 0 and x, y, dy, dx, gamma,
// beta 16-byte aligned; the launcher picks them, the scalar _w<C> ones
// otherwise): ragr_{layernorm,rmsnorm}_{fwd,bwd}_w<C>x4_f32, same parameters
// and results. gamma/beta live in shared memory, the backward's per-warp
// partials too, summed over the block's warps at the end: their partials
// are per block, part[2][gridDim.x][cols]. Block 128 (at most 4 warps), any
// grid.
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

// ---------------------------------------------------------------------------
// Warp per row, 16-byte vectors (cols % 4 == 0, every row pointer 16-byte
// aligned: the launcher checks): ragr_{layernorm,rmsnorm}_{fwd,bwd}_w<C>x4_f32.
// A lane holds the float4s lane + 32i (i < C/128) of its row. gamma (and
// beta) are staged in shared memory once per block, so a thread holds only
// its row in registers (x, and dy in the backward) and many warps fit on an
// SM. The backward's dgamma/dbeta partials are per warp in shared memory
// (each lane updates only its own columns), summed over the block's warps in
// warp order at the end: part[2][gridDim.x][cols], one partial row per block.
// Block NORM_WARPS*32 = 128 threads (fewer works: the arrays are sized for 4
// warps), any grid.

#define NORM_WARPS 4

template <int V>
__device__ __forceinline__ void warp_load_row4(float (&v)[4 * V], const float* __restrict__ p, int c4) {
	const int lane = threadIdx.x & 31;
#pragma unroll
	for (int i = 0; i < V; i++) {
		const int j = lane + 32 * i;
		const float4 t = j < c4 ? reinterpret_cast<const float4*>(p)[j] : make_float4(0.f, 0.f, 0.f, 0.f);
		v[4 * i] = t.x, v[4 * i + 1] = t.y, v[4 * i + 2] = t.z, v[4 * i + 3] = t.w;
	}
}

template <bool LN, int V>
__device__ __forceinline__ void norm_fwd_warp4(float* __restrict__ y, float* __restrict__ mean, float* __restrict__ rstd,
                                               const float* __restrict__ x, const float* __restrict__ gamma,
                                               const float* __restrict__ beta, long long rows, int cols, float eps) {
	__shared__ float4 sgm[32 * V], sbt[LN ? 32 * V : 1];
	const int lane = threadIdx.x & 31, c4 = cols >> 2;
	for (int j = threadIdx.x; j < c4; j += blockDim.x) {
		sgm[j] = reinterpret_cast<const float4*>(gamma)[j];
		if (LN) sbt[j] = reinterpret_cast<const float4*>(beta)[j];
	}
	__syncthreads();
	for (long long r = warp_row0(); r < rows; r += warp_rows_stride()) {
		float v[4 * V];
		warp_load_row4<V>(v, x + r * cols, c4);
		float mu = 0.f;
		if (LN) {
			float s = 0.f;
#pragma unroll
			for (int i = 0; i < 4 * V; i++) s += v[i]; // padding is 0
			mu = warp_sum(s) / (float)cols;
		}
		float q = 0.f;
#pragma unroll
		for (int i = 0; i < V; i++) {
			if (lane + 32 * i >= c4) continue;
#pragma unroll
			for (int k = 0; k < 4; k++) {
				const float d = v[4 * i + k] - mu;
				q += d * d;
			}
		}
		const float rs = 1.f / sqrtf(warp_sum(q) / (float)cols + eps);
		float4* yr = reinterpret_cast<float4*>(y + r * cols);
#pragma unroll
		for (int i = 0; i < V; i++) {
			const int j = lane + 32 * i;
			if (j >= c4) continue;
			const float4 g = sgm[j];
			float4 o;
			if (LN) {
				const float4 b = sbt[j];
				o.x = (v[4 * i] - mu) * rs * g.x + b.x;
				o.y = (v[4 * i + 1] - mu) * rs * g.y + b.y;
				o.z = (v[4 * i + 2] - mu) * rs * g.z + b.z;
				o.w = (v[4 * i + 3] - mu) * rs * g.w + b.w;
			} else {
				o.x = g.x * (v[4 * i] * rs);
				o.y = g.y * (v[4 * i + 1] * rs);
				o.z = g.z * (v[4 * i + 2] * rs);
				o.w = g.w * (v[4 * i + 3] * rs);
			}
			yr[j] = o;
		}
		if (lane == 0) {
			if (LN) mean[r] = mu;
			rstd[r] = rs;
		}
	}
}

template <bool LN, int V>
__device__ __forceinline__ void norm_bwd_warp4(float* __restrict__ dx, float* __restrict__ part,
                                               const float* __restrict__ dy, const float* __restrict__ x,
                                               const float* __restrict__ mean, const float* __restrict__ rstd,
                                               const float* __restrict__ gamma, long long rows, int cols) {
	__shared__ float4 sgm[32 * V];
	__shared__ float4 acc[LN ? 2 : 1][NORM_WARPS][32 * V]; // per-warp dgamma (and dbeta) partials
	const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5, c4 = cols >> 2;
	const float4 zero = make_float4(0.f, 0.f, 0.f, 0.f);
	for (int j = threadIdx.x; j < c4; j += blockDim.x) sgm[j] = reinterpret_cast<const float4*>(gamma)[j];
	for (int j = lane; j < c4; j += 32) {
		acc[0][warp][j] = zero;
		if (LN) acc[LN ? 1 : 0][warp][j] = zero;
	}
	__syncthreads();
	for (long long r = warp_row0(); r < rows; r += warp_rows_stride()) {
		float xv[4 * V], dv[4 * V];
		warp_load_row4<V>(xv, x + r * cols, c4);
		warp_load_row4<V>(dv, dy + r * cols, c4);
		const float mu = LN ? mean[r] : 0.f, rs = rstd[r];
		float sg = 0.f, sgx = 0.f;
#pragma unroll
		for (int i = 0; i < V; i++) {
			const int j = lane + 32 * i;
			if (j >= c4) continue;
			const float4 g4 = sgm[j];
			const float gm[4] = {g4.x, g4.y, g4.z, g4.w};
#pragma unroll
			for (int k = 0; k < 4; k++) {
				const float g = dv[4 * i + k] * gm[k], xh = (xv[4 * i + k] - mu) * rs;
				sg += g;
				sgx += g * xh;
			}
		}
		sg = LN ? warp_sum(sg) / (float)cols : 0.f; // RMSNorm has no mean term
		sgx = warp_sum(sgx) / (float)cols;
		float4* dxr = reinterpret_cast<float4*>(dx + r * cols);
#pragma unroll
		for (int i = 0; i < V; i++) {
			const int j = lane + 32 * i;
			if (j >= c4) continue;
			const float4 g4 = sgm[j];
			const float gm[4] = {g4.x, g4.y, g4.z, g4.w};
			float o[4], ag[4], ab[4];
#pragma unroll
			for (int k = 0; k < 4; k++) {
				const float dd = dv[4 * i + k], xh = (xv[4 * i + k] - mu) * rs;
				o[k] = rs * (dd * gm[k] - sg - xh * sgx);
				ag[k] = dd * xh;
				ab[k] = dd;
			}
			dxr[j] = make_float4(o[0], o[1], o[2], o[3]);
			float4 a = acc[0][warp][j];
			a.x += ag[0], a.y += ag[1], a.z += ag[2], a.w += ag[3];
			acc[0][warp][j] = a;
			if (LN) {
				float4 b = acc[LN ? 1 : 0][warp][j];
				b.x += ab[0], b.y += ab[1], b.z += ab[2], b.w += ab[3];
				acc[LN ? 1 : 0][warp][j] = b;
			}
		}
	}
	__syncthreads();
	// this block's partial rows: the warps' partials summed in warp order
#pragma unroll
	for (int h = 0; h < (LN ? 2 : 1); h++) {
		float4* p = reinterpret_cast<float4*>(part + ((long long)h * gridDim.x + blockIdx.x) * cols);
		for (int j = threadIdx.x; j < c4; j += blockDim.x) {
			float4 s = acc[h][0][j];
			for (int w = 1; w < nwarps; w++) {
				const float4 t = acc[h][w][j];
				s.x += t.x, s.y += t.y, s.z += t.z, s.w += t.w;
			}
			p[j] = s;
		}
	}
}

#define RAGR_NORM_WARP4(C)                                                                                         \
	extern "C" __global__ void __launch_bounds__(NORM_WARPS * 32) ragr_layernorm_fwd_w##C##x4_f32(                 \
	    float* __restrict__ y, float* __restrict__ mean, float* __restrict__ rstd, const float* __restrict__ x,    \
	    const float* __restrict__ gamma, const float* __restrict__ beta, long long rows, int cols, float eps) {   \
		norm_fwd_warp4<true, C / 128>(y, mean, rstd, x, gamma, beta, rows, cols, eps);                          \
	}                                                                                                           \
	extern "C" __global__ void __launch_bounds__(NORM_WARPS * 32) ragr_layernorm_bwd_w##C##x4_f32(                 \
	    float* __restrict__ dx, float* __restrict__ part, const float* __restrict__ dy, const float* __restrict__ x, \
	    const float* __restrict__ mean, const float* __restrict__ rstd, const float* __restrict__ gamma,          \
	    long long rows, int cols) {                                                                               \
		norm_bwd_warp4<true, C / 128>(dx, part, dy, x, mean, rstd, gamma, rows, cols);                           \
	}                                                                                                           \
	extern "C" __global__ void __launch_bounds__(NORM_WARPS * 32) ragr_rmsnorm_fwd_w##C##x4_f32(                   \
	    float* __restrict__ y, float* __restrict__ rstd, const float* __restrict__ x, const float* __restrict__ gamma, \
	    long long rows, int cols, float eps) {                                                                    \
		norm_fwd_warp4<false, C / 128>(y, nullptr, rstd, x, gamma, nullptr, rows, cols, eps);                   \
	}                                                                                                           \
	extern "C" __global__ void __launch_bounds__(NORM_WARPS * 32) ragr_rmsnorm_bwd_w##C##x4_f32(                   \
	    float* __restrict__ dx, float* __restrict__ part, const float* __restrict__ dy, const float* __restrict__ x, \
	    const float* __restrict__ rstd, const float* __restrict__ gamma, long long rows, int cols) {              \
		norm_bwd_warp4<false, C / 128>(dx, part, dy, x, nullptr, rstd, gamma, rows, cols);                       \
	}

RAGR_NORM_WARP4(128)
RAGR_NORM_WARP4(256)
RAGR_NORM_WARP4(512)
RAGR_NORM_WARP4(768)
RAGR_NORM_WARP4(1024)

// ---------------------------------------------------------------------------
// Column sums of the partial rows. A block takes tiles of 32 columns (one
// per lane) of one output: its blockDim.x/32 warps (row groups) each sum the
// partial rows g, g + ngroups, ... in order, then group 0 adds the groups'
// sums in group order: deterministic for a given launch geometry. Tiles
// 0..T-1 are out0's, T..2T-1 out1's (NOUT = 2), T = ceil(cols/32); blocks
// stride over tiles (any grid), block a multiple of 32 up to 1024.
template <int NOUT>
__device__ __forceinline__ void norm_colsum(float* __restrict__ out0, float* __restrict__ out1, const float* __restrict__ part,
                                            int nparts, int cols) {
	__shared__ float red[32][33];
	const int lane = threadIdx.x & 31, g = threadIdx.x >> 5, ng = blockDim.x >> 5;
	const int tiles = (cols + 31) >> 5;
	for (int t = blockIdx.x; t < NOUT * tiles; t += gridDim.x) {
		const int o = t >= tiles ? 1 : 0;
		const int j = (t - o * tiles) * 32 + lane;
		const float* p = part + (long long)o * nparts * cols + j;
		float s = 0.f;
		if (j < cols) {
#pragma unroll 8
			for (int q = g; q < nparts; q += ng) s += p[(long long)q * cols];
		}
		__syncthreads(); // red may still be read for the previous tile
		red[g][lane] = s;
		__syncthreads();
		if (g == 0 && j < cols) {
			float v = red[0][lane];
			for (int k = 1; k < ng; k++) v += red[k][lane];
			float* out = o ? out1 : out0;
			out[j] += v;
		}
	}
}

extern "C" __global__ void ragr_norm_colsum_f32(float* __restrict__ out, const float* __restrict__ part, int nparts, int cols) {
	norm_colsum<1>(out, nullptr, part, nparts, cols);
}

extern "C" __global__ void ragr_norm_colsum2_f32(float* __restrict__ out0, float* __restrict__ out1, const float* __restrict__ part,
                                                 int nparts, int cols) {
	norm_colsum<2>(out0, out1, part, nparts, cols);
}
