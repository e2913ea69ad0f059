// attention.cu — fused (flash-style) scaled dot-product attention, forward and
// backward, never materialising the Sq×Sk score matrix.
//
// Shapes (element strides; the head dimension D is contiguous):
//   Q  [B, Sq, Hq,  D]  bf16, strides (q_sb, q_ss, q_sh)
//   K  [B, Sk, Hkv, D]  bf16, strides (k_sb, k_ss, k_sh)
//   V  [B, Sk, Hkv, D]  bf16, strides (v_sb, v_ss, v_sh)
//   O, dO, dQ  [B, Sq, Hq, D]   contiguous, TO
//   dK, dV     [B, Sk, Hkv, D]  contiguous, TO
//   lse, delta [B, Hq, Sq]      contiguous fp32
//   dQacc      [B, Sq, Hq, D]   contiguous fp32 workspace
// D is 64 or 128. Hq is a multiple of Hkv (grouped-query attention: query
// head h reads key/value head h / (Hq/Hkv); dK and dV sum over the group).
// TO is bf16 (kernels named ..._bf16) or fp32 (..._bf16f32); Q/K/V are bf16
// in both; all products accumulate in fp32 on the tensor cores (mma.sync
// m16n8k16), P and dS are rounded to bf16 as the operand of the second product.
// Strides must be multiples of 8 elements and Q/K/V/O/dO 16-byte aligned (the
// launcher checks and returns an error otherwise).
//
// Dropout: every forward and main backward kernel ends with (drop_key,
// drop_thr, drop_keep) (unsigned long long, unsigned long long, float):
// attention weight e of P [B, Hq, Sq, Sk] (flat index) is kept when the
// 32-bit half e%2 of SplitMix64(drop_key + (e/2+1)·γ) is >= drop_thr and is
// then scaled by drop_keep — tensor.DropoutMaskKey's mask, bit for bit
// (attn_softmax.cuh); drop_thr 0: no dropout. O = dropout(softmax(S))·V.
//
// Semantics: S = scale·Q·Kᵀ; key j is visible to query i unless
//   j >= kv_len[b] (kv_len nullable: Sk), or key_mask[b*Sk + j] == 0
//   (key_mask nullable, uint8 [B, Sk]), or causal && j > i (top-left aligned,
//   as torch's is_causal). O = softmax(S)·V; lse = log Σ_j exp(S_ij) (natural
//   log). A query that sees no key gets O = 0 and lse = +inf (torch gives NaN),
//   and contributes nothing to the gradients.
//
// Kernels:
//   ragr_attn_fwd_d{64,128}_{bf16,bf16f32}(O, lse, Q, K, V, kv_len, key_mask,
//       B, Hq, Hkv, Sq, Sk, q_sb, q_ss, q_sh, k_sb, k_ss, k_sh, v_sb, v_ss,
//       v_sh, scale, causal, drop_key, drop_thr, drop_keep)
//     grid (ceil(Sq/64), Hq, B), block 128 (4 warps × 16 query rows), static
//     shared 3·64·D·2 bytes (48 KiB at D = 128). K and V tiles of 64 keys
//     stream through cp.async, the next K tile loading during softmax and P·V,
//     the next V tile during Q·Kᵀ (FlashAttention-2 online softmax, exp2).
//   ragr_attn_bwd_pre_{bf16,f32}(delta, dQacc, O, dO, rows, D)
//     delta[b,h,i] = Σ_d O·bf16(dO) and dQacc[b,i,h,:] = 0; rows = B·Sq·Hq, each
//     row (b,i,h) of O/dO/dQacc at row*D; delta written at
//     ((b*Hq + h)*Sq + i) — so the kernel also takes Sq and Hq:
//     (delta, dQacc, O, dO, B, Sq, Hq, D). grid ceil(rows/4), block 128.
//   ragr_attn_bwd_d{64,128}_{bf16,bf16f32}(dK, dV, dQacc, Q, K, V, dO, lse,
//       delta, kv_len, key_mask, B, Hq, Hkv, Sq, Sk, q_sb, q_ss, q_sh, k_sb,
//       k_ss, k_sh, v_sb, v_ss, v_sh, scale, causal, drop_key, drop_thr,
//       drop_keep)
//     FlashAttention-2 backward: grid (ceil(Sk/64), Hkv, B), block 128 (4
//     warps × 16 keys); each block keeps its 64 keys' K, V and dK, dV
//     accumulators, loops over the group's query heads and the query blocks
//     (64 queries at D = 64, 32 at D = 128, so shared memory stays within
//     48 KiB), and adds dQ = scale·dS·K into dQacc with fp32 atomicAdd. At
//     D = 64 the next query block's Q and dO tiles load (cp.async) while the
//     current one is computed (two buffers, 48 KiB); at D = 128 they load
//     between blocks.
//   ragr_attn_bwd_post_{bf16,f32}(dQ, dQacc, n, scale)
//     dQ = scale·dQacc, n elements; grid-stride, block 256.
// The launcher runs pre → bwd → post on one stream.
//
// Benchmark: `ragr bench kernels` (rows attn_*), see kernels/NOTES.md.
#include <math_constants.h>

