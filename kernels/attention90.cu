// attention90.cu — fused (flash-style) attention forward for Hopper: the
// products on wgmma, the rest as attention.cu's forward.
//
// Target: sm_90a
// (wgmma exists only on sm_90a: built with nvcc >= 12.3 — `make kernels90`,
// scripts/gpu-run.sh stage 0 — for compute capability 9.0 devices; the CI's
// CUDA 11.8 cannot compile it, the host emulator checks it:
// kernels/emu/check_attn90.cpp.)
//
// Same shapes, semantics, parameters and outputs as attention.cu's
// ragr_attn_fwd_d{64,128}_{bf16,bf16f32} (see its header; the grid and
// block differ, below): Q [B,Sq,Hq,D],
// K/V [B,Sk,Hkv,D] bf16 with (batch, seq, head) strides, O [B,Sq,Hq,D]
// contiguous bf16 or fp32, lse [B,Hq,Sq] fp32 (natural log; +inf and O = 0 for
// a query that sees no key), key lengths, a uint8 key mask, top-left causal
// masking, grouped-query heads, probability dropout with the CPU's mask.
//
// Kernels: ragr_attn90_fwd_d{64,128}_{bf16,bf16f32}(O, lse, Q, K, V, kv_len,
//     key_mask, B, Hq, Hkv, Sq, Sk, q_sb, q_ss, q_sh, k_sb, k_ss, k_sh, v_sb,
//     v_ss, v_sh, scale, causal, drop_key, drop_thr, drop_keep)
//   grid (ceil(Sq/128), Hq, B), block 256 (two warpgroups of 64 query rows
//   each, sharing every K/V tile; warp w of a warpgroup owns its rows
//   16w..16w+15), dynamic shared memory 50176 bytes at D = 64, 99328 at
//   D = 128 (opt-in): a Q tile per warpgroup and two buffers each of K and V
//   (64 rows), in 128-byte-swizzled atoms of 64 rows × 64 columns
//   (sm90.cuh), plus 1 KiB for the alignment.
//   ragr_attn90_bwd_d64_{bf16,bf16f32}(dK, dV, dQacc, Q, K, V, dO, lse, delta,
//     kv_len, key_mask, B, Hq, Hkv, Sq, Sk, strides..., scale, causal,
//     drop_key, drop_thr, drop_keep)
//   the main backward kernel at D = 64, with attention.cu's
//   ragr_attn_bwd_d64_* parameters, grid (ceil(Sk/64), Hkv, B) and
//   semantics (attention.cu's pre and post kernels run around it, as for the
//   mma.sync one); block 128, dynamic shared memory 58368 bytes: K, V, two
//   Q and two dO buffers, the dSᵀ tile. D = 128 stays on mma.sync (its dK
//   and dV accumulators alone would take 128 registers per thread here).
// Forward, per key tile of 64: the next tile's K and V load (cp.async, every thread)
// into the other buffers while this one is computed; S = Q·Kᵀ is D/16
// m64n64k16 wgmma with both operands from shared memory (K-major), the
// online softmax (exp2 units) runs on the accumulators in registers, P is
// rounded to bf16 and converted in registers to the A operand of O += P·V,
// four m64nDk16 wgmma with V (N-major) from shared memory. Causal blocks
// stop at the diagonal, the heaviest launch first.
//
// Backward, per (query head of the group, query block of 64) with the
// block's 64 keys resident: Sᵀ = K·Qᵀ and dPᵀ = V·dOᵀ (m64n64k16, both
// operands from shared memory, K-major), Pᵀ recomputed from lse, dSᵀ =
// Pᵀ∘(dPᵀ − delta); dV += Pᵀ·dO and dK += dSᵀ·Q with Pᵀ / dSᵀ as register A
// operands and dO / Q N-major from shared memory; dSᵀ stored to shared
// memory (bf16) and dQ = dS·K with dS read M-major from it, added to the
// fp32 dQacc with atomics. The next block's Q and dO load while this one is
// computed.
//
// Benchmark: `ragr bench kernels` (rows attn90_*), see kernels/NOTES.md.
#include <math_constants.h>

