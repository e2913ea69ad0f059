// gemm.cu — general matrix products, row-major, strided batches, fused epilogue.
//
// Computes, for every batch index z < batch,
//     C_z = act(alpha * op(A_z) * op(B_z) + beta * C_z + bias)
// with A_z = A + z*strideA, B_z = B + z*strideB, C_z = C + z*strideC (strides in
// elements, 0 broadcasts a matrix over the batch; C must not overlap between
// batches). Row-major throughout, as kernels/cpu.Sgemm: op(A) is M×K (A stored
// M×K with row stride lda, or K×M when transposed), op(B) is K×N (B stored K×N
// with row stride ldb, or N×K when transposed), C is M×N with row stride ldc.
// bias (nullable) is fp32 [N], added per column. act: 0 none, 1 GELU (erf),
// 2 GELU (tanh approximation). beta == 0 never reads C (NaN there is
// overwritten). K == 0 gives act(beta*C + bias).
//
// Variants (the transposes are compile-time, one kernel each; the suffix is
// op(A) op(B): n = stored as used, t = transposed):
//   ragr_gemm_f32_{nn,nt,tn,tt}      fp32 in, fp32 out, FFMA (SIMT) kernel
//   ragr_gemm_bf16f32_{..}          bf16 in, fp32 out, tensor cores
//   ragr_gemm_bf16_{..}             bf16 in, bf16 out, tensor cores
//   ragr_gemm_f16f32_{..}           fp16 in, fp32 out, tensor cores
//   ragr_gemm_f16_{..}              fp16 in, fp16 out, tensor cores
//   ragr_gemm_<tensor-core type>_<op>_m64: the same with 64-row block tiles
//                                   (twice the blocks, for grids that would
//                                   not fill the GPU with 128-row tiles)
//   ragr_gemm_splitk_{f32,bf16,f16}  split-K reduction (see the end of the file):
//                                   C = act(alpha·Σ_s W[s] + beta·C + bias) over
//                                   the fp32 partial products W[s] that a
//                                   ..f32 tensor-core kernel wrote for K-slice s
// All accumulate in fp32; the epilogue runs in fp32 and rounds once on store.
//
// One signature for every variant:
//   (TO* C, const TI* A, const TI* B, const float* bias,
//    int M, int N, int K, int lda, int ldb, int ldc,
//    long long strideA, long long strideB, long long strideC, int batch,
//    float alpha, float beta, int act, int flags)
// flags (computed by the launcher from pointers, leading dims and strides):
//   bit 0 (1): A may be read in 16-byte vectors (A base 16-byte aligned,
//              lda and strideA multiples of 16 bytes' worth of elements)
//   bit 1 (2): the same for B
//   bit 2 (4): C may be written in vectors (the fp32 SIMT kernel: float4 —
//              base 16-byte aligned, ldc and strideC multiples of 4; the
//              tensor-core kernels: pairs — base aligned to two elements, ldc
//              and strideC even)
// Without a bit the kernel takes its guarded element-wise path for that
// operand, so every M, N, K >= 0 and every leading dimension works; the bits
// only choose speed.
//
// Launch geometry:
//   f32:   block (256,1,1), grid (ceil(N/128), ceil(M/128), min(batch, 65535)),
//          no dynamic shared memory (16.5 KiB static). Block tile 128×128×8,
//          8×8 outputs per thread, two shared-memory buffers with the next
//          tile prefetched into registers.
//   tensor cores: block (256,1,1), grid (ceil(M/BM)*ceil(N/128), 1,
//          min(batch, 65535)) with BM = 128 (or 64 for _m64), no dynamic
//          shared memory (48 KiB static; 36 KiB for _m64). Block tile
//          BM×128×32 in 8 warps of (BM/2)×32 (2×4), mma.sync m16n8k16, 3-stage
//          cp.async pipeline, ldmatrix (.trans for the MN-major operands) from
//          XOR-swizzled shared tiles, grouped block order (8 M-tiles) for L2 reuse.
// Batches beyond gridDim.z are looped over inside the kernel.
//
// Benchmark: `ragr bench kernels` (rows gemm_*), see kernels/NOTES.md.
#include "mma.cuh"