#include "attn_softmax.cuh"
#include "mma.cuh"

using namespace ragr_mma;
typedef __nv_bfloat16 bf16;

namespace {

constexpr int AT_THREADS = 128;

// Offset of (row, 16-byte chunk) in a [rows][D] bf16 tile: chunk ^= row%8, so
// the 8 rows an ldmatrix phase reads fall in 8 different bank groups.
template <int D>
__device__ __forceinline__ int toff(int row, int c) {
    return row * D + ((c ^ (row & 7)) << 3);
}

// Offset in the [64 keys][BR queries] dSᵀ tile (BR = 64: 8 chunks a row, as
// toff; BR = 32: 4 chunks in a 64-byte row, chunk ^= (row/2)%4).
template <int BR>
__device__ __forceinline__ int soff(int row, int c) {
    if (BR == 64) return row * 64 + ((c ^ (row & 7)) << 3);
    return row * 32 + ((c ^ ((row >> 1) & 3)) << 3);
}

// Loads rows s0..s0+ROWS-1 (row stride ss elements; rows >= S zero-filled)
// of a [*][D] matrix into a swizzled shared tile.
template <int D, int ROWS>
__device__ __forceinline__ void load_rows(bf16* s, const bf16* __restrict__ base, long long ss, int s0, int S) {
    constexpr int CH = D / 8, TOTAL = ROWS * CH;
#pragma unroll
    for (int i = 0; i < TOTAL / AT_THREADS; i++) {
        const int q = threadIdx.x + i * AT_THREADS, r = q / CH, c = q % CH;
        const bool ok = s0 + r < S;
        cp_async16(s + toff<D>(r, c), ok ? base + (long long)(s0 + r) * ss + c * 8 : base, ok ? 16 : 0);
    }
}

// The same from an fp32 matrix, rounding to bf16 (synchronous loads).
template <int D, int ROWS>
__device__ __forceinline__ void load_rows(bf16* s, const float* __restrict__ base, long long ss, int s0, int S) {
    constexpr int CH = D / 8, TOTAL = ROWS * CH;
#pragma unroll
    for (int i = 0; i < TOTAL / AT_THREADS; i++) {
        const int q = threadIdx.x + i * AT_THREADS, r = q / CH, c = q % CH;
        uint4 u = make_uint4(0, 0, 0, 0);
        if (s0 + r < S) {
            const float* p = base + (long long)(s0 + r) * ss + c * 8;
            float4 x0 = *reinterpret_cast<const float4*>(p), x1 = *reinterpret_cast<const float4*>(p + 4);
            u.x = pack2<bf16>(x0.x, x0.y), u.y = pack2<bf16>(x0.z, x0.w);
            u.z = pack2<bf16>(x1.x, x1.y), u.w = pack2<bf16>(x1.z, x1.w);
        }
        *reinterpret_cast<uint4*>(s + toff<D>(r, c)) = u;
    }
}

// Number of key rows of batch b that any query may see.
__device__ __forceinline__ int kv_end(const int* __restrict__ kv_len, int b, int Sk) {
    if (!kv_len) return Sk;
    return min(max(kv_len[b], 0), Sk);
}

// ---------------------------------------------------------------------------
// Forward

template <int D, typename TO>
__device__ __forceinline__ void attn_fwd(TO* __restrict__ O, float* __restrict__ lse, const bf16* __restrict__ Q,
                                         const bf16* __restrict__ K, const bf16* __restrict__ V,
                                         const int* __restrict__ kv_len, const unsigned char* __restrict__ key_mask,
                                         int B, int Hq, int Hkv, int Sq, int Sk, long long q_sb, long long q_ss,
                                         long long q_sh, long long k_sb, long long k_ss, long long k_sh,
                                         long long v_sb, long long v_ss, long long v_sh, float scale, int causal,
        unsigned long long drop_key, unsigned long long drop_thr, float drop_keep) {
    constexpr int BR = 64, BC = 64, KD = D / 16, NT = BC / 8, DT = D / 8;
    __shared__ __align__(128) bf16 Qs[BR * D];
    __shared__ __align__(128) bf16 Ks[BC * D];
    __shared__ __align__(128) bf16 Vs[BC * D];

    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int g = lane >> 2, tq = lane & 3, mi = lane >> 3, r8 = lane & 7;
    const int qb = gridDim.x - 1 - blockIdx.x;  // longest causal rows first
    const int hq = blockIdx.y, b = blockIdx.z, hk = hq / (Hq / Hkv);
    const int q0 = qb * BR;
    const float sl2 = scale * ragr_attn::LOG2E;
    const ragr_attn::Drop drop{drop_key, drop_thr, drop_keep};

    const bf16* Qb = Q + b * q_sb + hq * q_sh;
    const bf16* Kb = K + b * k_sb + hk * k_sh;
    const bf16* Vb = V + b * v_sb + hk * v_sh;

    int kend = kv_end(kv_len, b, Sk);
    const int kvis = causal ? min(kend, q0 + BR) : kend;  // keys any row of this block may see
    const int nkb = (kvis + BC - 1) / BC;

    load_rows<D, BR>(Qs, Qb, q_ss, q0, Sq);
    cp_async_commit();
    if (nkb > 0) load_rows<D, BC>(Ks, Kb, k_ss, 0, Sk);
    cp_async_commit();
    if (nkb > 0) load_rows<D, BC>(Vs, Vb, v_ss, 0, Sk);
    cp_async_commit();
    cp_async_wait<2>();
    __syncthreads();

    uint32_t qf[KD][4];
#pragma unroll
    for (int kd = 0; kd < KD; kd++) ldsm_x4(qf[kd], Qs + toff<D>(warp * 16 + (lane & 15), kd * 2 + (lane >> 4)));

    float o[DT][4];
#pragma unroll
    for (int i = 0; i < DT; i++) o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.0f;
    float mrow[2] = {-CUDART_INF_F, -CUDART_INF_F}, lrow[2] = {0.0f, 0.0f};
    const int row0 = q0 + warp * 16 + g;  // this thread's rows: row0, row0 + 8

    for (int j = 0; j < nkb; j++) {
        const int k0 = j * BC;
        cp_async_wait<1>();  // K_j
        __syncthreads();
        float s[NT][4];
#pragma unroll
        for (int i = 0; i < NT; i++) s[i][0] = s[i][1] = s[i][2] = s[i][3] = 0.0f;
#pragma unroll
        for (int kd = 0; kd < KD; kd++) {
#pragma unroll
            for (int np = 0; np < NT / 2; np++) {
                uint32_t t4[4];
                ldsm_x4(t4, Ks + toff<D>(np * 16 + (mi >> 1) * 8 + r8, kd * 2 + (mi & 1)));
                mma16816<bf16>(s[2 * np], qf[kd], t4[0], t4[1]);
                mma16816<bf16>(s[2 * np + 1], qf[kd], t4[2], t4[3]);
            }
        }
        __syncthreads();  // every warp is done with K_j
        if (j + 1 < nkb) load_rows<D, BC>(Ks, Kb, k_ss, k0 + BC, Sk);
        cp_async_commit();

        // Scale, mask, online softmax (attn_softmax.cuh).
        ragr_attn::softmax_tile<NT, DT>([&](int nt, int e) -> float& { return s[nt][e]; },
                                        [&](int dt, int e) -> float& { return o[dt][e]; }, mrow, lrow, k0, q0, row0,
                                        tq, b, Sk, kend, causal, key_mask, sl2);
        if (drop.thr) {  // drop and scale P (the sum above keeps every weight, as softmax then dropout)
            const long long pb = ((long long)b * Hq + hq) * Sq;
            ragr_attn::dropout_fwd<NT>([&](int nt, int e) -> float& { return s[nt][e]; }, drop, (pb + row0) * Sk,
                                       (pb + row0 + 8) * Sk, k0, tq);
        }

        cp_async_wait<1>();  // V_j
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < BC / 16; kk++) {
            uint32_t pa[4];
            pa[0] = pack2<bf16>(s[2 * kk][0], s[2 * kk][1]);
            pa[1] = pack2<bf16>(s[2 * kk][2], s[2 * kk][3]);
            pa[2] = pack2<bf16>(s[2 * kk + 1][0], s[2 * kk + 1][1]);
            pa[3] = pack2<bf16>(s[2 * kk + 1][2], s[2 * kk + 1][3]);
#pragma unroll
            for (int dp = 0; dp < DT / 2; dp++) {
                uint32_t t4[4];
                ldsm_x4_t(t4, Vs + toff<D>(kk * 16 + (mi & 1) * 8 + r8, dp * 2 + (mi >> 1)));
                mma16816<bf16>(o[2 * dp], pa, t4[0], t4[1]);
                mma16816<bf16>(o[2 * dp + 1], pa, t4[2], t4[3]);
            }
        }
        __syncthreads();  // every warp is done with V_j
        if (j + 1 < nkb) load_rows<D, BC>(Vs, Vb, v_ss, k0 + BC, Sk);
        cp_async_commit();
    }
    cp_async_wait<0>();
    ragr_attn::write_out<D, TO>([&](int dt, int e) -> float& { return o[dt][e]; }, mrow, lrow, O, lse, row0, tq, b, hq,
                                Hq, Sq);
}

