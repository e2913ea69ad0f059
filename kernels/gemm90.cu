// gemm90.cu — bf16/fp16 general matrix products for Hopper: TMA tile loads,
// wgmma tensor-core steps, a warp-specialized mbarrier pipeline.
//
// Target: sm_90a
// (wgmma, setmaxnreg and the TMA tensor copies exist only on sm_90a: this
// file needs nvcc >= 12.3 — `make kernels90` — and a compute capability 9.0
// device; the CI's CUDA 11.8 cannot compile it, the host emulator checks it:
// kernels/emu/check_gemm90.cpp.)
//
// Computes, exactly as kernels/gemm.cu (same semantics, same epilogue), for
// every batch index z < batch
//     C_z = act(alpha * op(A_z) * op(B_z) + beta * C_z + bias)
// row-major, op(A) M×K, op(B) K×N, C M×N with row stride ldc, bias fp32 [N]
// (nullable), act 0 none / 1 GELU (erf) / 2 GELU (tanh), beta == 0 never
// reads C. Inputs bf16 or fp16, fp32 accumulation, output fp32 or the input
// type.
//
// Kernels: ragr_gemm90_<ty>_<op>_m<BM>n<BN>, ty in {bf16f32, bf16, f16f32,
// f16}, op in {nn, nt, tn, tt} (op(A) op(B): t = transposed), block tile
// BM x BN in {128x256, 128x128, 64x128} (the smaller ones for products whose
// grid would not fill the GPU).
// Parameters:
//   (const __grid_constant__ TmaDesc tmA, const __grid_constant__ TmaDesc tmB,
//    TO* C, const float* bias, int M, int N, int K, int ldc,
//    long long strideC, int batch, int zA, int zB,
//    float alpha, float beta, int act, int flags)
// tmA / tmB are CUtensorMaps (rank 3, 128-byte swizzle, zero fill out of
// bounds) over A and B as stored, built by the launcher
// (kernels/cuda/gemm90.go):
//   A as used (M×K):       dims {K, M, batchA}, box {64, BM, 1}
//   A transposed (K×M):    dims {M, K, batchA}, box {64, 64, 1}  (BM/64 per tile)
//   B transposed (N×K):    dims {K, N, batchB}, box {64, BN, 1}
//   B as used (K×N):       dims {N, K, batchB}, box {64, 64, 1}  (BN/64 per tile)
// zA / zB are 1 when the operand has a batch dimension, 0 when one matrix is
// broadcast over the batch. flags bit 2 (4): C may be stored in pairs (C
// 2-element aligned, ldc and strideC even). Out-of-range rows and columns of
// A and B arrive as zeros (TMA), so any M, N, K >= 1 works; the launcher
// needs 16-byte aligned A and B with leading dimensions and batch strides
// that are multiples of 8 elements, and falls back to kernels/gemm.cu
// otherwise.
//
// Launch geometry: block (128 + 2·BM, 1, 1), grid (ceil(M/BM)*ceil(N/BN), 1,
// min(batch, 65535)), dynamic shared memory (opt-in) 197888 bytes for
// BM = 128 (one block per SM), 99584 for BM = 64 (two per SM). Block tile
// BM×BN×64. Warpgroup 0 is the producer (one thread issues the TMA loads
// into a ring of STAGES buffers: 4 for 128×256 and 64×128, 6 for 128×128;
// registers lowered to 40); warpgroups 1.. are the consumers (64 rows of
// the tile each, registers raised to 232 / 216), each issuing four
// m64nBNk16 wgmma per 64-wide k-tile, keeping one k-tile in flight and
// releasing its buffer when the previous one has finished. Each buffer has
// a "full" mbarrier (1 arrival + the TMA bytes) and an "empty" one (one
// arrival per consumer thread). Grouped block order (8 M-tiles sweep the
// N-tiles) for L2 reuse; batches beyond gridDim.z loop inside.
//
// Benchmark: `ragr bench kernels` (rows gemm90_*), see kernels/NOTES.md.
#include "sm90.cuh"

using namespace ragr_mma;
using namespace ragr_sm90;

#define RAGR_GEMM_FLAG_C_VEC 4

