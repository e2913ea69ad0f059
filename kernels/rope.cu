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
//       The roundings are fixed (explicit _rn intrinsics, the contraction
//       nvcc chose for v1): fwd y[j] = rn(rn(a*c) - rn(b*s)),
//       y[j+half] = fma(a, s, rn(b*c)); bwd dx[j] = fma(a, c, rn(b*s)),
//       dx[j+half] = rn(rn(b*c) - rn(a*s)) (a = x[j], b = x[j+half]).
//       y may alias x (each thread reads all its elements, then writes
//       them). A position outside [0, npos) leaves its rows NaN and records
//       the smallest such token index in err[0] with atomicMin (the launcher
//       sets INT_MAX before and checks after).
// tokens long long; heads, dim, npos int.
//
// Launch: table: 1-D grid-stride over npos*half, block 256. rope: 1-D
// blocks of 256 (no 2-D blocks), grid-stride over work items (token, group
// of G = RAGR_ROPE_G = 2 heads, chunk of V pairs): items = tokens *
// ceil(heads/G) * (half/V); the launcher uses min(ceil(items/256), 16*SMs)
// blocks, counting with the widest V the shape allows. Each thread issues
// its 2G vector loads of V elements (the two halves of G heads) together
// with its token's position, then reads V cos and V sin values once for the
// G heads, then stores 2G vectors. V is chosen in the kernel (a uniform
// branch): the widest of 16, 8, 4 bytes of T (then one element) with
// half % V == 0, x and y aligned to V elements and cos/sin to V floats (16
// bytes at most). The item decomposition (two divisions per item, none per
// element) runs in 32-bit arithmetic when the item count allows.
// __launch_bounds__(256, 3): at most 80 registers (3 blocks per SM).
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

#define RAGR_ROPE_G 2 // heads per thread (one table read for all of them)

// One access of B bytes.
template <int B> struct RopeWord;
template <> struct RopeWord<16> {
	typedef uint4 type;
};
template <> struct RopeWord<8> {
	typedef uint2 type;
};
template <> struct RopeWord<4> {
	typedef unsigned type;
};
template <> struct RopeWord<2> {
	typedef unsigned short type;
};
// V elements of T moved as one word.
template <typename T, int V> union RopeVec {
	typename RopeWord<V * sizeof(T)>::type w;
	T v[V];
};

// V consecutive floats at p (aligned to 4V bytes, at most 16).
template <int V> __device__ __forceinline__ void rope_load_f32(float (&o)[V], const float* __restrict__ p) {
	if constexpr (V % 4 == 0) {
#pragma unroll
		for (int k = 0; k < V / 4; k++) {
			const float4 q = reinterpret_cast<const float4*>(p)[k];
			o[4 * k] = q.x, o[4 * k + 1] = q.y, o[4 * k + 2] = q.z, o[4 * k + 3] = q.w;
		}
	} else if constexpr (V == 2) {
		const float2 q = *reinterpret_cast<const float2*>(p);
		o[0] = q.x, o[1] = q.y;
	} else {
		o[0] = p[0];
	}
}

template <bool BWD> __device__ __forceinline__ void rope_rotate(float a, float b, float c, float s, float& ya, float& yb) {
	if (BWD) {
		ya = __fmaf_rn(a, c, __fmul_rn(b, s));
		yb = __fsub_rn(__fmul_rn(b, c), __fmul_rn(a, s));
	} else {
		ya = __fsub_rn(__fmul_rn(a, c), __fmul_rn(b, s));
		yb = __fmaf_rn(a, s, __fmul_rn(b, c));
	}
}

// The items of the kernel with V pairs per chunk; I is the index type of the
// item decomposition (32-bit when the item count fits).
template <typename T, bool BWD, int V, typename I>
__device__ __forceinline__ void rope_vec(T* y, const T* x, const float* __restrict__ cosv, const float* __restrict__ sinv,
                                         const int* __restrict__ pos, long long tokens, int heads, int dim, int npos, int* err) {
	typedef RopeVec<T, V> Vec;
	typedef typename RopeWord<V * sizeof(T)>::type Word;
	const int half = dim / 2;
	const I chunks = (I)(half / V), groups = (I)((heads + RAGR_ROPE_G - 1) / RAGR_ROPE_G);
	const I items = (I)tokens * groups * chunks;
	for (I it = (I)blockIdx.x * blockDim.x + threadIdx.x; it < items; it += (I)blockDim.x * gridDim.x) {
		const I r = it / chunks;
		const int c = (int)(it - r * chunks);
		const I t = r / groups;
		const int h0 = (int)(r - t * groups) * RAGR_ROPE_G;
		const int nh = min(RAGR_ROPE_G, heads - h0);
		const long long base = ((long long)t * heads + h0) * dim + (long long)c * V;
		const int p = pos[t];
		Vec a[RAGR_ROPE_G], b[RAGR_ROPE_G];
#pragma unroll
		for (int k = 0; k < RAGR_ROPE_G; k++)
			if (k < nh) {
				a[k].w = *reinterpret_cast<const Word*>(x + base + (long long)k * dim);
				b[k].w = *reinterpret_cast<const Word*>(x + base + (long long)k * dim + half);
			}
		if (p < 0 || p >= npos) {
#pragma unroll
			for (int k = 0; k < RAGR_ROPE_G; k++)
				if (k < nh) {
					Vec q;
#pragma unroll
					for (int e = 0; e < V; e++) q.v[e] = from_f32<T>(NAN);
					*reinterpret_cast<Word*>(y + base + (long long)k * dim) = q.w;
					*reinterpret_cast<Word*>(y + base + (long long)k * dim + half) = q.w;
				}
			if (c == 0 && h0 == 0) atomicMin(err, (int)t);
			continue;
		}
		float cs[V], sn[V];
		rope_load_f32<V>(cs, cosv + (long long)p * half + (long long)c * V);
		rope_load_f32<V>(sn, sinv + (long long)p * half + (long long)c * V);
#pragma unroll
		for (int k = 0; k < RAGR_ROPE_G; k++)
			if (k < nh) {
				Vec qa, qb;
#pragma unroll
				for (int e = 0; e < V; e++) {
					float ya, yb;
					rope_rotate<BWD>(to_f32(a[k].v[e]), to_f32(b[k].v[e]), cs[e], sn[e], ya, yb);
					qa.v[e] = from_f32<T>(ya);
					qb.v[e] = from_f32<T>(yb);
				}
				*reinterpret_cast<Word*>(y + base + (long long)k * dim) = qa.w;
				*reinterpret_cast<Word*>(y + base + (long long)k * dim + half) = qb.w;
			}
	}
}