// ---------------------------------------------------------------------------
// Backward

template <typename TO>
__device__ __forceinline__ void attn_bwd_pre(float* __restrict__ delta, float* __restrict__ dqacc,
                                             const TO* __restrict__ O, const TO* __restrict__ dO, int B, int Sq,
                                             int Hq, int D) {
    const long long rows = (long long)B * Sq * Hq;
    const long long row = (long long)blockIdx.x * (AT_THREADS / 32) + (threadIdx.x >> 5);
    const int lane = threadIdx.x & 31;
    if (row >= rows) return;
    const TO* o = O + row * D;
    const TO* d = dO + row * D;
    float* q = dqacc + row * D;
    float acc = 0.0f;
    for (int i = lane; i < D; i += 32) {
        // dO as the main kernel's tensor cores see it (an fp32 dO rounded to
        // bf16), so that delta and dP = dO·Vᵀ agree and dP − delta cancels
        // where it should (one visible key: exactly 0).
        acc = fmaf(to_f32(o[i]), __bfloat162float(__float2bfloat16_rn(to_f32(d[i]))), acc);
        q[i] = 0.0f;
    }
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) acc += __shfl_xor_sync(0xffffffffu, acc, off);
    if (lane == 0) {
        const int h = (int)(row % Hq);
        const long long bi = row / Hq;  // b*Sq + i
        const int i = (int)(bi % Sq);
        const long long b = bi / Sq;
        delta[(b * Hq + h) * Sq + i] = acc;
    }
}