#include "attn_softmax.cuh"
#include "sm90.cuh"

using namespace ragr_mma;
using namespace ragr_sm90;
typedef __nv_bfloat16 bf16;

namespace {

// A warpgroup works on 64 rows (queries in the forward, keys in the
// backward); the forward's block has two (128 query rows sharing each K/V
// tile), the backward's one.
constexpr int A9_THREADS = 128, A9_ROWS = 64, A9_FWD_WGS = 2, A9_FWD_THREADS = A9_FWD_WGS * A9_THREADS;

// The forward's shared memory at head size D: 6 tiles of 64 rows × D (Q for
// each warpgroup, K×2, V×2).
template <int D>
struct A9 {
    static constexpr int TILE = A9_ROWS * D * 2;  // bytes
    static constexpr int SMEM = (A9_FWD_WGS + 4) * TILE + 1024;
};
static_assert(A9<64>::SMEM == 50176 && A9<128>::SMEM == 99328, "attention90: the launcher's shared memory sizes");

// Byte offset of 16-byte chunk c of row r in a tile: 64-column atoms 8 KiB
// apart, 128-byte rows, the 128-byte swizzle (chunk ^= r % 8).
__device__ __forceinline__ int a9_off(int r, int c) { return (c >> 3) * 8192 + r * 128 + (((c & 7) ^ (r & 7)) << 4); }

// Loads rows s0..s0+63 (row stride ss elements; rows >= S zero-filled) of a
// [*][D] bf16 matrix into a tile (cp.async, all THREADS threads).
template <int D, int THREADS = A9_THREADS>
__device__ __forceinline__ void a9_load(uint8_t* tile, const bf16* __restrict__ base, long long ss, int s0, int S) {
    constexpr int CH = D / 8, TOTAL = A9_ROWS * CH;
#pragma unroll
    for (int i = 0; i < TOTAL / THREADS; i++) {
        const int q = threadIdx.x + i * THREADS, r = q / CH, c = q % CH;
        const bool ok = s0 + r < S;
        cp_async16(tile + a9_off(r, c), ok ? base + (long long)(s0 + r) * ss + c * 8 : base, ok ? 16 : 0);
    }
}

// The A operand (mma.m16n8k16 A-fragment layout) of k16 slice kk from a
// 64-column accumulator in registers, element i (flat: n8 block i/4,
// element i%4) given by v(i): n8 blocks 2kk and 2kk+1, rounded to bf16.
template <typename F>
__device__ __forceinline__ void a9_frag(F v, int kk, uint32_t (&a)[4]) {
    a[0] = pack2<bf16>(v(8 * kk + 0), v(8 * kk + 1));
    a[1] = pack2<bf16>(v(8 * kk + 2), v(8 * kk + 3));
    a[2] = pack2<bf16>(v(8 * kk + 4), v(8 * kk + 5));
    a[3] = pack2<bf16>(v(8 * kk + 6), v(8 * kk + 7));
}

// O += P·V for one k16 slice of keys: D = 64 or 128 columns.
template <int D>
__device__ __forceinline__ void a9_pv(float (&o)[D / 2], const uint32_t (&pa)[4], uint64_t db) {
    if constexpr (D == 64) {
        wgmma_rs_n64<1>(o, pa, db, (bf16*)nullptr);
    } else {
        wgmma_rs_n128<1>(o, pa, db, (bf16*)nullptr);
    }
}

template <int D, typename TO>
__device__ __forceinline__ void attn90_fwd(TO* __restrict__ O, float* __restrict__ lse, const bf16* __restrict__ Q,
                                           const bf16* __restrict__ K, const bf16* __restrict__ V,
                                           const int* __restrict__ kv_len, const unsigned char* __restrict__ key_mask,
                                           int B, int Hq, int Hkv, int Sq, int Sk, long long q_sb, long long q_ss,
                                           long long q_sh, long long k_sb, long long k_ss, long long k_sh,
                                           long long v_sb, long long v_ss, long long v_sh, float scale, int causal,
        unsigned long long drop_key, unsigned long long drop_thr, float drop_keep) {
    constexpr int BC = 64, NT = BC / 8, DT = D / 8, T = A9<D>::TILE;
    RAGR_SMEM_1024(smem);
    // tiles: Q, K buffers 0/1, V buffers 0/1 (no pointer arrays: a run-time
    // index would put them in local memory)
    // tiles: Q of warpgroup 0 and 1, K buffers 0/1, V buffers 0/1
    constexpr int KT = A9_FWD_WGS;
    auto Ks = [&](int i) { return smem + (KT + i) * T; };
    auto Vs = [&](int i) { return smem + (KT + 2 + i) * T; };

    const int lane = threadIdx.x & 31, wg = threadIdx.x / A9_THREADS, warp = (threadIdx.x % A9_THREADS) >> 5;
    const int g = lane >> 2, tq = lane & 3;
    const int qb = gridDim.x - 1 - blockIdx.x;  // longest causal rows first
    const int hq = blockIdx.y, b = blockIdx.z, hk = hq / (Hq / Hkv);
    const int q0 = qb * A9_ROWS * A9_FWD_WGS;    // the block's rows; this warpgroup's from q0w
    const int q0w = q0 + wg * A9_ROWS;
    uint8_t* Qs = smem + wg * T;
    const float sl2 = scale * ragr_attn::LOG2E;
    const ragr_attn::Drop drop{drop_key, drop_thr, drop_keep};

    const bf16* Qb = Q + b * q_sb + hq * q_sh;
    const bf16* Kb = K + b * k_sb + hk * k_sh;
    const bf16* Vb = V + b * v_sb + hk * v_sh;

    const int kend = kv_len ? min(max(kv_len[b], 0), Sk) : Sk;
    const int kvis = causal ? min(kend, q0 + A9_ROWS * A9_FWD_WGS) : kend;  // keys any row of this block may see
    const int nkb = (kvis + BC - 1) / BC;

#pragma unroll
    for (int w = 0; w < A9_FWD_WGS; w++) a9_load<D, A9_FWD_THREADS>(smem + w * T, Qb, q_ss, q0 + w * A9_ROWS, Sq);
    if (nkb > 0) {
        a9_load<D, A9_FWD_THREADS>(Ks(0), Kb, k_ss, 0, Sk);
        a9_load<D, A9_FWD_THREADS>(Vs(0), Vb, v_ss, 0, Sk);
    }
    cp_async_commit();

    float o[D / 2];
#pragma unroll
    for (int i = 0; i < D / 2; i++) o[i] = 0.0f;
    float mrow[2] = {-CUDART_INF_F, -CUDART_INF_F}, lrow[2] = {0.0f, 0.0f};
    const int row0 = q0w + warp * 16 + g;  // this thread's rows: row0, row0 + 8
    const uint32_t qs = smem_u32(Qs);

    for (int j = 0; j < nkb; j++) {
        const int k0 = j * BC, buf = j & 1;
        // Tile j (and Q) landed: make the cp.async writes visible to wgmma
        // (async proxy), and let every thread pass iteration j-1 before its
        // buffers are refilled.
        cp_async_wait<0>();
        fence_proxy_async();
        __syncthreads();
        if (j + 1 < nkb) {
            a9_load<D, A9_FWD_THREADS>(Ks(buf ^ 1), Kb, k_ss, k0 + BC, Sk);
            a9_load<D, A9_FWD_THREADS>(Vs(buf ^ 1), Vb, v_ss, k0 + BC, Sk);
        }
        cp_async_commit();

        // S = Q·Kᵀ (64 queries × 64 keys), K-major operands: k16 step kd at
        // atom kd/4, 32 bytes per step within the 128-byte rows.
        float s[NT * 4];
#pragma unroll
        for (int i = 0; i < NT * 4; i++) s[i] = 0.0f;
        const uint32_t ks = smem_u32(Ks(buf));
        wgmma_fence(s);
#pragma unroll
        for (int kd = 0; kd < D / 16; kd++) {
            const uint32_t off = (kd >> 2) * 8192 + (kd & 3) * 32;
            wgmma_n64<0, 0>(s, smem_desc(qs + off, 16, 1024), smem_desc(ks + off, 16, 1024), (bf16*)nullptr);
        }
        wgmma_commit();
        wgmma_wait<0>(s);

        // Scale, mask, online softmax (attn_softmax.cuh); s[4nt+e] is row
        // row0 + 8(e/2), key k0 + 8nt + 2tq + e%2.
        ragr_attn::softmax_tile<NT, DT>([&](int nt, int e) -> float& { return s[4 * nt + e]; },
                                        [&](int dt, int e) -> float& { return o[4 * dt + e]; }, mrow, lrow, k0, q0w, row0,
                                        tq, b, Sk, kend, causal, key_mask, sl2);
        if (drop.thr) {  // drop and scale P (the sum above keeps every weight, as softmax then dropout)
            const long long pb = ((long long)b * Hq + hq) * Sq;
            ragr_attn::dropout_fwd<NT>([&](int nt, int e) -> float& { return s[4 * nt + e]; }, drop, (pb + row0) * Sk,
                                       (pb + row0 + 8) * Sk, k0, tq);
        }

        // O += P·V: P's k16 slice kk is two adjacent n8 accumulator blocks
        // (the A fragment layout); V is N-major: 64-column atoms 8 KiB apart
        // (LBO), 8-key groups 1 KiB apart (SBO), 2 KiB per k16 step.
        const uint32_t vs = smem_u32(Vs(buf));
        wgmma_fence(o);
#pragma unroll
        for (int kk = 0; kk < BC / 16; kk++) {
            uint32_t pa[4];
            a9_frag([&](int i) { return s[i]; }, kk, pa);
            a9_pv<D>(o, pa, smem_desc(vs + kk * 2048, 8192, 1024));
        }
        wgmma_commit();
        wgmma_wait<0>(o);
    }
    cp_async_wait<0>();
    ragr_attn::write_out<D, TO>([&](int dt, int e) -> float& { return o[4 * dt + e]; }, mrow, lrow, O, lse, row0, tq, b,
                                hq, Hq, Sq);
}

// Loads rows s0..s0+63 of an fp32 [*][64] matrix (row stride ss) into a tile,
// rounding to bf16 (plain loads and stores: the caller fences them for
// wgmma).
__device__ __forceinline__ void a9_load_f32(uint8_t* tile, const float* __restrict__ base, long long ss, int s0,
                                            int S) {
    constexpr int CH = 8, TOTAL = A9_ROWS * CH;
#pragma unroll
    for (int i = 0; i < TOTAL / A9_THREADS; i++) {
        const int q = threadIdx.x + i * A9_THREADS, r = q / CH, c = q % CH;
        uint4 u = make_uint4(0, 0, 0, 0);
        if (s0 + r < S) {
            const float* p = base + (long long)(s0 + r) * ss + c * 8;
            const float4 x0 = *reinterpret_cast<const float4*>(p), x1 = *reinterpret_cast<const float4*>(p + 4);
            u.x = pack2<bf16>(x0.x, x0.y), u.y = pack2<bf16>(x0.z, x0.w);
            u.z = pack2<bf16>(x1.x, x1.y), u.w = pack2<bf16>(x1.z, x1.w);
        }
        *reinterpret_cast<uint4*>(tile + a9_off(r, c)) = u;
    }
}

__device__ __forceinline__ void a9_load_do(uint8_t* tile, const bf16* __restrict__ base, long long ss, int s0, int S) {
    a9_load<64>(tile, base, ss, s0, S);
}
__device__ __forceinline__ void a9_load_do(uint8_t* tile, const float* __restrict__ base, long long ss, int s0,
                                           int S) {
    a9_load_f32(tile, base, ss, s0, S);
}

constexpr int A9_BWD_SMEM = 7 * 8192 + 1024;
static_assert(A9_BWD_SMEM == 58368, "attention90: the launcher's shared memory size for the backward");

template <typename TO>
__device__ __forceinline__ void attn90_bwd(TO* __restrict__ dK, TO* __restrict__ dV, float* __restrict__ dqacc,
                                           const bf16* __restrict__ Q, const bf16* __restrict__ K,
                                           const bf16* __restrict__ V, const TO* __restrict__ dO,
                                           const float* __restrict__ lse, const float* __restrict__ delta,
                                           const int* __restrict__ kv_len, const unsigned char* __restrict__ key_mask,
                                           int B, int Hq, int Hkv, int Sq, int Sk, long long q_sb, long long q_ss,
                                           long long q_sh, long long k_sb, long long k_ss, long long k_sh,
                                           long long v_sb, long long v_ss, long long v_sh, float scale, int causal,
        unsigned long long drop_key, unsigned long long drop_thr, float drop_keep) {
    constexpr int D = 64, BC = 64, BR = 64, NT = 8;
    RAGR_SMEM_1024(smem);
    // tiles of 8 KiB: K, V, Q buffers 0/1, dO buffers 0/1, dSᵀ
    uint8_t* Ks = smem;
    uint8_t* Vs = smem + 8192;
    auto Qb = [&](int i) { return smem + (2 + i) * 8192; };
    auto dOb = [&](int i) { return smem + (4 + i) * 8192; };
    uint8_t* dSs = smem + 6 * 8192;

    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int g = lane >> 2, tq = lane & 3;
    const int kb = blockIdx.x, hk = blockIdx.y, b = blockIdx.z, G = Hq / Hkv;
    const int k0 = kb * BC;
    const float sl2 = scale * ragr_attn::LOG2E;
    const ragr_attn::Drop drop{drop_key, drop_thr, drop_keep};
    const int kend = kv_len ? min(max(kv_len[b], 0), Sk) : Sk;

    float dk[D / 2], dv[D / 2];
#pragma unroll
    for (int i = 0; i < D / 2; i++) dk[i] = dv[i] = 0.0f;

    // This thread's two key rows (accumulator rows g, g+8 of its warp's 16)
    // and whether any query may see them.
    const int key0 = k0 + warp * 16 + g, key1 = key0 + 8;
    bool vis0 = key0 < kend, vis1 = key1 < kend;
    if (key_mask) {
        if (vis0) vis0 = key_mask[(long long)b * Sk + key0] != 0;
        if (vis1) vis1 = key_mask[(long long)b * Sk + key1] != 0;
    }

    if (k0 < kend) {
        a9_load<D>(Ks, K + b * k_sb + hk * k_sh, k_ss, k0, Sk);
        a9_load<D>(Vs, V + b * v_sb + hk * v_sh, v_ss, k0, Sk);
        const int qstart = causal ? k0 / BR : 0;
        const int nper = (Sq + BR - 1) / BR - qstart;  // query blocks per head
        const int nit = nper > 0 ? G * nper : 0;       // (query head, query block) pairs
        auto load_it = [&](int it, int buf) {
            const int hq = hk * G + it / nper, q0 = (qstart + it % nper) * BR;
            a9_load<D>(Qb(buf), Q + b * q_sb + hq * q_sh, q_ss, q0, Sq);
            a9_load_do(dOb(buf), dO + ((long long)b * Sq * Hq + hq) * D, (long long)Hq * D, q0, Sq);
        };
        if (nit > 0) load_it(0, 0);
        cp_async_commit();
        const uint32_t ks = smem_u32(Ks), vs = smem_u32(Vs), dss = smem_u32(dSs);

        for (int it = 0; it < nit; it++) {
            const int hq = hk * G + it / nper, q0 = (qstart + it % nper) * BR;
            const int cur = it & 1;
            const float* lseb = lse + ((long long)b * Hq + hq) * Sq;
            const float* delb = delta + ((long long)b * Hq + hq) * Sq;

            // This iteration's tiles (and K, V) landed; every thread is past
            // iteration it-1, whose buffers the prefetch below refills.
            cp_async_wait<0>();
            fence_proxy_async();
            __syncthreads();
            if (it + 1 < nit) load_it(it + 1, cur ^ 1);
            cp_async_commit();

            // lse and delta of this thread's query columns 8nt + 2tq + e.
            float ls[NT][2], dl[NT][2];
            ragr_attn::load_lse_delta<NT>(ls, dl, lseb, delb, q0, tq, Sq);

            // Sᵀ = K·Qᵀ and dPᵀ = V·dOᵀ (64 keys × 64 queries each).
            const uint32_t qs = smem_u32(Qb(cur)), dos = smem_u32(dOb(cur));
            float pt[32], dpt[32];
#pragma unroll
            for (int i = 0; i < 32; i++) pt[i] = dpt[i] = 0.0f;
            wgmma_fence(pt);
            wgmma_fence(dpt);
#pragma unroll
            for (int kd = 0; kd < D / 16; kd++)
                wgmma_n64<0, 0>(pt, smem_desc(ks + kd * 32, 16, 1024), smem_desc(qs + kd * 32, 16, 1024), (bf16*)nullptr);
#pragma unroll
            for (int kd = 0; kd < D / 16; kd++)
                wgmma_n64<0, 0>(dpt, smem_desc(vs + kd * 32, 16, 1024), smem_desc(dos + kd * 32, 16, 1024),
                                (bf16*)nullptr);
            wgmma_commit();
            wgmma_wait<0>(pt);
            fence_acc(dpt);

            // Pᵀ (0 where the key is invisible to the query, or the query has
            // no visible key: lse = +inf), then dSᵀ = Pᵀ∘(dPᵀ − delta).
            ragr_attn::probs_t<NT>([&](int nt, int e) -> float& { return pt[4 * nt + e]; }, ls, key0, key1, vis0, vis1, q0,
                                   tq, causal, sl2);
            // dropout: kept weights (bit i) enter dV and dS scaled by 1/(1-p)
            const uint32_t kept = drop.thr ? ragr_attn::dropout_bits_t<NT>(drop, ((long long)b * Hq + hq) * Sq * Sk, Sk,
                                                                            key0, key1, q0, tq)
                                           : ~0u;
            auto zd = [&](float x, int i) { return drop.thr ? ((kept >> i) & 1 ? x * drop.keep : 0.0f) : x; };
            // dV += Pᵀ·dO and dK += dSᵀ·Q: A from registers (k16 slice kq =
            // queries 16kq..), B N-major (dO, Q: [query][d], 2 KiB per k16).
            wgmma_fence(dv);
            wgmma_fence(dk);
#pragma unroll
            for (int kq = 0; kq < BR / 16; kq++) {
                uint32_t pa[4];
                a9_frag([&](int i) { return zd(pt[i], i); }, kq, pa);
                wgmma_rs_n64<1>(dv, pa, smem_desc(dos + kq * 2048, 8192, 1024), (bf16*)nullptr);
            }
#pragma unroll
            for (int nt = 0; nt < NT; nt++)
#pragma unroll
                for (int e = 0; e < 4; e++) pt[4 * nt + e] *= zd(dpt[4 * nt + e], 4 * nt + e) - dl[nt][e & 1];
#pragma unroll
            for (int kq = 0; kq < BR / 16; kq++) {
                uint32_t sa[4];
                a9_frag([&](int i) { return pt[i]; }, kq, sa);
                wgmma_rs_n64<1>(dk, sa, smem_desc(qs + kq * 2048, 8192, 1024), (bf16*)nullptr);
            }
            wgmma_commit();

            // dSᵀ to shared memory (bf16, [key][query] rows of 128 bytes,
            // swizzled), fenced for the async proxy.
#pragma unroll
            for (int nt = 0; nt < NT; nt++)
#pragma unroll
                for (int h = 0; h < 2; h++) {
                    const int row = warp * 16 + g + h * 8, col = nt * 8 + tq * 2;
                    *reinterpret_cast<uint32_t*>(dSs + a9_off(row, col >> 3) + (col & 7) * 2) =
                        pack2<bf16>(pt[4 * nt + 2 * h], pt[4 * nt + 2 * h + 1]);
                }
            fence_proxy_async();
            __syncthreads();

            // dQ (64 queries × 64) = dS·K: dS M-major from the dSᵀ tile, K
            // N-major ([key][d]); 2 KiB per k16 slice of keys.
            float dq[32];
#pragma unroll
            for (int i = 0; i < 32; i++) dq[i] = 0.0f;
            wgmma_fence(dq);
#pragma unroll
            for (int kk = 0; kk < BC / 16; kk++)
                wgmma_n64<1, 1>(dq, smem_desc(dss + kk * 2048, 8192, 1024), smem_desc(ks + kk * 2048, 8192, 1024),
                                (bf16*)nullptr);
            wgmma_commit();
            wgmma_wait<0>(dq);
            fence_acc(dv);
            fence_acc(dk);
#pragma unroll
            for (int h = 0; h < 2; h++) {
                const int q = q0 + warp * 16 + g + h * 8;
                if (q >= Sq) continue;
                float* dst = dqacc + (((long long)b * Sq + q) * Hq + hq) * D + tq * 2;
#pragma unroll
                for (int dt = 0; dt < D / 8; dt++) {
                    atomicAdd(dst + dt * 8, dq[4 * dt + 2 * h]);
                    atomicAdd(dst + dt * 8 + 1, dq[4 * dt + 2 * h + 1]);
                }
            }
        }
        cp_async_wait<0>();
    }

    // dK (scaled) and dV for the keys that exist; invisible keys get 0.
    ragr_attn::write_dkdv<D, TO>([&](int dt, int e) -> float& { return dk[4 * dt + e]; },
                                 [&](int dt, int e) -> float& { return dv[4 * dt + e]; }, dK, dV, key0, tq, b, hk, Hkv,
                                 Sk, scale);
}

}  // namespace

