// rope.cu: rotary position embedding in Qwen2's (and Llama's) rotate-half
// convention, as transformers' apply_rotary_pos_emb does it:
//   y = x*cos + rotate_half(x)*sin, rotate_half(x) = concat(-x[half:], x[:half])
// i.e. for j < half: y[j] = x[j]*c - x[j+half]*s, y[j+half] = x[j+half]*c + x[j]*s,
// with c, s = cos, sin(pos * inv_freq[j]), inv_freq[j] = 1/theta^(2j/dim).
//
//   ragr_rope_table_f32(cos, sin, npos, half, dim, theta)
//       cos/sin [npos, half] for positions 0..npos-1, computed in fp32 as
//       transformers does (inv_freq = 1/theta**(arange(0,dim,2)/dim) in fp32,
//       freq = pos*inv_freq rounded to fp32, then cos/sin of it).
//   ragr_rope_fwd_T(y, x, cos, sin, pos, tokens, heads, dim, npos, err)
//   ragr_rope_bwd_T(dx, dy, cos, sin, pos, tokens, heads, dim, npos, err)
//       x, y: [tokens, heads, dim] (dim even; T = f32 or bf16, compute fp32);
//       pos: int32 [tokens]; the backward rotates by -angle:
//       dx[j] = dy[j]*c + dy[j+half]*s, dx[j+half] = dy[j+half]*c - dy[j]*s.
//       y may alias x (each thread reads its pair, then writes it). A
//       position outside [0, npos) leaves its pair NaN and records the
//       smallest such token index in err[0] with atomicMin (the launcher
//       sets INT_MAX before and checks after).
// tokens long long; heads, dim, npos int.
//
// Launch: table: 1-D grid-stride over npos*half, block 256; rope: 2-D
// blocks, threadIdx.x over the pairs of a head (blockDim.x = 32),
// threadIdx.y over (token, head) rows (blockDim.y = 8), blocks striding over
// rows (the launcher uses min(ceil(tokens*heads/8), 16*SMs)); one integer
// division per row, none per element.
//
// Benchmark: ragr bench kernels (rows rope_fwd_f32 ...).
#include "common.cuh"

extern "C" __global__ void ragr_rope_table_f32(float* __restrict__ cosv, float* __restrict__ sinv, long long npos, int half, int dim,
                                               float theta) {
	RAGR_GRID_STRIDE(i, npos * half) {
		const long long p = i / half;
		const int j = (int)(i - p * half);
		const float inv = 1.f / powf(theta, (float)(2 * j) / (float)dim);
		const float f = (float)p * inv;
		float s, c;
		sincosf(f, &s, &c);
		cosv[i] = c;
		sinv[i] = s;
	}
}

template <typename T, bool BWD>
__device__ __forceinline__ void rope(T* y, const T* x, const float* __restrict__ cosv, const float* __restrict__ sinv,
                                     const int* __restrict__ pos, long long tokens, int heads, int dim, int npos, int* err) {
	const int half = dim / 2;
	const long long rows = tokens * heads;
	for (long long th = (long long)blockIdx.x * blockDim.y + threadIdx.y; th < rows; th += (long long)gridDim.x * blockDim.y) {
		const long long t = th / heads;
		const long long base = th * dim;
		const int p = pos[t];
		if (p < 0 || p >= npos) {
			for (int j = threadIdx.x; j < half; j += blockDim.x) {
				y[base + j] = from_f32<T>(NAN);
				y[base + j + half] = from_f32<T>(NAN);
			}
			if (threadIdx.x == 0) atomicMin(err, (int)t);
			continue;
		}
		const float* cr = cosv + (long long)p * half;
		const float* sr = sinv + (long long)p * half;
		for (int j = threadIdx.x; j < half; j += blockDim.x) {
			const float c = cr[j], s = sr[j];
			const float a = to_f32(x[base + j]), b = to_f32(x[base + j + half]);
			if (BWD) {
				y[base + j] = from_f32<T>(a * c + b * s);
				y[base + j + half] = from_f32<T>(b * c - a * s);
			} else {
				y[base + j] = from_f32<T>(a * c - b * s);
				y[base + j + half] = from_f32<T>(b * c + a * s);
			}
		}
	}
}

#define RAGR_ROPE(T, suffix)                                                                                      \
	extern "C" __global__ void ragr_rope_fwd_##suffix(T* y, const T* x, const float* __restrict__ cosv,               \
	                                                  const float* __restrict__ sinv, const int* __restrict__ pos,   \
	                                                  long long tokens, int heads, int dim, int npos, int* err) {    \
		rope<T, false>(y, x, cosv, sinv, pos, tokens, heads, dim, npos, err);                                   \
	}                                                                                                             \
	extern "C" __global__ void ragr_rope_bwd_##suffix(T* dx, const T* dy, const float* __restrict__ cosv,             \
	                                                  const float* __restrict__ sinv, const int* __restrict__ pos,   \
	                                                  long long tokens, int heads, int dim, int npos, int* err) {    \
		rope<T, true>(dx, dy, cosv, sinv, pos, tokens, heads, dim, npos, err);                                  \
	}
RAGR_ROPE(float, f32)
RAGR_ROPE(__nv_bfloat16, bf16)