template <typename TO>
__device__ __forceinline__ void attn_bwd_post(TO* __restrict__ dQ, const float* __restrict__ dqacc, long long n,
                                              float scale) {
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
        dQ[i] = from_f32<TO>(dqacc[i] * scale);
}

template <int D, typename TO>
__device__ __forceinline__ void attn_bwd(TO* __restrict__ dK, TO* __restrict__ dV, float* __restrict__ dqacc,
                                         const bf16* __restrict__ Q, const bf16* __restrict__ K,
                                         const bf16* __restrict__ V, const TO* __restrict__ dO,
                                         const float* __restrict__ lse, const float* __restrict__ delta,
                                         const int* __restrict__ kv_len, const unsigned char* __restrict__ key_mask,
                                         int B, int Hq, int Hkv, int Sq, int Sk, long long q_sb, long long q_ss,
                                         long long q_sh, long long k_sb, long long k_ss, long long k_sh,
                                         long long v_sb, long long v_ss, long long v_sh, float scale, int causal,
        unsigned long long drop_key, unsigned long long drop_thr, float drop_keep) {
    constexpr int BC = 64, BR = D == 64 ? 64 : 32, KD = D / 16, DT = D / 8, QT = BR / 8, QK = BR / 16;
    // PF: the next query block's Q and dO load while this one is computed
    // (two buffers; only at D = 64, where they fit in 48 KiB).
    constexpr bool PF = D == 64;
    constexpr int NB = PF ? 2 : 1;
    __shared__ __align__(128) bf16 Ks[BC * D];
    __shared__ __align__(128) bf16 Vs[BC * D];
    __shared__ __align__(128) bf16 Qbuf[NB][BR * D];
    __shared__ __align__(128) bf16 dObuf[NB][BR * D];  // each reused for dSᵀ [BC][BR]

    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int g = lane >> 2, tq = lane & 3, mi = lane >> 3, r8 = lane & 7;
    const int kb = blockIdx.x, hk = blockIdx.y, b = blockIdx.z, G = Hq / Hkv;
    const int k0 = kb * BC;
    const float sl2 = scale * ragr_attn::LOG2E;
    const ragr_attn::Drop drop{drop_key, drop_thr, drop_keep};
    const int kend = kv_end(kv_len, b, Sk);

    float dk[DT][4], dv[DT][4];
#pragma unroll
    for (int i = 0; i < DT; i++)
#pragma unroll
        for (int e = 0; e < 4; e++) dk[i][e] = dv[i][e] = 0.0f;

    // This thread's two key rows and whether any query may see them.
    const int key0 = k0 + warp * 16 + g, key1 = key0 + 8;
    bool vis0 = key0 < kend, vis1 = key1 < kend;
    if (key_mask) {
        if (vis0) vis0 = key_mask[(long long)b * Sk + key0] != 0;
        if (vis1) vis1 = key_mask[(long long)b * Sk + key1] != 0;
    }

    if (k0 < kend) {
        load_rows<D, BC>(Ks, K + b * k_sb + hk * k_sh, k_ss, k0, Sk);
        load_rows<D, BC>(Vs, V + b * v_sb + hk * v_sh, v_ss, k0, Sk);
        cp_async_commit();
        const int qstart = causal ? k0 / BR : 0;
        const int nper = (Sq + BR - 1) / BR - qstart;  // query blocks per head
        const int nit = nper > 0 ? G * nper : 0;       // (query head, query block) pairs
        // Queues the loads of iteration it's Q and dO tiles into buffer buf.
        auto load_it = [&](int it, int buf) {
            const int hq = hk * G + it / nper, q0 = (qstart + it % nper) * BR;
            load_rows<D, BR>(Qbuf[buf], Q + b * q_sb + hq * q_sh, q_ss, q0, Sq);
            load_rows<D, BR>(dObuf[buf], dO + ((long long)b * Sq * Hq + hq) * D, (long long)Hq * D, q0, Sq);
        };
        {
            for (int it = 0; it < nit; it++) {
                const int hq = hk * G + it / nper, q0 = (qstart + it % nper) * BR;
                const int cur = PF ? (it & 1) : 0;
                bf16* Qs = Qbuf[cur];
                bf16* dOs = dObuf[cur];
                bf16* dSs = dOs;
                const float* lseb = lse + ((long long)b * Hq + hq) * Sq;
                const float* delb = delta + ((long long)b * Hq + hq) * Sq;
                if (PF) {
                    if (it == 0) {
                        load_it(0, 0);
                        cp_async_commit();
                    }
                    // The other buffer was last read in iteration it-1, which
                    // ended with a barrier.
                    if (it + 1 < nit) load_it(it + 1, cur ^ 1);
                    cp_async_commit();
                } else {
                    load_it(it, 0);
                    cp_async_commit();
                }

                // lse and delta of this thread's query columns.
                float ls[QT][2], dl[QT][2];
                ragr_attn::load_lse_delta<QT>(ls, dl, lseb, delb, q0, tq, Sq);
                if (PF)
                    cp_async_wait<1>();  // all but the prefetch
                else
                    cp_async_wait<0>();
                __syncthreads();

                // Sᵀ = K·Qᵀ for the warp's 16 keys × BR queries, then Pᵀ.
                float pt[QT][4];
#pragma unroll
                for (int i = 0; i < QT; i++) pt[i][0] = pt[i][1] = pt[i][2] = pt[i][3] = 0.0f;
#pragma unroll
                for (int kd = 0; kd < KD; kd++) {
                    uint32_t kf[4];
                    ldsm_x4(kf, Ks + toff<D>(warp * 16 + (lane & 15), kd * 2 + (lane >> 4)));
#pragma unroll
                    for (int np = 0; np < QT / 2; np++) {
                        uint32_t t4[4];
                        ldsm_x4(t4, Qs + toff<D>(np * 16 + (mi >> 1) * 8 + r8, kd * 2 + (mi & 1)));
                        mma16816<bf16>(pt[2 * np], kf, t4[0], t4[1]);
                        mma16816<bf16>(pt[2 * np + 1], kf, t4[2], t4[3]);
                    }
                }
                ragr_attn::probs_t<QT>([&](int nt, int e) -> float& { return pt[nt][e]; }, ls, key0, key1, vis0, vis1,
                                       q0, tq, causal, sl2);
                // dropout: kept weights (bit 4nt+e) enter dV and dS scaled by 1/(1-p)
                const uint32_t kept = drop.thr ? ragr_attn::dropout_bits_t<QT>(drop, ((long long)b * Hq + hq) * Sq * Sk,
                                                                                Sk, key0, key1, q0, tq)
                                               : ~0u;
                auto zd = [&](float x, int nt, int e) {
                    return drop.thr ? ((kept >> (4 * nt + e)) & 1 ? x * drop.keep : 0.0f) : x;
                };

                // dV += Pᵀ·dO ; dPᵀ = V·dOᵀ
                float dpt[QT][4];
#pragma unroll
                for (int i = 0; i < QT; i++) dpt[i][0] = dpt[i][1] = dpt[i][2] = dpt[i][3] = 0.0f;
#pragma unroll
                for (int kq = 0; kq < QK; kq++) {
                    uint32_t pa[4];
                    pa[0] = pack2<bf16>(zd(pt[2 * kq][0], 2 * kq, 0), zd(pt[2 * kq][1], 2 * kq, 1));
                    pa[1] = pack2<bf16>(zd(pt[2 * kq][2], 2 * kq, 2), zd(pt[2 * kq][3], 2 * kq, 3));
                    pa[2] = pack2<bf16>(zd(pt[2 * kq + 1][0], 2 * kq + 1, 0), zd(pt[2 * kq + 1][1], 2 * kq + 1, 1));
                    pa[3] = pack2<bf16>(zd(pt[2 * kq + 1][2], 2 * kq + 1, 2), zd(pt[2 * kq + 1][3], 2 * kq + 1, 3));
#pragma unroll
                    for (int dp = 0; dp < DT / 2; dp++) {
                        uint32_t t4[4];
                        ldsm_x4_t(t4, dOs + toff<D>(kq * 16 + (mi & 1) * 8 + r8, dp * 2 + (mi >> 1)));
                        mma16816<bf16>(dv[2 * dp], pa, t4[0], t4[1]);
                        mma16816<bf16>(dv[2 * dp + 1], pa, t4[2], t4[3]);
                    }
                }
#pragma unroll
                for (int kd = 0; kd < KD; kd++) {
                    uint32_t vf[4];
                    ldsm_x4(vf, Vs + toff<D>(warp * 16 + (lane & 15), kd * 2 + (lane >> 4)));
#pragma unroll
                    for (int np = 0; np < QT / 2; np++) {
                        uint32_t t4[4];
                        ldsm_x4(t4, dOs + toff<D>(np * 16 + (mi >> 1) * 8 + r8, kd * 2 + (mi & 1)));
                        mma16816<bf16>(dpt[2 * np], vf, t4[0], t4[1]);
                        mma16816<bf16>(dpt[2 * np + 1], vf, t4[2], t4[3]);
                    }
                }
                // dSᵀ = Pᵀ ∘ (dPᵀ − delta) (kept in pt).
#pragma unroll
                for (int nt = 0; nt < QT; nt++)
#pragma unroll
                    for (int e = 0; e < 4; e++) pt[nt][e] = pt[nt][e] * (zd(dpt[nt][e], nt, e) - dl[nt][e & 1]);

                // dK += dSᵀ·Q
#pragma unroll
                for (int kq = 0; kq < QK; kq++) {
                    uint32_t sa[4];
                    sa[0] = pack2<bf16>(pt[2 * kq][0], pt[2 * kq][1]);
                    sa[1] = pack2<bf16>(pt[2 * kq][2], pt[2 * kq][3]);
                    sa[2] = pack2<bf16>(pt[2 * kq + 1][0], pt[2 * kq + 1][1]);
                    sa[3] = pack2<bf16>(pt[2 * kq + 1][2], pt[2 * kq + 1][3]);
#pragma unroll
                    for (int dp = 0; dp < DT / 2; dp++) {
                        uint32_t t4[4];
                        ldsm_x4_t(t4, Qs + toff<D>(kq * 16 + (mi & 1) * 8 + r8, dp * 2 + (mi >> 1)));
                        mma16816<bf16>(dk[2 * dp], sa, t4[0], t4[1]);
                        mma16816<bf16>(dk[2 * dp + 1], sa, t4[2], t4[3]);
                    }
                }

                __syncthreads();  // every warp is done reading dO: its tile becomes dSᵀ
#pragma unroll
                for (int nt = 0; nt < QT; nt++)
#pragma unroll
                    for (int h = 0; h < 2; h++) {
                        const int row = warp * 16 + g + h * 8, col = nt * 8 + tq * 2;
                        *reinterpret_cast<uint32_t*>(dSs + soff<BR>(row, col >> 3) + (col & 7)) =
                            pack2<bf16>(pt[nt][2 * h], pt[nt][2 * h + 1]);
                    }
                __syncthreads();

                // dQ (BR × D) += dS·K: warp w takes query tile w % QK and the
                // 64-wide d half w / QK (D = 64: one half, QK = 4 warps).
                {
                    const int mt = warp % QK, dh = warp / QK;
                    float dq[8][4];
#pragma unroll
                    for (int i = 0; i < 8; i++) dq[i][0] = dq[i][1] = dq[i][2] = dq[i][3] = 0.0f;
#pragma unroll
                    for (int kk = 0; kk < BC / 16; kk++) {
                        uint32_t af[4];
                        ldsm_x4_t(af, dSs + soff<BR>(kk * 16 + (mi >> 1) * 8 + r8, mt * 2 + (mi & 1)));
#pragma unroll
                        for (int dp = 0; dp < 4; dp++) {
                            uint32_t t4[4];
                            ldsm_x4_t(t4, Ks + toff<D>(kk * 16 + (mi & 1) * 8 + r8, dh * 8 + dp * 2 + (mi >> 1)));
                            mma16816<bf16>(dq[2 * dp], af, t4[0], t4[1]);
                            mma16816<bf16>(dq[2 * dp + 1], af, t4[2], t4[3]);
                        }
                    }
#pragma unroll
                    for (int h = 0; h < 2; h++) {
                        const int q = q0 + mt * 16 + g + h * 8;
                        if (q >= Sq) continue;
                        float* dst = dqacc + (((long long)b * Sq + q) * Hq + hq) * D + dh * 64 + tq * 2;
#pragma unroll
                        for (int dt = 0; dt < 8; dt++) {
                            atomicAdd(dst + dt * 8, dq[dt][2 * h]);
                            atomicAdd(dst + dt * 8 + 1, dq[dt][2 * h + 1]);
                        }
                    }
                }
                __syncthreads();  // Qs and dSs are rewritten two (PF) or one iteration later
            }
        }
        cp_async_wait<0>();
    }

    // dK (scaled) and dV for the keys that exist; invisible keys get 0.
    ragr_attn::write_dkdv<D, TO>([&](int dt, int e) -> float& { return dk[dt][e]; },
                                 [&](int dt, int e) -> float& { return dv[dt][e]; }, dK, dV, key0, tq, b, hk, Hkv, Sk,
                                 scale);
}

}  // namespace

