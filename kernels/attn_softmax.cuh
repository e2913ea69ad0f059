// attn_softmax.cuh — the parts of fused attention that attention.cu
// (mma.sync) and attention90.cu (wgmma) share: in the forward, the masked
// online-softmax step over one tile of keys and the epilogue writing O and
// lse; in the backward, the query columns' lse and delta, Pᵀ recomputed from
// lse with the masks, and the epilogue writing dK and dV. Both kernels keep a thread's scores and output accumulators in the
// m16n8 accumulator layout: element e (0..3) of n8 block j is row
// row0 + 8·(e/2), column 8j + 2·tq + e%2 (g = lane/4 picks row0, tq =
// lane%4); S(j, e) and O(j, e) return references to them, so each kernel
// keeps its own register arrays.
#pragma once

#include <math_constants.h>

#include "mma.cuh"

namespace ragr_attn {

constexpr float LOG2E = 1.4426950408889634f;
constexpr float LN2 = 0.6931471805599453f;

template <typename TO>
__device__ __forceinline__ void store2(TO* p, float x0, float x1);
template <>
__device__ __forceinline__ void store2<float>(float* p, float x0, float x1) {
    *reinterpret_cast<float2*>(p) = make_float2(x0, x1);
}
template <>
__device__ __forceinline__ void store2<__nv_bfloat16>(__nv_bfloat16* p, float x0, float x1) {
    *reinterpret_cast<uint32_t*>(p) = ragr_mma::pack2<__nv_bfloat16>(x0, x1);
}

// One key tile (keys k0..k0+63) of the online softmax for the thread's two
// query rows: scores scaled to log2 units (sl2 = scale·log2 e), invisible
// keys (beyond kend, masked by key_mask [B, Sk], or after the row when
// causal) set to -inf, the running max mrow and sum lrow updated, the output
// accumulators rescaled, and the scores replaced by exp2(s − max). q0 is the
// block's first query row (the mask is skipped for tiles no row can clip).
template <int NT, int DT, typename SF, typename OF>
__device__ __forceinline__ void softmax_tile(SF S, OF O, float (&mrow)[2], float (&lrow)[2], int k0, int q0, int row0,
                                             int tq, int b, int Sk, int kend, int causal,
                                             const unsigned char* __restrict__ key_mask, float sl2) {
    const bool need_mask = key_mask != nullptr || k0 + 8 * NT > kend || (causal && k0 + 8 * NT - 1 > q0);
#pragma unroll
    for (int nt = 0; nt < NT; nt++) {
#pragma unroll
        for (int e = 0; e < 4; e++) {
            float x = S(nt, e) * sl2;
            if (need_mask) {
                const int col = k0 + nt * 8 + tq * 2 + (e & 1), row = row0 + (e >> 1) * 8;
                bool vis = col < kend && !(causal && col > row);
                if (vis && key_mask) vis = key_mask[(long long)b * Sk + col] != 0;
                if (!vis) x = -CUDART_INF_F;
            }
            S(nt, e) = x;
        }
    }
    // two rows per thread (e < 2: row0, else row0 + 8); a row's 64 keys are
    // spread over the 4 threads of its quad
#pragma unroll
    for (int h = 0; h < 2; h++) {
        float mx = -CUDART_INF_F;
#pragma unroll
        for (int nt = 0; nt < NT; nt++) mx = fmaxf(mx, fmaxf(S(nt, 2 * h), S(nt, 2 * h + 1)));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
        const float mnew = fmaxf(mrow[h], mx);
        const float muse = mnew == -CUDART_INF_F ? 0.0f : mnew;
        const float corr = exp2f(mrow[h] - muse);
        float sum = 0.0f;
#pragma unroll
        for (int nt = 0; nt < NT; nt++) {
            S(nt, 2 * h) = exp2f(S(nt, 2 * h) - muse);
            S(nt, 2 * h + 1) = exp2f(S(nt, 2 * h + 1) - muse);
            sum += S(nt, 2 * h) + S(nt, 2 * h + 1);
        }
        lrow[h] = lrow[h] * corr + sum;
        mrow[h] = mnew;
#pragma unroll
        for (int dt = 0; dt < DT; dt++) O(dt, 2 * h) *= corr, O(dt, 2 * h + 1) *= corr;
    }
}

// The epilogue: O = acc / l for the thread's rows below Sq (0 when the row
// saw no key) into Out [B, Sq, Hq, D], and lse = (max + log2 l)·ln 2, +inf
// for a row that saw no key, into lse [B, Hq, Sq].
template <int D, typename TO, typename OF>
__device__ __forceinline__ void write_out(OF O, const float (&mrow)[2], const float (&lrow)[2], TO* __restrict__ Out,
                                          float* __restrict__ lse, int row0, int tq, int b, int hq, int Hq, int Sq) {
#pragma unroll
    for (int h = 0; h < 2; h++) {
        float l = lrow[h];
        l += __shfl_xor_sync(0xffffffffu, l, 1);
        l += __shfl_xor_sync(0xffffffffu, l, 2);
        const int row = row0 + h * 8;
        if (row >= Sq) continue;
        const float inv = l > 0.0f ? 1.0f / l : 0.0f;
        TO* orow = Out + (((long long)b * Sq + row) * Hq + hq) * D;
#pragma unroll
        for (int dt = 0; dt < D / 8; dt++) store2<TO>(orow + dt * 8 + tq * 2, O(dt, 2 * h) * inv, O(dt, 2 * h + 1) * inv);
        if (tq == 0) lse[((long long)b * Hq + hq) * Sq + row] = l > 0.0f ? (mrow[h] + log2f(l)) * LN2 : CUDART_INF_F;
    }
}

// Dropout of the attention probabilities, bit for bit the CPU's
// tensor.RNG.DropoutMask over P [B, Hq, Sq, Sk] (contiguous): element i is
// kept when the 32-bit half i%2 of SplitMix64(key + (i/2 + 1)·γ) (γ the
// golden-ratio increment) is at least thr = round(p·2³²), and is then
// scaled by keep = 1/(1 − p); thr 0 means no dropout. The fused kernels and
// the composite path therefore drop the same weights for the same key.
struct Drop {
    unsigned long long key, thr;
    float keep;
};

__device__ __forceinline__ unsigned long long splitmix64(unsigned long long z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

// Whether element i is kept.
__device__ __forceinline__ bool drop_kept(const Drop& d, long long i) {
    const unsigned long long z = splitmix64(d.key + ((unsigned long long)(i >> 1) + 1) * 0x9e3779b97f4a7c15ull);
    return ((i & 1) ? (z >> 32) : (z & 0xffffffffull)) >= d.thr;
}

// Whether elements i and i+1 are kept (one SplitMix64 when i is even).
__device__ __forceinline__ void drop_kept2(const Drop& d, long long i, bool& k0, bool& k1) {
    constexpr unsigned long long gamma = 0x9e3779b97f4a7c15ull;
    const unsigned long long z = splitmix64(d.key + ((unsigned long long)(i >> 1) + 1) * gamma);
    if ((i & 1) == 0) {
        k0 = (z & 0xffffffffull) >= d.thr;
        k1 = (z >> 32) >= d.thr;
        return;
    }
    const unsigned long long z1 = splitmix64(d.key + ((unsigned long long)(i >> 1) + 2) * gamma);
    k0 = (z >> 32) >= d.thr;
    k1 = (z1 & 0xffffffffull) >= d.thr;
}

// Forward: drops and scales the thread's probabilities P(nt, e) of key tile
// k0 (rows row0 and row0 + 8, whose elements start at P index base0 and
// base1, keys k0 + 8nt + 2tq + e%2).
template <int NT, typename PF>
__device__ __forceinline__ void dropout_fwd(PF P, const Drop& d, long long base0, long long base1, int k0, int tq) {
#pragma unroll
    for (int nt = 0; nt < NT; nt++)
#pragma unroll
        for (int h = 0; h < 2; h++) {
            bool a, c;
            drop_kept2(d, (h ? base1 : base0) + k0 + nt * 8 + tq * 2, a, c);
            P(nt, 2 * h) = a ? P(nt, 2 * h) * d.keep : 0.0f;
            P(nt, 2 * h + 1) = c ? P(nt, 2 * h + 1) * d.keep : 0.0f;
        }
}

// Backward (keys as rows): bit 4nt + e is set when the element of key
// key0 (e < 2) or key1 and query q0 + 8nt + 2tq + e%2 is kept; qbase is
// the P index of query 0 of this (batch, query head): ((b·Hq + hq)·Sq)·Sk.
template <int NT>
__device__ __forceinline__ uint32_t dropout_bits_t(const Drop& d, long long qbase, int Sk, int key0, int key1, int q0,
                                                   int tq) {
    uint32_t bits = 0;
#pragma unroll
    for (int nt = 0; nt < NT; nt++)
#pragma unroll
        for (int e = 0; e < 4; e++) {
            const long long q = q0 + nt * 8 + tq * 2 + (e & 1);
            if (drop_kept(d, qbase + q * Sk + ((e >> 1) ? key1 : key0))) bits |= 1u << (4 * nt + e);
        }
    return bits;
}

// Backward, keys as rows (the thread's key0 and key1 = key0 + 8) and
// queries as columns: the lse (log2 units; +inf past Sq, so P = 0) and
// delta (0 past Sq) of the thread's query columns q0 + 8nt + 2tq + e.
template <int NT>
__device__ __forceinline__ void load_lse_delta(float (&ls)[NT][2], float (&dl)[NT][2], const float* __restrict__ lseb,
                                               const float* __restrict__ delb, int q0, int tq, int Sq) {
#pragma unroll
    for (int nt = 0; nt < NT; nt++)
#pragma unroll
        for (int e = 0; e < 2; e++) {
            const int q = q0 + nt * 8 + tq * 2 + e;
            ls[nt][e] = q < Sq ? lseb[q] * LOG2E : CUDART_INF_F;
            dl[nt][e] = q < Sq ? delb[q] : 0.0f;
        }
}

// Pᵀ from the scores Sᵀ in place: exp2(s·sl2 − lse) where the key is
// visible to the query (vis0/vis1: the key rows exist and pass key_mask;
// causal: key <= query), else 0 (an lse of +inf — no visible key, or a
// query past Sq — gives 0 too).
template <int NT, typename PF>
__device__ __forceinline__ void probs_t(PF P, const float (&ls)[NT][2], int key0, int key1, bool vis0, bool vis1,
                                        int q0, int tq, int causal, float sl2) {
#pragma unroll
    for (int nt = 0; nt < NT; nt++)
#pragma unroll
        for (int e = 0; e < 4; e++) {
            const int q = q0 + nt * 8 + tq * 2 + (e & 1);
            const int key = (e >> 1) ? key1 : key0;
            bool vis = (e >> 1) ? vis1 : vis0;
            if (causal && key > q) vis = false;
            P(nt, e) = vis ? exp2f(P(nt, e) * sl2 - ls[nt][e & 1]) : 0.0f;
        }
}

// The backward's epilogue: dK·scale and dV for the thread's key rows below
// Sk into dK, dV [B, Sk, Hkv, D] (keys no query saw get 0).
template <int D, typename TO, typename KF, typename VF>
__device__ __forceinline__ void write_dkdv(KF DKacc, VF DVacc, TO* __restrict__ dK, TO* __restrict__ dV, int key0,
                                           int tq, int b, int hk, int Hkv, int Sk, float scale) {
#pragma unroll
    for (int h = 0; h < 2; h++) {
        const int key = key0 + h * 8;
        if (key >= Sk) continue;
        TO* dkr = dK + (((long long)b * Sk + key) * Hkv + hk) * D + tq * 2;
        TO* dvr = dV + (((long long)b * Sk + key) * Hkv + hk) * D + tq * 2;
#pragma unroll
        for (int dt = 0; dt < D / 8; dt++) {
            store2<TO>(dkr + dt * 8, DKacc(dt, 2 * h) * scale, DKacc(dt, 2 * h + 1) * scale);
            store2<TO>(dvr + dt * 8, DVacc(dt, 2 * h), DVacc(dt, 2 * h + 1));
        }
    }
}

}  // namespace ragr_attn