using namespace ragr_mma;

#define RAGR_GEMM_FLAG_A_VEC 1
#define RAGR_GEMM_FLAG_B_VEC 2
#define RAGR_GEMM_FLAG_C_VEC 4

// ---------------------------------------------------------------------------
// fp32 SIMT kernel

namespace {

constexpr int SG_BM = 128, SG_BN = 128, SG_BK = 8, SG_PAD = 4;

// A 128×8 operand tile, in registers between its global load and its shared
// store. KMAJOR: the stored matrix is contiguous along k (A as used, or B
// transposed); otherwise it is contiguous along m/n.
template <bool KMAJOR>
__device__ __forceinline__ void sg_load(float (&r)[4], const float* __restrict__ P, int ld, int rows, int K, int mn0,
                                        int k0, bool vec) {
    const int t = threadIdx.x;
    if (KMAJOR) {
        const int mn = mn0 + (t >> 1), k = k0 + (t & 1) * 4;
        if (mn < rows) {
            const float* p = P + (long long)mn * ld + k;
            if (vec && k + 3 < K) {
                float4 v = *reinterpret_cast<const float4*>(p);
                r[0] = v.x, r[1] = v.y, r[2] = v.z, r[3] = v.w;
            } else {
#pragma unroll
                for (int j = 0; j < 4; j++) r[j] = (k + j < K) ? p[j] : 0.0f;
            }
        } else {
#pragma unroll
            for (int j = 0; j < 4; j++) r[j] = 0.0f;
        }
    } else {
        const int k = k0 + (t >> 5), mn = mn0 + (t & 31) * 4;
        if (k < K) {
            const float* p = P + (long long)k * ld + mn;
            if (vec && mn + 3 < rows) {
                float4 v = *reinterpret_cast<const float4*>(p);
                r[0] = v.x, r[1] = v.y, r[2] = v.z, r[3] = v.w;
            } else {
#pragma unroll
                for (int j = 0; j < 4; j++) r[j] = (mn + j < rows) ? p[j] : 0.0f;
            }
        } else {
#pragma unroll
            for (int j = 0; j < 4; j++) r[j] = 0.0f;
        }
    }
}

// Stores a tile loaded by sg_load as s[k][mn].
template <bool KMAJOR>
__device__ __forceinline__ void sg_store(float (*s)[SG_BM + SG_PAD], const float (&r)[4]) {
    const int t = threadIdx.x;
    if (KMAJOR) {
        const int mn = t >> 1, k = (t & 1) * 4;
#pragma unroll
        for (int j = 0; j < 4; j++) s[k + j][mn] = r[j];
    } else {
        const int k = t >> 5, mn = (t & 31) * 4;
        *reinterpret_cast<float4*>(&s[k][mn]) = make_float4(r[0], r[1], r[2], r[3]);
    }
}

// Epilogue for 4 consecutive columns col..col+3 of one C row (col < N).
// Not inlined: one copy instead of one per unrolled call site keeps the PTX
// (and the driver's JIT time) small; it runs once per output quad.
__device__ __noinline__ void sg_epi4(float* crow, const float* __restrict__ bias, int col, int N, float a0, float a1,
                                     float a2, float a3, float alpha, float beta, int act, bool vec) {
    float v[4] = {a0, a1, a2, a3};
#pragma unroll
    for (int j = 0; j < 4; j++) {
        const int cj = col + j;
        float x = alpha * v[j];
        if (cj < N) {
            if (beta != 0.0f) x = fmaf(beta, crow[cj], x);
            if (bias) x += bias[cj];
        }
        v[j] = activate(x, act);
    }
    if (vec && col + 3 < N) {
        *reinterpret_cast<float4*>(crow + col) = make_float4(v[0], v[1], v[2], v[3]);
    } else {
#pragma unroll
        for (int j = 0; j < 4; j++)
            if (col + j < N) crow[col + j] = v[j];
    }
}

template <bool TA, bool TB>
__device__ __forceinline__ void sgemm_body(float* __restrict__ C, const float* __restrict__ A,
                                           const float* __restrict__ B, const float* __restrict__ bias, int M, int N,
                                           int K, int lda, int ldb, int ldc, long long strideA, long long strideB,
                                           long long strideC, int batch, float alpha, float beta, int act, int flags) {
    __shared__ __align__(16) float As[2][SG_BK][SG_BM + SG_PAD];
    __shared__ __align__(16) float Bs[2][SG_BK][SG_BN + SG_PAD];

    const int t = threadIdx.x, tx = t & 15, ty = t >> 4;
    const int m0 = blockIdx.y * SG_BM, n0 = blockIdx.x * SG_BN;
    const bool avec = flags & RAGR_GEMM_FLAG_A_VEC, bvec = flags & RAGR_GEMM_FLAG_B_VEC;
    const bool cvec = flags & RAGR_GEMM_FLAG_C_VEC;
    const int nk = (K + SG_BK - 1) / SG_BK;

    for (int z = blockIdx.z; z < batch; z += gridDim.z) {
        const float* Az = A + z * strideA;
        const float* Bz = B + z * strideB;
        float* Cz = C + z * strideC;

        float acc[8][8];
#pragma unroll
        for (int i = 0; i < 8; i++)
#pragma unroll
            for (int j = 0; j < 8; j++) acc[i][j] = 0.0f;

        float ra[4], rb[4];
        if (nk > 0) {
            sg_load<!TA>(ra, Az, lda, M, K, m0, 0, avec);
            sg_load<TB>(rb, Bz, ldb, N, K, n0, 0, bvec);
            sg_store<!TA>(As[0], ra);
            sg_store<TB>(Bs[0], rb);
        }
        __syncthreads();
        for (int kt = 0; kt < nk; kt++) {
            const int cur = kt & 1;
            const bool more = kt + 1 < nk;
            if (more) {
                sg_load<!TA>(ra, Az, lda, M, K, m0, (kt + 1) * SG_BK, avec);
                sg_load<TB>(rb, Bz, ldb, N, K, n0, (kt + 1) * SG_BK, bvec);
            }
#pragma unroll
            for (int kk = 0; kk < SG_BK; kk++) {
                float a[8], b[8];
                float4 a0 = *reinterpret_cast<const float4*>(&As[cur][kk][ty * 4]);
                float4 a1 = *reinterpret_cast<const float4*>(&As[cur][kk][64 + ty * 4]);
                float4 b0 = *reinterpret_cast<const float4*>(&Bs[cur][kk][tx * 4]);
                float4 b1 = *reinterpret_cast<const float4*>(&Bs[cur][kk][64 + tx * 4]);
                a[0] = a0.x, a[1] = a0.y, a[2] = a0.z, a[3] = a0.w;
                a[4] = a1.x, a[5] = a1.y, a[6] = a1.z, a[7] = a1.w;
                b[0] = b0.x, b[1] = b0.y, b[2] = b0.z, b[3] = b0.w;
                b[4] = b1.x, b[5] = b1.y, b[6] = b1.z, b[7] = b1.w;
#pragma unroll
                for (int i = 0; i < 8; i++)
#pragma unroll
                    for (int j = 0; j < 8; j++) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
            }
            if (more) {
                sg_store<!TA>(As[cur ^ 1], ra);
                sg_store<TB>(Bs[cur ^ 1], rb);
            }
            __syncthreads();
        }

        // Epilogue: rows ty*4+i and 64+ty*4+i, columns tx*4+j and 64+tx*4+j.
#pragma unroll
        for (int i = 0; i < 8; i++) {
            const int row = m0 + (i < 4 ? ty * 4 + i : 64 + ty * 4 + i - 4);
            if (row >= M) continue;
            float* crow = Cz + (long long)row * ldc;
#pragma unroll
            for (int h = 0; h < 2; h++) {
                const int col = n0 + h * 64 + tx * 4;
                if (col < N)
                    sg_epi4(crow, bias, col, N, acc[i][h * 4], acc[i][h * 4 + 1], acc[i][h * 4 + 2],
                            acc[i][h * 4 + 3], alpha, beta, act, cvec);
            }
        }
        // The next batch's first tile store must not race this batch's last
        // reads (already fenced by the loop's final barrier).
    }
}

// ---------------------------------------------------------------------------
// Tensor-core kernel

constexpr int TC_BN = 128, TC_BK = 32, TC_STAGES = 3, TC_THREADS = 256;

// Element offset of (row, k-chunk) in a K-major 128×32 tile (64-byte rows, 4
// chunks of 8 elements): chunk ^= (row/2)%4 spreads the 8 rows an ldmatrix
// phase reads over all 8 16-byte bank groups.
__device__ __forceinline__ int kmaj_off(int row, int kc) { return row * TC_BK + ((kc ^ ((row >> 1) & 3)) << 3); }

// Element offset of (k-row, mn-chunk) in an MN-major 32×ROWS tile (ROWS = 128:
// 256-byte rows of 16 chunks; 64: 128-byte rows of 8): chunk ^= k%8.
template <int ROWS>
__device__ __forceinline__ int mnmaj_off(int krow, int c) {
    return krow * ROWS + ((c ^ (krow & 7)) << 3);
}

// Copies one operand tile (rows×K extent given by rows/K, origin mn0/k0) into
// a shared stage. KMAJOR as in sg_load. vec selects cp.async 16-byte copies
// (zero-filling past the edges); otherwise guarded element loads and plain
// shared stores.
template <typename T, bool KMAJOR, int ROWS>
__device__ __forceinline__ void tc_load(T* __restrict__ s, const T* __restrict__ P, int ld, int rows, int K, int mn0,
                                        int k0, bool vec) {
    const int t = threadIdx.x;
#pragma unroll
    for (int i = 0; i < (ROWS * TC_BK / 8) / TC_THREADS; i++) {
        const int q = t + i * TC_THREADS;
        int r, c, gr, gc, valid, off;
        if (KMAJOR) {
            r = q >> 2, c = q & 3;  // row (m/n), k-chunk
            gr = mn0 + r, gc = k0 + c * 8;
            valid = (gr < rows) ? min(max(K - gc, 0), 8) : 0;
            off = kmaj_off(r, c);
        } else {
            r = q / (ROWS / 8), c = q % (ROWS / 8);  // k-row, m/n-chunk
            gr = k0 + r, gc = mn0 + c * 8;
            valid = (gr < K) ? min(max(rows - gc, 0), 8) : 0;
            off = mnmaj_off<ROWS>(r, c);
        }
        const T* src = valid > 0 ? P + (long long)gr * ld + gc : P;
        if (vec) {
            cp_async16(s + off, src, valid * 2);
        } else {
            union {
                uint4 u;
                T h[8];
            } v;
#pragma unroll
            for (int e = 0; e < 8; e++) v.h[e] = (e < valid) ? src[e] : from_f32<T>(0.0f);
            *reinterpret_cast<uint4*>(s + off) = v.u;
        }
    }
}

template <typename TO>
__device__ __forceinline__ void tc_store_pair(TO* p, float x0, float x1, bool both, bool vec);

template <>
__device__ __forceinline__ void tc_store_pair<float>(float* p, float x0, float x1, bool both, bool vec) {
    if (both && vec) {
        *reinterpret_cast<float2*>(p) = make_float2(x0, x1);
    } else {
        p[0] = x0;
        if (both) p[1] = x1;
    }
}

template <>
__device__ __forceinline__ void tc_store_pair<__nv_bfloat16>(__nv_bfloat16* p, float x0, float x1, bool both,
                                                             bool vec) {
    if (both && vec) {
        *reinterpret_cast<__nv_bfloat162*>(p) = __floats2bfloat162_rn(x0, x1);
    } else {
        p[0] = __float2bfloat16_rn(x0);
        if (both) p[1] = __float2bfloat16_rn(x1);
    }
}

template <>
__device__ __forceinline__ void tc_store_pair<__half>(__half* p, float x0, float x1, bool both, bool vec) {
    if (both && vec) {
        *reinterpret_cast<__half2*>(p) = __floats2half2_rn(x0, x1);
    } else {
        p[0] = __float2half_rn(x0);
        if (both) p[1] = __float2half_rn(x1);
    }
}

// Epilogue for columns col, col+1 of one C row (col < N); not inlined, as
// sg_epi4.
template <typename TO>
__device__ __noinline__ void tc_epi2(TO* crow, const float* __restrict__ bias, int col, int N, float a0, float a1,
                                     float alpha, float beta, int act, bool vec) {
    const bool both = col + 1 < N;
    float x0 = alpha * a0, x1 = alpha * a1;
    if (beta != 0.0f) {
        x0 = fmaf(beta, to_f32(crow[col]), x0);
        if (both) x1 = fmaf(beta, to_f32(crow[col + 1]), x1);
    }
    if (bias) {
        x0 += bias[col];
        if (both) x1 += bias[col + 1];
    }
    tc_store_pair<TO>(crow + col, activate(x0, act), activate(x1, act), both, vec);
}

template <typename T, typename TO, bool TA, bool TB, int BM>
__device__ __forceinline__ void tcgemm_body(TO* __restrict__ C, const T* __restrict__ A, const T* __restrict__ B,
                                            const float* __restrict__ bias, int M, int N, int K, int lda, int ldb,
                                            int ldc, long long strideA, long long strideB, long long strideC,
                                            int batch, float alpha, float beta, int act, int flags) {
    constexpr int WM = BM / 2, MT = WM / 16;  // warp rows, m16 tiles per warp
    __shared__ __align__(128) T sA[TC_STAGES][BM * TC_BK];
    __shared__ __align__(128) T sB[TC_STAGES][TC_BN * TC_BK];

    const int t = threadIdx.x, lane = t & 31, warp = t >> 5;
    const int wm = warp >> 2, wn = warp & 3;  // warp tile WM×32 at (wm*WM, wn*32)
    const bool avec = flags & RAGR_GEMM_FLAG_A_VEC, bvec = flags & RAGR_GEMM_FLAG_B_VEC;
    const bool cvec = flags & RAGR_GEMM_FLAG_C_VEC;

    // Grouped tile order: 8 consecutive M-tiles sweep the N-tiles together,
    // so their A rows and B columns stay in L2.
    const int tiles_m = (M + BM - 1) / BM, tiles_n = (N + TC_BN - 1) / TC_BN;
    const int bid = blockIdx.x, group = 8 * tiles_n;
    const int first_m = (bid / group) * 8, gsz = min(tiles_m - first_m, 8);
    const int m0 = (first_m + (bid % group) % gsz) * BM;
    const int n0 = ((bid % group) / gsz) * TC_BN;
    const int nk = (K + TC_BK - 1) / TC_BK;

    for (int z = blockIdx.z; z < batch; z += gridDim.z) {
        const T* Az = A + z * strideA;
        const T* Bz = B + z * strideB;
        TO* Cz = C + z * strideC;

        float acc[MT][4][4];
#pragma unroll
        for (int i = 0; i < MT; i++)
#pragma unroll
            for (int j = 0; j < 4; j++)
#pragma unroll
                for (int e = 0; e < 4; e++) acc[i][j][e] = 0.0f;

#pragma unroll
        for (int s = 0; s < TC_STAGES - 1; s++) {
            if (s < nk) {
                tc_load<T, !TA, BM>(sA[s], Az, lda, M, K, m0, s * TC_BK, avec);
                tc_load<T, TB, TC_BN>(sB[s], Bz, ldb, N, K, n0, s * TC_BK, bvec);
            }
            cp_async_commit();
        }

        for (int kt = 0; kt < nk; kt++) {
            cp_async_wait<TC_STAGES - 2>();
            __syncthreads();
            {
                const int pf = kt + TC_STAGES - 1;
                if (pf < nk) {
                    const int ps = pf % TC_STAGES;
                    tc_load<T, !TA, BM>(sA[ps], Az, lda, M, K, m0, pf * TC_BK, avec);
                    tc_load<T, TB, TC_BN>(sB[ps], Bz, ldb, N, K, n0, pf * TC_BK, bvec);
                }
                cp_async_commit();
            }
            const T* a_s = sA[kt % TC_STAGES];
            const T* b_s = sB[kt % TC_STAGES];
#pragma unroll
            for (int ks = 0; ks < TC_BK / 16; ks++) {
                uint32_t af[MT][4], bfr[4][2];
                const int mi = lane >> 3, r8 = lane & 7;
#pragma unroll
                for (int mt = 0; mt < MT; mt++) {
                    const int rb = wm * WM + mt * 16;
                    if (!TA) {
                        ldsm_x4(af[mt], a_s + kmaj_off(rb + (lane & 15), ks * 2 + (lane >> 4)));
                    } else {
                        ldsm_x4_t(af[mt], a_s + mnmaj_off<BM>(ks * 16 + (mi >> 1) * 8 + r8, (rb >> 3) + (mi & 1)));
                    }
                }
#pragma unroll
                for (int np = 0; np < 2; np++) {
                    const int nb = wn * 32 + np * 16;
                    uint32_t tmp[4];
                    if (TB) {
                        ldsm_x4(tmp, b_s + kmaj_off(nb + (mi >> 1) * 8 + r8, ks * 2 + (mi & 1)));
                    } else {
                        ldsm_x4_t(tmp, b_s + mnmaj_off<TC_BN>(ks * 16 + (mi & 1) * 8 + r8, (nb >> 3) + (mi >> 1)));
                    }
                    bfr[np * 2][0] = tmp[0], bfr[np * 2][1] = tmp[1];
                    bfr[np * 2 + 1][0] = tmp[2], bfr[np * 2 + 1][1] = tmp[3];
                }
#pragma unroll
                for (int mt = 0; mt < MT; mt++)
#pragma unroll
                    for (int nt = 0; nt < 4; nt++) mma16816<T>(acc[mt][nt], af[mt], bfr[nt][0], bfr[nt][1]);
            }
        }
        cp_async_wait<0>();
        __syncthreads();  // the next batch's prologue overwrites the stages

        const int g = lane >> 2, tq = lane & 3;
#pragma unroll
        for (int mt = 0; mt < MT; mt++) {
#pragma unroll
            for (int h = 0; h < 2; h++) {
                const int row = m0 + wm * WM + mt * 16 + g + h * 8;
                if (row >= M) continue;
                TO* crow = Cz + (long long)row * ldc;
#pragma unroll
                for (int nt = 0; nt < 4; nt++) {
                    const int col = n0 + wn * 32 + nt * 8 + tq * 2;
                    if (col >= N) continue;
                    tc_epi2<TO>(crow, bias, col, N, acc[mt][nt][h * 2], acc[mt][nt][h * 2 + 1], alpha, beta, act, cvec);
                }
            }
        }
    }
}

}  // namespace

