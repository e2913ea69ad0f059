// attention90.cu — fused (flash-style) attention forward for Hopper: the
// products on wgmma, the rest as attention.cu's forward.
//
// Target: sm_90a
// (wgmma exists only on sm_90a: built with nvcc >= 12.3 — `make kernels90`,
// scripts/gpu-run.sh stage 0 — for compute capability 9.0 devices; the CI's
// CUDA 11.8 cannot compile it, the host emulator checks it:
// kernels/emu/check_attn90.cpp.)
//
// Same shapes, semantics, parameters, grid and outputs as attention.cu's
// ragr_attn_fwd_d{64,128}_{bf16,bf16f32} (see its header): Q [B,Sq,Hq,D],
// K/V [B,Sk,Hkv,D] bf16 with (batch, seq, head) strides, O [B,Sq,Hq,D]
// contiguous bf16 or fp32, lse [B,Hq,Sq] fp32 (natural log; +inf and O = 0 for
// a query that sees no key), key lengths, a uint8 key mask, top-left causal
// masking, grouped-query heads.
//
// Kernels: ragr_attn90_fwd_d{64,128}_{bf16,bf16f32}(O, lse, Q, K, V, kv_len,
//     key_mask, B, Hq, Hkv, Sq, Sk, q_sb, q_ss, q_sh, k_sb, k_ss, k_sh, v_sb,
//     v_ss, v_sh, scale, causal)
//   grid (ceil(Sq/64), Hq, B), block 128 (one warpgroup: warp w owns query
//   rows 16w..16w+15 of the block's 64), dynamic shared memory 41984 bytes
//   at D = 64, 82944 at D = 128 (opt-in): the Q tile and two buffers each of
//   K and V (64 rows), in 128-byte-swizzled atoms of 64 rows × 64 columns
//   (sm90.cuh), plus 1 KiB for the alignment.
// Per key tile of 64: the next tile's K and V load (cp.async, every thread)
// into the other buffers while this one is computed; S = Q·Kᵀ is D/16
// m64n64k16 wgmma with both operands from shared memory (K-major), the
// online softmax (exp2 units) runs on the accumulators in registers, P is
// rounded to bf16 and converted in registers to the A operand of O += P·V,
// four m64nDk16 wgmma with V (N-major) from shared memory. Causal blocks
// stop at the diagonal, the heaviest launch first.
//
// Benchmark: `ragr bench kernels` (rows attn90_*), see kernels/NOTES.md.
#include <math_constants.h>

#include "sm90.cuh"

using namespace ragr_mma;
using namespace ragr_sm90;
typedef __nv_bfloat16 bf16;