// ---------------------------------------------------------------------------
// Exported kernels

#define RAGR_ATTN_FWD(DD, NAME, TO)                                                                                 \
    extern "C" __global__ void __launch_bounds__(AT_THREADS) ragr_attn_fwd_d##DD##_##NAME(                           \
        TO* __restrict__ O, float* __restrict__ lse, const bf16* __restrict__ Q, const bf16* __restrict__ K,        \
        const bf16* __restrict__ V, const int* __restrict__ kv_len, const unsigned char* __restrict__ key_mask,     \
        int B, int Hq, int Hkv, int Sq, int Sk, long long q_sb, long long q_ss, long long q_sh, long long k_sb,     \
        long long k_ss, long long k_sh, long long v_sb, long long v_ss, long long v_sh, float scale, int causal, \
        unsigned long long drop_key, unsigned long long drop_thr, float drop_keep) {  \
        attn_fwd<DD, TO>(O, lse, Q, K, V, kv_len, key_mask, B, Hq, Hkv, Sq, Sk, q_sb, q_ss, q_sh, k_sb, k_ss, k_sh, \
                         v_sb, v_ss, v_sh, scale, causal, drop_key, drop_thr, drop_keep);                                                          \
    }

RAGR_ATTN_FWD(64, bf16, bf16)
RAGR_ATTN_FWD(64, bf16f32, float)
RAGR_ATTN_FWD(128, bf16, bf16)
RAGR_ATTN_FWD(128, bf16f32, float)

