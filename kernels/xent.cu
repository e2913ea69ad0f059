// xent.cu: fused softmax + cross-entropy over fp32 logits [rows, V] with
// int32 targets [rows], forward and backward, never storing the softmax.
//
//   ragr_xent_fwd_f32(loss, lse, logits, targets, rows, V, ignore_index, err)
//       lse[r] = log(sum_j exp(logits[r][j])) (saved for the backward),
//       loss[r] = (max - logits[r][targets[r]]) + log(sum_j exp(logits[r][j] - max)) (= lse - logit,
//       without the rounding of lse), or 0 where targets[r] == ignore_index.
//   ragr_xent_bwd_f32(dlogits, dloss, logits, lse, targets, rows, V, ignore_index)
//       dlogits[r][j] = dloss[r] * (exp(logits[r][j] - lse[r]) - [j == targets[r]]),
//       zero rows where targets[r] == ignore_index. dloss [rows] carries the
//       reduction: 1/count for a mean over the counted rows (torch's
//       reduction='mean' divides by the number of non-ignored targets).
// rows long long, V int >= 1. A target outside [0, V) that is not
// ignore_index gives loss NaN and records the smallest such row in err[0]
// (atomicMin; the launcher sets INT_MAX before and checks after).
//
// Both read the row once: the forward folds it into per-thread online
// (max, sum of exp_term(x - max)) states (rowsoftmax.cuh: one exp per
// element) merged across the block; the backward writes each element from
// one read (expf). Rows move as float4, four in flight per thread, when V %
// 4 == 0 and the logits (and dlogits) are 16-byte aligned (checked in the
// kernel), else as floats, four in flight.
//
// Launch: blocks stride over rows (the launcher uses min(rows, 32*SMs)),
// block 32..1024 threads (about V/4).
//
// Benchmark: ragr bench kernels (rows xent_fwd_f32 ...).
#include "rowsoftmax.cuh"

template <bool VEC>
__device__ __forceinline__ MaxSum xent_row_maxsum(const float* __restrict__ xr, int V) {
	const int T = blockDim.x;
	MaxSum ms = {-INFINITY, 0.f};
	if (VEC) {
		const int nq = V >> 2;
		int q = threadIdx.x;
		for (; q + 3 * T < nq; q += 4 * T) {  // four quads in flight
			const float4 a = ld4(xr, q), b = ld4(xr, q + T), c = ld4(xr, q + 2 * T), d = ld4(xr, q + 3 * T);
			const float v[16] = {a.x, a.y, a.z, a.w, b.x, b.y, b.z, b.w, c.x, c.y, c.z, c.w, d.x, d.y, d.z, d.w};
			maxsum_fold(ms, v);
		}
		for (; q < nq; q += T) {
			const float4 a = ld4(xr, q);
			const float v[4] = {a.x, a.y, a.z, a.w};
			maxsum_fold(ms, v);
		}
	} else {
		int j = threadIdx.x;
		for (; j + 3 * T < V; j += 4 * T) {
			const float v[4] = {xr[j], xr[j + T], xr[j + 2 * T], xr[j + 3 * T]};
			maxsum_fold(ms, v);
		}
		for (; j < V; j += T) {
			const float v[1] = {xr[j]};
			maxsum_fold(ms, v);
		}
	}
	return ms;
}

extern "C" __global__ void __launch_bounds__(1024, 2) ragr_xent_fwd_f32(float* __restrict__ loss, float* __restrict__ lse,
                                                                     const float* __restrict__ logits,
                                                                     const int* __restrict__ targets, long long rows,
                                                                     int V, int ignore_index, int* __restrict__ err) {
	__shared__ float scratch[64];
	const bool vec = rows_vec4(V, logits, logits);
	for (long long r = blockIdx.x; r < rows; r += gridDim.x) {
		const float* xr = logits + r * V;
		MaxSum ms = vec ? xent_row_maxsum<true>(xr, V) : xent_row_maxsum<false>(xr, V);
		ms = block_maxsum(ms, scratch);
		if (threadIdx.x == 0) {
			const float l = ms.m + logf(ms.s);
			lse[r] = l;
			const int t = targets[r];
			if (t == ignore_index) {
				loss[r] = 0.f;
			} else if (t < 0 || t >= V) {
				loss[r] = NAN;
				atomicMin(err, (int)r);
			} else {
				loss[r] = (ms.m - xr[t]) + logf(ms.s); // not l - x[t]: keeps small losses exact
			}
		}
	}
}