namespace {

constexpr int G9_BK = 64;

// Geometry of the (BM, BN) variant: BM/64 consumer warpgroups after the
// producer, a ring of STAGES buffers; SMEM is the dynamic shared memory to
// launch with (the ring, the barriers and 1 KiB for the alignment).
template <int BM, int BN>
struct G9 {
    static constexpr int CONSUMERS = BM / 64;
    static constexpr int THREADS = 128 * (1 + CONSUMERS);
    static constexpr int STAGES = BM == 64 ? 4 : BN == 256 ? 4 : 6;
    static constexpr int A_BYTES = BM * G9_BK * 2;
    static constexpr int B_BYTES = BN * G9_BK * 2;
    static constexpr int STAGE_BYTES = A_BYTES + B_BYTES;
    static constexpr int SMEM = STAGES * STAGE_BYTES + 1280;
    // registers per thread: the launch gives 65536 / THREADS (BM 128, one
    // block per SM) or 32768 / THREADS (BM 64, two blocks per SM); the
    // producer keeps 40 and the consumers share the rest
    static constexpr int CONSUMER_REGS = BM == 128 ? 232 : 216;
    static_assert(STAGES * STAGE_BYTES + 2 * STAGES * 8 + 1024 <= SMEM, "gemm90: shared memory");
};
static_assert(G9<128, 256>::SMEM == 197888 && G9<128, 128>::SMEM == 197888 && G9<64, 128>::SMEM == 99584,
              "gemm90: the launcher's shared memory sizes");

// Stores the pair (v0, v1) at (row, col), (row, col+1) of C after the
// epilogue arithmetic; columns at or beyond N and rows at or beyond M are
// skipped. Not inlined: 2·BN/8 call sites per thread.
template <typename TO>
__device__ __noinline__ void g9_store(TO* __restrict__ Cz, const float* __restrict__ bias, int M, int N, int ldc,
                                      int row, int col, float v0, float v1, float alpha, float beta, int act,
                                      bool pairs) {
    if (row >= M || col >= N) return;
    TO* p = Cz + (long long)row * ldc + col;
    const bool two = col + 1 < N;
    v0 *= alpha;
    v1 *= alpha;
    if (beta != 0.0f) {
        v0 += beta * to_f32(p[0]);
        if (two) v1 += beta * to_f32(p[1]);
    }
    if (bias != nullptr) {
        v0 += bias[col];
        if (two) v1 += bias[col + 1];
    }
    v0 = activate(v0, act);
    v1 = activate(v1, act);
    if (two && pairs) {
        if constexpr (sizeof(TO) == 4) {
            *reinterpret_cast<float2*>(p) = make_float2(v0, v1);
        } else {
            *reinterpret_cast<uint32_t*>(p) = pack2<TO>(v0, v1);
        }
        return;
    }
    p[0] = from_f32<TO>(v0);
    if (two) p[1] = from_f32<TO>(v1);
}

// The four operand-major combinations as compile-time immediates.
template <int BN, int MA, int NB, typename TI>
__device__ __forceinline__ void g9_step(float (&acc)[BN / 2], uint64_t da, uint64_t db) {
    if constexpr (BN == 256) {
        wgmma_n256<MA, NB>(acc, da, db, (TI*)nullptr);
    } else {
        wgmma_n128<MA, NB>(acc, da, db, (TI*)nullptr);
    }
}

// TA: A is stored transposed (K×M, M-major); TB: B is stored transposed
// (N×K, K-major).
template <typename TI, typename TO, int TA, int TB, int BM, int BN>
__device__ __forceinline__ void gemm90(const TmaDesc* tmA, const TmaDesc* tmB, TO* __restrict__ C,
                                       const float* __restrict__ bias, int M, int N, int K, int ldc,
                                       long long strideC, int batch, int zA, int zB, float alpha, float beta,
                                       int act, int flags) {
    using P = G9<BM, BN>;
    RAGR_SMEM_1024(smem);
    uint64_t* full = reinterpret_cast<uint64_t*>(smem + P::STAGES * P::STAGE_BYTES);
    uint64_t* empty = full + P::STAGES;

    if (threadIdx.x == 0) {
        for (int s = 0; s < P::STAGES; s++) {
            mbar_init(&full[s], 1);
            mbar_init(&empty[s], 128 * P::CONSUMERS);
        }
        mbar_fence_init();
    }
    __syncthreads();

    // grouped tile order: 8 M-tiles sweep the N-tiles
    const int tilesM = (M + BM - 1) / BM, tilesN = (N + BN - 1) / BN;
    const int tile = blockIdx.x, per = 8 * tilesN;
    const int first = tile / per * 8, gsize = min(tilesM - first, 8);
    const int m0 = (first + tile % per % gsize) * BM, n0 = tile % per / gsize * BN;
    const int nk = (K + G9_BK - 1) / G9_BK;
    const int wg = threadIdx.x / 128, tid = threadIdx.x % 128;

    // The two roles are the two branches of one if/else (setmaxnreg takes
    // effect only then).
    if (wg == 0) {
        // producer: one thread issues every TMA load
        setmaxnreg_dec<40>();
        if (tid == 0) {
            int it = 0;
            for (int z = blockIdx.z; z < batch; z += gridDim.z) {
                const int za = z * zA, zb = z * zB;
                for (int kt = 0; kt < nk; kt++, it++) {
                    const int s = it % P::STAGES;
                    if (it >= P::STAGES) mbar_wait(&empty[s], (it / P::STAGES + 1) & 1);
                    mbar_arrive_expect_tx(&full[s], P::STAGE_BYTES);
                    uint8_t* a = smem + s * P::STAGE_BYTES;
                    uint8_t* b = a + P::A_BYTES;
                    const int k0 = kt * G9_BK;
                    if (!TA) {
                        tma_load_3d(a, tmA, k0, m0, za, &full[s]);
                    } else {
#pragma unroll
                        for (int j = 0; j < BM / 64; j++) tma_load_3d(a + j * 8192, tmA, m0 + 64 * j, k0, za, &full[s]);
                    }
                    if (TB) {
                        tma_load_3d(b, tmB, k0, n0, zb, &full[s]);
                    } else {
#pragma unroll
                        for (int j = 0; j < BN / 64; j++)
                            tma_load_3d(b + j * 8192, tmB, n0 + 64 * j, k0, zb, &full[s]);
                    }
                }
            }
        }
    } else {
        // consumers: warpgroup cw computes rows 64cw..64cw+63 of the tile
        setmaxnreg_inc<P::CONSUMER_REGS>();
        const int cw = wg - 1;
        const int wq = tid / 32, lane = tid % 32, g = lane / 4, t = lane % 4;
        const bool pairs = (flags & RAGR_GEMM_FLAG_C_VEC) != 0;
        float acc[BN / 2];
        int it = 0;
        for (int z = blockIdx.z; z < batch; z += gridDim.z) {
#pragma unroll
            for (int i = 0; i < BN / 2; i++) acc[i] = 0.0f;
            for (int kt = 0; kt < nk; kt++, it++) {
                const int s = it % P::STAGES;
                mbar_wait(&full[s], (it / P::STAGES) & 1);
                const uint32_t a = smem_u32(smem + s * P::STAGE_BYTES) + cw * 8192;
                const uint32_t b = smem_u32(smem + s * P::STAGE_BYTES + P::A_BYTES);
                wgmma_fence(acc);
#pragma unroll
                for (int ks = 0; ks < G9_BK / 16; ks++) {
                    // M-major A (transposed): k16 = two 8-row groups of 1024 B;
                    // K-major: 32 bytes along the 128-byte row
                    const uint64_t da =
                        TA ? smem_desc(a + ks * 2048, 8192, 1024) : smem_desc(a + ks * 32, 16, 1024);
                    const uint64_t db =
                        TB ? smem_desc(b + ks * 32, 16, 1024) : smem_desc(b + ks * 2048, 8192, 1024);
                    g9_step<BN, TA, 1 - TB, TI>(acc, da, db);
                }
                wgmma_commit();
                wgmma_wait<1>(acc);
                if (kt > 0) mbar_arrive(&empty[(it - 1) % P::STAGES]);
            }
            wgmma_wait<0>(acc);
            if (nk > 0) mbar_arrive(&empty[(it - 1) % P::STAGES]);

            TO* Cz = C + (long long)z * strideC;
            const int r0 = m0 + cw * 64 + wq * 16 + g;
#pragma unroll
            for (int j = 0; j < BN / 8; j++) {
                const int col = n0 + 8 * j + 2 * t;
                g9_store<TO>(Cz, bias, M, N, ldc, r0, col, acc[4 * j], acc[4 * j + 1], alpha, beta, act, pairs);
                g9_store<TO>(Cz, bias, M, N, ldc, r0 + 8, col, acc[4 * j + 2], acc[4 * j + 3], alpha, beta, act,
                             pairs);
            }
        }
    }
}

}  // namespace