#define RAGR_ATTN_BWD(DD, NAME, TO)                                                                                  \
    extern "C" __global__ void __launch_bounds__(AT_THREADS) ragr_attn_bwd_d##DD##_##NAME(                            \
        TO* __restrict__ dK, TO* __restrict__ dV, float* __restrict__ dqacc, const bf16* __restrict__ Q,             \
        const bf16* __restrict__ K, const bf16* __restrict__ V, const TO* __restrict__ dO,                           \
        const float* __restrict__ lse, const float* __restrict__ delta, const int* __restrict__ kv_len,              \
        const unsigned char* __restrict__ key_mask, int B, int Hq, int Hkv, int Sq, int Sk, long long q_sb,          \
        long long q_ss, long long q_sh, long long k_sb, long long k_ss, long long k_sh, long long v_sb,              \
        long long v_ss, long long v_sh, float scale, int causal, \
        unsigned long long drop_key, unsigned long long drop_thr, float drop_keep) {                                                   \
        attn_bwd<DD, TO>(dK, dV, dqacc, Q, K, V, dO, lse, delta, kv_len, key_mask, B, Hq, Hkv, Sq, Sk, q_sb, q_ss,   \
                         q_sh, k_sb, k_ss, k_sh, v_sb, v_ss, v_sh, scale, causal, drop_key, drop_thr, drop_keep);                                   \
    }