// ---------------------------------------------------------------------------
// Exported kernels

#define RAGR_GEMM_PARAMS(TI, TO)                                                                                \
    TO *__restrict__ C, const TI *__restrict__ A, const TI *__restrict__ B, const float *__restrict__ bias, int M, \
        int N, int K, int lda, int ldb, int ldc, long long strideA, long long strideB, long long strideC,       \
        int batch, float alpha, float beta, int act, int flags
#define RAGR_GEMM_ARGS C, A, B, bias, M, N, K, lda, ldb, ldc, strideA, strideB, strideC, batch, alpha, beta, act, flags

#define RAGR_SGEMM(OP, TA, TB)                                                                       \
    extern "C" __global__ void __launch_bounds__(256) ragr_gemm_f32_##OP(RAGR_GEMM_PARAMS(float, float)) { \
        sgemm_body<TA, TB>(RAGR_GEMM_ARGS);                                                          \
    }

RAGR_SGEMM(nn, false, false)
RAGR_SGEMM(nt, false, true)
RAGR_SGEMM(tn, true, false)
RAGR_SGEMM(tt, true, true)

#define RAGR_TCGEMM(NAME, TI, TO, OP, TA, TB)                                                           \
    extern "C" __global__ void __launch_bounds__(TC_THREADS, 2) ragr_gemm_##NAME##_##OP(RAGR_GEMM_PARAMS(TI, TO)) { \
        tcgemm_body<TI, TO, TA, TB, 128>(RAGR_GEMM_ARGS);                                               \
    }                                                                                                   \
    extern "C" __global__ void __launch_bounds__(TC_THREADS, 2)                                         \
        ragr_gemm_##NAME##_##OP##_m64(RAGR_GEMM_PARAMS(TI, TO)) {                                       \
        tcgemm_body<TI, TO, TA, TB, 64>(RAGR_GEMM_ARGS);                                                \
    }