#define RAGR_ATTN90_FWD(D, NAME, TO)                                                                                 \
    extern "C" __global__ void __launch_bounds__(A9_FWD_THREADS) ragr_attn90_fwd_d##D##_##NAME(                          \
        TO* __restrict__ O, float* __restrict__ lse, const bf16* __restrict__ Q, const bf16* __restrict__ K,         \
        const bf16* __restrict__ V, const int* __restrict__ kv_len, const unsigned char* __restrict__ key_mask, int B, \
        int Hq, int Hkv, int Sq, int Sk, long long q_sb, long long q_ss, long long q_sh, long long k_sb,              \
        long long k_ss, long long k_sh, long long v_sb, long long v_ss, long long v_sh, float scale, int causal, \
        unsigned long long drop_key, unsigned long long drop_thr, float drop_keep) {    \
        attn90_fwd<D, TO>(O, lse, Q, K, V, kv_len, key_mask, B, Hq, Hkv, Sq, Sk, q_sb, q_ss, q_sh, k_sb, k_ss, k_sh,  \
                          v_sb, v_ss, v_sh, scale, causal, drop_key, drop_thr, drop_keep);                                                          \
    }

RAGR_ATTN90_FWD(64, bf16, bf16)
RAGR_ATTN90_FWD(64, bf16f32, float)
RAGR_ATTN90_FWD(128, bf16, bf16)
RAGR_ATTN90_FWD(128, bf16f32, float)

