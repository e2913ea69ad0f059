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
// Launch: blocks stride over rows (the launcher uses min(rows, 32*SMs)),
// block 32..1024 threads (about V/4).
//
// Benchmark: ragr bench kernels (rows xent_fwd_f32 ...).
#include "common.cuh"

extern "C" __global__ void ragr_xent_fwd_f32(float* __restrict__ loss, float* __restrict__ lse, const float* __restrict__ logits,
                                             const int* __restrict__ targets, long long rows, int V, int ignore_index,
                                             int* __restrict__ err) {
	__shared__ float scratch[64];
	for (long long r = blockIdx.x; r < rows; r += gridDim.x) {
		const float* xr = logits + r * V;
		MaxSum ms = {-INFINITY, 0.f};
		for (int j = threadIdx.x; j < V; j += blockDim.x) {
			const MaxSum one = {xr[j], 1.f};
			ms = maxsum_merge(ms, one);
		}
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

extern "C" __global__ void ragr_xent_bwd_f32(float* __restrict__ dlogits, const float* __restrict__ dloss,
                                             const float* __restrict__ logits, const float* __restrict__ lse,
                                             const int* __restrict__ targets, long long rows, int V, int ignore_index) {
	for (long long r = blockIdx.x; r < rows; r += gridDim.x) {
		const float* xr = logits + r * V;
		float* dr = dlogits + r * V;
		const int t = targets[r];
		if (t == ignore_index || t < 0 || t >= V) {
			for (int j = threadIdx.x; j < V; j += blockDim.x) dr[j] = 0.f;
			continue;
		}
		const float l = lse[r], g = dloss[r];
		for (int j = threadIdx.x; j < V; j += blockDim.x) dr[j] = g * (expf(xr[j] - l) - (j == t ? 1.f : 0.f));
	}
}
