// gradnorm.cu: the global L2 norm of many fp32 gradient tensors and the
// clip coefficient of torch.nn.utils.clip_grad_norm_, in two deterministic
// stages (no atomics; the same inputs give the same bits every run):
//
//   ragr_gradnorm_partial_f32(partial, table, chunk_start, ntensors)
//       partial[c] = sum of g^2 over chunk c (table: GradTensor[ntensors],
//       chunk_start: int[ntensors+1], multitensor.cuh). grid = chunks, block 256.
//   ragr_gradnorm_finish_f32(out, partial, nchunks, max_norm)
//       out[0] = sqrt(sum_c partial[c]); out[1] = min(1, max_norm/(out[0] + 1e-6))
//       when max_norm > 0, else 1 (the coefficient AdamW's gscale reads).
//       One block of 1024 threads.
// Accumulation is fp32 (per thread, then the block tree); the second stage
// sums the partials in a fixed order.
//
// Benchmark: ragr bench kernels (row gradnorm_f32).
#include "multitensor.cuh"

struct GradTensor {
	const float* g;
	long long n;
};

extern "C" __global__ void ragr_gradnorm_partial_f32(float* __restrict__ partial, const GradTensor* __restrict__ table,
                                                     const int* __restrict__ chunk_start, int ntensors) {
	__shared__ float scratch[32];
	const int c = blockIdx.x;
	const int t = find_tensor(chunk_start, ntensors, c);
	const GradTensor T = table[t];
	const long long lo = (long long)(c - chunk_start[t]) * RAGR_CHUNK;
	const long long hi = min(lo + RAGR_CHUNK, T.n);
	float s = 0.f;
	for (long long i = lo + threadIdx.x; i < hi; i += blockDim.x) s += T.g[i] * T.g[i];
	s = block_sum(s, scratch);
	if (threadIdx.x == 0) partial[c] = s;
}

extern "C" __global__ void ragr_gradnorm_finish_f32(float* __restrict__ out, const float* __restrict__ partial, int nchunks,
                                                    float max_norm) {
	__shared__ float scratch[32];
	float s = 0.f;
	for (int i = threadIdx.x; i < nchunks; i += blockDim.x) s += partial[i];
	s = block_sum(s, scratch);
	if (threadIdx.x == 0) {
		const float norm = sqrtf(s);
		out[0] = norm;
		out[1] = max_norm > 0.f ? fminf(1.f, max_norm / (norm + 1e-6f)) : 1.f;
	}
}