#define RAGR_TCGEMM4(NAME, TI, TO)              \
    RAGR_TCGEMM(NAME, TI, TO, nn, false, false) \
    RAGR_TCGEMM(NAME, TI, TO, nt, false, true)  \
    RAGR_TCGEMM(NAME, TI, TO, tn, true, false)  \
    RAGR_TCGEMM(NAME, TI, TO, tt, true, true)

RAGR_TCGEMM4(bf16f32, __nv_bfloat16, float)
RAGR_TCGEMM4(bf16, __nv_bfloat16, __nv_bfloat16)
RAGR_TCGEMM4(f16f32, __half, float)
RAGR_TCGEMM4(f16, __half, __half)

// ---------------------------------------------------------------------------
// Split-K reduction: C = act(alpha * Σ_s W[s] + beta * C + bias), W fp32
// [splits][M][N] (the partial products of K-slices, written by a tensor-core
// kernel with fp32 output, batch = splits, alpha 1, beta 0). Grid-stride,
// block 256; one element per thread per step.
template <typename TO>
__device__ __forceinline__ void splitk_reduce(TO* __restrict__ C, const float* __restrict__ W,
                                              const float* __restrict__ bias, int M, int N, int ldc, int splits,
                                              float alpha, float beta, int act) {
    const long long mn = (long long)M * N;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < mn; i += (long long)gridDim.x * blockDim.x) {
        float s = 0.0f;
        for (int p = 0; p < splits; p++) s += W[p * mn + i];
        const int row = (int)(i / N), col = (int)(i - (long long)row * N);
        TO* c = C + (long long)row * ldc + col;
        float x = alpha * s;
        if (beta != 0.0f) x = fmaf(beta, to_f32(*c), x);
        if (bias) x += bias[col];
        *c = from_f32<TO>(activate(x, act));
    }
}

#define RAGR_SPLITK(NAME, TO)                                                                                     \
    extern "C" __global__ void __launch_bounds__(256)                                                             \
        ragr_gemm_splitk_##NAME(TO* __restrict__ C, const float* __restrict__ W, const float* __restrict__ bias,  \
                                int M, int N, int ldc, int splits, float alpha, float beta, int act) {            \
        splitk_reduce<TO>(C, W, bias, M, N, ldc, splits, alpha, beta, act);                                       \
    }

RAGR_SPLITK(f32, float)
RAGR_SPLITK(bf16, __nv_bfloat16)
RAGR_SPLITK(f16, __half)