namespace {

constexpr int A9_THREADS = 128, A9_ROWS = 64;
constexpr float A9_LOG2E = 1.4426950408889634f;
constexpr float A9_LN2 = 0.6931471805599453f;

// Shared memory of the D variant: 5 tiles (Q, K×2, V×2) of 64 rows × D.
template <int D>
struct A9 {
    static constexpr int TILE = A9_ROWS * D * 2;  // bytes
    static constexpr int SMEM = 5 * TILE + 1024;
};
static_assert(A9<64>::SMEM == 41984 && A9<128>::SMEM == 82944, "attention90: the launcher's shared memory sizes");

// Byte offset of 16-byte chunk c of row r in a tile: 64-column atoms 8 KiB
// apart, 128-byte rows, the 128-byte swizzle (chunk ^= r % 8).
__device__ __forceinline__ int a9_off(int r, int c) { return (c >> 3) * 8192 + r * 128 + (((c & 7) ^ (r & 7)) << 4); }

// Loads rows s0..s0+63 (row stride ss elements; rows >= S zero-filled) of a
// [*][D] bf16 matrix into a tile (cp.async, all 128 threads).
template <int D>
__device__ __forceinline__ void a9_load(uint8_t* tile, const bf16* __restrict__ base, long long ss, int s0, int S) {
    constexpr int CH = D / 8, TOTAL = A9_ROWS * CH;
#pragma unroll
    for (int i = 0; i < TOTAL / A9_THREADS; i++) {
        const int q = threadIdx.x + i * A9_THREADS, r = q / CH, c = q % CH;
        const bool ok = s0 + r < S;
        cp_async16(tile + a9_off(r, c), ok ? base + (long long)(s0 + r) * ss + c * 8 : base, ok ? 16 : 0);
    }
}

template <typename TO>
__device__ __forceinline__ void a9_store2(TO* p, float x0, float x1);
template <>
__device__ __forceinline__ void a9_store2<float>(float* p, float x0, float x1) {
    *reinterpret_cast<float2*>(p) = make_float2(x0, x1);
}
template <>
__device__ __forceinline__ void a9_store2<bf16>(bf16* p, float x0, float x1) {
    *reinterpret_cast<uint32_t*>(p) = pack2<bf16>(x0, x1);
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
                                           long long v_sb, long long v_ss, long long v_sh, float scale, int causal) {
    constexpr int BC = 64, NT = BC / 8, DT = D / 8, T = A9<D>::TILE;
#ifdef RAGR_EMU
    uint8_t* raw = emu::dyn_smem_base;
#else
    extern __shared__ __align__(16) uint8_t a9_smem_raw[];
    uint8_t* raw = a9_smem_raw;
#endif
    uint8_t* smem = raw + ((1024 - (smem_u32(raw) & 1023)) & 1023);
    // tiles: Q, K buffers 0/1, V buffers 0/1 (no pointer arrays: a run-time
    // index would put them in local memory)
    uint8_t* Qs = smem;
    auto Ks = [&](int i) { return smem + (1 + i) * T; };
    auto Vs = [&](int i) { return smem + (3 + i) * T; };

    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int g = lane >> 2, tq = lane & 3;
    const int qb = gridDim.x - 1 - blockIdx.x;  // longest causal rows first
    const int hq = blockIdx.y, b = blockIdx.z, hk = hq / (Hq / Hkv);
    const int q0 = qb * A9_ROWS;
    const float sl2 = scale * A9_LOG2E;

    const bf16* Qb = Q + b * q_sb + hq * q_sh;
    const bf16* Kb = K + b * k_sb + hk * k_sh;
    const bf16* Vb = V + b * v_sb + hk * v_sh;

    const int kend = kv_len ? min(max(kv_len[b], 0), Sk) : Sk;
    const int kvis = causal ? min(kend, q0 + A9_ROWS) : kend;  // keys any row of this block may see
    const int nkb = (kvis + BC - 1) / BC;

    a9_load<D>(Qs, Qb, q_ss, q0, Sq);
    if (nkb > 0) {
        a9_load<D>(Ks(0), Kb, k_ss, 0, Sk);
        a9_load<D>(Vs(0), Vb, v_ss, 0, Sk);
    }
    cp_async_commit();

    float o[D / 2];
#pragma unroll
    for (int i = 0; i < D / 2; i++) o[i] = 0.0f;
    float mrow[2] = {-CUDART_INF_F, -CUDART_INF_F}, lrow[2] = {0.0f, 0.0f};
    const int row0 = q0 + warp * 16 + g;  // this thread's rows: row0, row0 + 8
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
            a9_load<D>(Ks(buf ^ 1), Kb, k_ss, k0 + BC, Sk);
            a9_load<D>(Vs(buf ^ 1), Vb, v_ss, k0 + BC, Sk);
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

        // Scale to log2 units and mask: s[4nt+e] is row row0 + 8(e/2), key
        // k0 + 8nt + 2tq + e%2.
        const bool need_mask = key_mask != nullptr || k0 + BC > kend || (causal && k0 + BC - 1 > q0);
#pragma unroll
        for (int nt = 0; nt < NT; nt++) {
#pragma unroll
            for (int e = 0; e < 4; e++) {
                float x = s[4 * nt + e] * sl2;
                if (need_mask) {
                    const int col = k0 + nt * 8 + tq * 2 + (e & 1), row = row0 + (e >> 1) * 8;
                    bool vis = col < kend && !(causal && col > row);
                    if (vis && key_mask) vis = key_mask[(long long)b * Sk + col] != 0;
                    if (!vis) x = -CUDART_INF_F;
                }
                s[4 * nt + e] = x;
            }
        }
        // Online softmax, two rows per thread (e < 2: row0, else row0 + 8).
#pragma unroll
        for (int h = 0; h < 2; h++) {
            float mx = -CUDART_INF_F;
#pragma unroll
            for (int nt = 0; nt < NT; nt++) mx = fmaxf(mx, fmaxf(s[4 * nt + 2 * h], s[4 * nt + 2 * h + 1]));
            mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
            mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
            const float mnew = fmaxf(mrow[h], mx);
            const float muse = mnew == -CUDART_INF_F ? 0.0f : mnew;
            const float corr = exp2f(mrow[h] - muse);
            float sum = 0.0f;
#pragma unroll
            for (int nt = 0; nt < NT; nt++) {
                s[4 * nt + 2 * h] = exp2f(s[4 * nt + 2 * h] - muse);
                s[4 * nt + 2 * h + 1] = exp2f(s[4 * nt + 2 * h + 1] - muse);
                sum += s[4 * nt + 2 * h] + s[4 * nt + 2 * h + 1];
            }
            lrow[h] = lrow[h] * corr + sum;
            mrow[h] = mnew;
#pragma unroll
            for (int dt = 0; dt < DT; dt++) o[4 * dt + 2 * h] *= corr, o[4 * dt + 2 * h + 1] *= corr;
        }

        // O += P·V: P's k16 slice kk is two adjacent n8 accumulator blocks
        // (the A fragment layout); V is N-major: 64-column atoms 8 KiB apart
        // (LBO), 8-key groups 1 KiB apart (SBO), 2 KiB per k16 step.
        const uint32_t vs = smem_u32(Vs(buf));
        wgmma_fence(o);
#pragma unroll
        for (int kk = 0; kk < BC / 16; kk++) {
            uint32_t pa[4];
            pa[0] = pack2<bf16>(s[8 * kk + 0], s[8 * kk + 1]);
            pa[1] = pack2<bf16>(s[8 * kk + 2], s[8 * kk + 3]);
            pa[2] = pack2<bf16>(s[8 * kk + 4], s[8 * kk + 5]);
            pa[3] = pack2<bf16>(s[8 * kk + 6], s[8 * kk + 7]);
            a9_pv<D>(o, pa, smem_desc(vs + kk * 2048, 8192, 1024));
        }
        wgmma_commit();
        wgmma_wait<0>(o);
    }
    cp_async_wait<0>();

#pragma unroll
    for (int h = 0; h < 2; h++) {
        float l = lrow[h];
        l += __shfl_xor_sync(0xffffffffu, l, 1);
        l += __shfl_xor_sync(0xffffffffu, l, 2);
        const int row = row0 + h * 8;
        if (row >= Sq) continue;
        const float inv = l > 0.0f ? 1.0f / l : 0.0f;
        TO* orow = O + (((long long)b * Sq + row) * Hq + hq) * D;
#pragma unroll
        for (int dt = 0; dt < DT; dt++)
            a9_store2<TO>(orow + dt * 8 + tq * 2, o[4 * dt + 2 * h] * inv, o[4 * dt + 2 * h + 1] * inv);
        if (tq == 0) lse[((long long)b * Hq + hq) * Sq + row] = l > 0.0f ? (mrow[h] + log2f(l)) * A9_LN2 : CUDART_INF_F;
    }
}

}  // namespace