#define RAGR_ATTN90_BWD(NAME, TO)                                                                                  \
    extern "C" __global__ void __launch_bounds__(A9_THREADS) ragr_attn90_bwd_d64_##NAME(                           \
        TO* __restrict__ dK, TO* __restrict__ dV, float* __restrict__ dqacc, const bf16* __restrict__ Q,           \
        const bf16* __restrict__ K, const bf16* __restrict__ V, const TO* __restrict__ dO,                         \
        const float* __restrict__ lse, const float* __restrict__ delta, const int* __restrict__ kv_len,            \
        const unsigned char* __restrict__ key_mask, int B, int Hq, int Hkv, int Sq, int Sk, long long q_sb,        \
        long long q_ss, long long q_sh, long long k_sb, long long k_ss, long long k_sh, long long v_sb,            \
        long long v_ss, long long v_sh, float scale, int causal, \
        unsigned long long drop_key, unsigned long long drop_thr, float drop_keep) {                                                 \
        attn90_bwd<TO>(dK, dV, dqacc, Q, K, V, dO, lse, delta, kv_len, key_mask, B, Hq, Hkv, Sq, Sk, q_sb, q_ss,   \
                       q_sh, k_sb, k_ss, k_sh, v_sb, v_ss, v_sh, scale, causal, drop_key, drop_thr, drop_keep);                                   \
    }

RAGR_ATTN90_BWD(bf16, bf16)
RAGR_ATTN90_BWD(bf16f32, float)