// One element of dlogits: g * (exp(x - l) - [j == t]).
__device__ __forceinline__ float xent_grad(float x, int j, int t, float l, float g) {
	return g * (expf(x - l) - (j == t ? 1.f : 0.f));
}
__device__ __forceinline__ float4 xent_grad4(float4 x, int q, int t, float l, float g) {
	const int j = 4 * q;
	return make_float4(xent_grad(x.x, j, t, l, g), xent_grad(x.y, j + 1, t, l, g), xent_grad(x.z, j + 2, t, l, g),
	                   xent_grad(x.w, j + 3, t, l, g));
}

template <bool VEC>
__device__ __forceinline__ void xent_bwd_row(float* __restrict__ dr, const float* __restrict__ xr, int V, int t, float l,
                                             float g, bool zero) {
	const int T = blockDim.x;
	if (VEC) {
		const int nq = V >> 2;
		int q = threadIdx.x;
		if (zero) {
			for (; q < nq; q += T) st4(dr, q, make_float4(0.f, 0.f, 0.f, 0.f));
			return;
		}
		for (; q + 3 * T < nq; q += 4 * T) {  // four quads in flight
			const float4 a = ld4(xr, q), b = ld4(xr, q + T), c = ld4(xr, q + 2 * T), d = ld4(xr, q + 3 * T);
			st4(dr, q, xent_grad4(a, q, t, l, g));
			st4(dr, q + T, xent_grad4(b, q + T, t, l, g));
			st4(dr, q + 2 * T, xent_grad4(c, q + 2 * T, t, l, g));
			st4(dr, q + 3 * T, xent_grad4(d, q + 3 * T, t, l, g));
		}
		for (; q < nq; q += T) st4(dr, q, xent_grad4(ld4(xr, q), q, t, l, g));
	} else {
		int j = threadIdx.x;
		if (zero) {
			for (; j < V; j += T) dr[j] = 0.f;
			return;
		}
		for (; j + 3 * T < V; j += 4 * T) {
			const float a = xr[j], b = xr[j + T], c = xr[j + 2 * T], d = xr[j + 3 * T];
			dr[j] = xent_grad(a, j, t, l, g);
			dr[j + T] = xent_grad(b, j + T, t, l, g);
			dr[j + 2 * T] = xent_grad(c, j + 2 * T, t, l, g);
			dr[j + 3 * T] = xent_grad(d, j + 3 * T, t, l, g);
		}
		for (; j < V; j += T) dr[j] = xent_grad(xr[j], j, t, l, g);
	}
}

extern "C" __global__ void __launch_bounds__(1024) ragr_xent_bwd_f32(float* __restrict__ dlogits,
                                                                     const float* __restrict__ dloss,
                                                                     const float* __restrict__ logits,
                                                                     const float* __restrict__ lse,
                                                                     const int* __restrict__ targets, long long rows,
                                                                     int V, int ignore_index) {
	const bool vec = rows_vec4(V, logits, dlogits);
	for (long long r = blockIdx.x; r < rows; r += gridDim.x) {
		const float* xr = logits + r * V;
		float* dr = dlogits + r * V;
		const int t = targets[r];
		const bool zero = t == ignore_index || t < 0 || t >= V;
		const float l = zero ? 0.f : lse[r], g = zero ? 0.f : dloss[r];
		if (vec)
			xent_bwd_row<true>(dr, xr, V, t, l, g, zero);
		else
			xent_bwd_row<false>(dr, xr, V, t, l, g, zero);
	}
}