#define RAGR_ATTN90_FWD(D, NAME, TO)                                                                                 \
    extern "C" __global__ void __launch_bounds__(A9_THREADS) ragr_attn90_fwd_d##D##_##NAME(                          \
        TO* __restrict__ O, float* __restrict__ lse, const bf16* __restrict__ Q, const bf16* __restrict__ K,         \
        const bf16* __restrict__ V, const int* __restrict__ kv_len, const unsigned char* __restrict__ key_mask, int B, \
        int Hq, int Hkv, int Sq, int Sk, long long q_sb, long long q_ss, long long q_sh, long long k_sb,              \
        long long k_ss, long long k_sh, long long v_sb, long long v_ss, long long v_sh, float scale, int causal) {    \
        attn90_fwd<D, TO>(O, lse, Q, K, V, kv_len, key_mask, B, Hq, Hkv, Sq, Sk, q_sb, q_ss, q_sh, k_sb, k_ss, k_sh,  \
                          v_sb, v_ss, v_sh, scale, causal);                                                          \
    }

RAGR_ATTN90_FWD(64, bf16, bf16)
RAGR_ATTN90_FWD(64, bf16f32, float)
RAGR_ATTN90_FWD(128, bf16, bf16)
RAGR_ATTN90_FWD(128, bf16f32, float)