RAGR_ATTN_BWD(64, bf16, bf16)
RAGR_ATTN_BWD(64, bf16f32, float)
RAGR_ATTN_BWD(128, bf16, bf16)
RAGR_ATTN_BWD(128, bf16f32, float)

extern "C" __global__ void __launch_bounds__(AT_THREADS)
    ragr_attn_bwd_pre_bf16(float* __restrict__ delta, float* __restrict__ dqacc, const bf16* __restrict__ O,
                           const bf16* __restrict__ dO, int B, int Sq, int Hq, int D) {
    attn_bwd_pre<bf16>(delta, dqacc, O, dO, B, Sq, Hq, D);
}

extern "C" __global__ void __launch_bounds__(AT_THREADS)
    ragr_attn_bwd_pre_f32(float* __restrict__ delta, float* __restrict__ dqacc, const float* __restrict__ O,
                          const float* __restrict__ dO, int B, int Sq, int Hq, int D) {
    attn_bwd_pre<float>(delta, dqacc, O, dO, B, Sq, Hq, D);
}

extern "C" __global__ void __launch_bounds__(256)
    ragr_attn_bwd_post_bf16(bf16* __restrict__ dQ, const float* __restrict__ dqacc, long long n, float scale) {
    attn_bwd_post<bf16>(dQ, dqacc, n, scale);
}

extern "C" __global__ void __launch_bounds__(256)
    ragr_attn_bwd_post_f32(float* __restrict__ dQ, const float* __restrict__ dqacc, long long n, float scale) {
    attn_bwd_post<float>(dQ, dqacc, n, scale);
}