template <typename T, bool BWD, int V>
__device__ __forceinline__ void rope_v(T* y, const T* x, const float* __restrict__ cosv, const float* __restrict__ sinv,
                                       const int* __restrict__ pos, long long tokens, int heads, int dim, int npos, int* err) {
	const long long items = tokens * ((heads + RAGR_ROPE_G - 1) / RAGR_ROPE_G) * (dim / 2 / V);
	if (items + (long long)blockDim.x * gridDim.x <= 0xffffffffLL)
		rope_vec<T, BWD, V, unsigned>(y, x, cosv, sinv, pos, tokens, heads, dim, npos, err);
	else
		rope_vec<T, BWD, V, long long>(y, x, cosv, sinv, pos, tokens, heads, dim, npos, err);
}

// Whether the V-wide path applies: half a multiple of V, x and y aligned to
// V elements, cos and sin to V floats (16 bytes at most).
template <typename T, int V>
__device__ __forceinline__ bool rope_fits(const T* y, const T* x, const float* cosv, const float* sinv, int half) {
	const uintptr_t ma = V * sizeof(T) - 1, mt = (V * 4 > 16 ? 16 : V * 4) - 1;
	return half % V == 0 && (((uintptr_t)x | (uintptr_t)y) & ma) == 0 && (((uintptr_t)cosv | (uintptr_t)sinv) & mt) == 0;
}

template <typename T, bool BWD>
__device__ __forceinline__ void rope(T* y, const T* x, const float* __restrict__ cosv, const float* __restrict__ sinv,
                                     const int* __restrict__ pos, long long tokens, int heads, int dim, int npos, int* err) {
	constexpr int V16 = 16 / sizeof(T), V8 = 8 / sizeof(T), V4 = 4 / sizeof(T);
	const int half = dim / 2;
	if (rope_fits<T, V16>(y, x, cosv, sinv, half))
		rope_v<T, BWD, V16>(y, x, cosv, sinv, pos, tokens, heads, dim, npos, err);
	else if (rope_fits<T, V8>(y, x, cosv, sinv, half))
		rope_v<T, BWD, V8>(y, x, cosv, sinv, pos, tokens, heads, dim, npos, err);
	else if (V4 > 1 && rope_fits<T, V4>(y, x, cosv, sinv, half))
		rope_v<T, BWD, (V4 > 1 ? V4 : 1)>(y, x, cosv, sinv, pos, tokens, heads, dim, npos, err);
	else
		rope_v<T, BWD, 1>(y, x, cosv, sinv, pos, tokens, heads, dim, npos, err);
}

#define RAGR_ROPE(T, suffix)                                                                                      \
	extern "C" __global__ void __launch_bounds__(256, 3) ragr_rope_fwd_##suffix(                                       \
	    T* y, const T* x, const float* __restrict__ cosv, const float* __restrict__ sinv, const int* __restrict__ pos, \
	    long long tokens, int heads, int dim, int npos, int* err) {                                                 \
		rope<T, false>(y, x, cosv, sinv, pos, tokens, heads, dim, npos, err);                                   \
	}                                                                                                             \
	extern "C" __global__ void __launch_bounds__(256, 3) ragr_rope_bwd_##suffix(                                       \
	    T* dx, const T* dy, const float* __restrict__ cosv, const float* __restrict__ sinv, const int* __restrict__ pos, \
	    long long tokens, int heads, int dim, int npos, int* err) {                                                 \
		rope<T, true>(dx, dy, cosv, sinv, pos, tokens, heads, dim, npos, err);                                  \
	}
RAGR_ROPE(float, f32)
RAGR_ROPE(__nv_bfloat16, bf16)