#define RAGR_GEMM90_PARAMS(TO)                                                                                  \
    const __grid_constant__ TmaDesc tmA, const __grid_constant__ TmaDesc tmB, TO *__restrict__ C,               \
        const float *__restrict__ bias, int M, int N, int K, int ldc, long long strideC, int batch, int zA, int zB, \
        float alpha, float beta, int act, int flags

#define RAGR_GEMM90_KERNEL(NAME, TI, TO, OP, TA, TB, BM, BN)                                                  \
    extern "C" __global__ void __launch_bounds__(G9<BM, BN>::THREADS, 128 / BM)                                 \
        ragr_gemm90_##NAME##_##OP##_m##BM##n##BN(RAGR_GEMM90_PARAMS(TO)) {                                      \
        gemm90<TI, TO, TA, TB, BM, BN>(&tmA, &tmB, C, bias, M, N, K, ldc, strideC, batch, zA, zB, alpha, beta, act, \
                                       flags);                                                                  \
    }

#define RAGR_GEMM90_OPS(NAME, TI, TO, BM, BN)              \
    RAGR_GEMM90_KERNEL(NAME, TI, TO, nn, 0, 0, BM, BN)     \
    RAGR_GEMM90_KERNEL(NAME, TI, TO, nt, 0, 1, BM, BN)     \
    RAGR_GEMM90_KERNEL(NAME, TI, TO, tn, 1, 0, BM, BN)     \
    RAGR_GEMM90_KERNEL(NAME, TI, TO, tt, 1, 1, BM, BN)

#define RAGR_GEMM90_TYPES(BM, BN)                                 \
    RAGR_GEMM90_OPS(bf16f32, __nv_bfloat16, float, BM, BN)        \
    RAGR_GEMM90_OPS(bf16, __nv_bfloat16, __nv_bfloat16, BM, BN)   \
    RAGR_GEMM90_OPS(f16f32, __half, float, BM, BN)                \
    RAGR_GEMM90_OPS(f16, __half, __half, BM, BN)

RAGR_GEMM90_TYPES(128, 256)
RAGR_GEMM90_TYPES(128, 128)
RAGR_GEMM90_TYPES(64, 128)
