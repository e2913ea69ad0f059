// check_gemm90.cpp — runs kernels/gemm90.cu's kernels (sm_90a: TMA, wgmma,
// mbarriers) in the host emulator (emu.h + emu_sm90.h) on edge-case shapes
// and compares with a float64 reference. The tensor maps are built as
// kernels/cuda's launcher builds them. One line per case; exits 1 on any
// failure (about 15 s on 2 cores).
#include "emu_sm90.h"

#include "../gemm90.cu"

#include <random>
#include <string>

#include "check_util.h"

struct Case {
    int m, n, k, batch;
    bool ta, tb;
    int pad;               // extra elements per row (a multiple of 8: TMA needs 16-byte row pitches)
    int bcast;             // 1: A broadcast over the batch, 2: B broadcast
    float alpha, beta;
    bool bias;
    int act;
};

static std::mt19937_64 rng(11);
static float urand() { return std::uniform_real_distribution<float>(-1, 1)(rng); }


// The launcher's tensor map for one operand stored rows×cols with leading
// dimension ld (elements) and batch stride st (0: broadcast).
template <typename TI>
static TmaDesc tmap(const TI* base, int cols, int rows, int ld, long long st, int batch, unsigned box0, unsigned box1) {
    emu::Tmap m{};
    m.base = (const uint8_t*)base;
    m.dims[0] = cols, m.dims[1] = rows, m.dims[2] = st != 0 ? batch : 1;
    m.strides[0] = (uint64_t)ld * sizeof(TI);
    m.strides[1] = st != 0 ? (uint64_t)st * sizeof(TI) : ((uint64_t)rows * ld * sizeof(TI) + 15) / 16 * 16;
    m.box[0] = box0, m.box[1] = box1, m.box[2] = 1;
    m.esize = sizeof(TI);
    if (m.strides[0] % 16 || m.strides[1] % 16 || (uintptr_t)base % 16) {
        std::fprintf(stderr, "check_gemm90: operand not TMA-eligible (the launcher would fall back)\n");
        std::exit(2);
    }
    TmaDesc d;
    static_assert(sizeof(emu::Tmap) <= sizeof(TmaDesc));
    std::memset(&d, 0, sizeof d);
    std::memcpy(&d, &m, sizeof m);
    return d;
}

typedef void (*Kern)(TmaDesc, TmaDesc, void*, const float*, int, int, int, int, long long, int, int, int, float, float,
                     int, int);

static int failures = 0;

template <typename TI, typename TO>
static void run(const char* name, Kern kern, const Case& c, int bm, int bn) {
    const int colsA = c.ta ? c.m : c.k, rowsA = c.ta ? c.k : c.m;
    const int colsB = c.tb ? c.k : c.n, rowsB = c.tb ? c.n : c.k;
    auto ld = [&](int cols) { return (cols + 7) / 8 * 8 + c.pad; };
    const int lda = ld(colsA), ldb = ld(colsB), ldc = c.n + (c.pad ? 1 : 0);
    const long long sa = c.bcast == 1 ? 0 : (long long)rowsA * lda, sb = c.bcast == 2 ? 0 : (long long)rowsB * ldb,
                    sc = (long long)c.m * ldc;
    // 16-byte-aligned operands (std::vector of 2-byte elements is 16-aligned from malloc)
    std::vector<TI> A(std::max((long long)rowsA * lda, sa * c.batch) + 8), B(std::max((long long)rowsB * ldb, sb * c.batch) + 8);
    std::vector<TO> C(sc * c.batch);
    std::vector<float> bias(c.n);
    for (auto& x : A) x = cvt<TI>(urand());
    for (auto& x : B) x = cvt<TI>(urand());
    for (auto& x : bias) x = urand();
    std::vector<char> inC(C.size(), 0);
    for (size_t i = 0; i < C.size(); i++) {
        const long long rr = (long long)i % sc;
        inC[i] = rr % ldc < c.n;
        C[i] = cvt<TO>(!inC[i] ? 768.0f : c.beta != 0 ? urand() : NAN);
    }
    std::vector<double> want(C.size());
    for (int z = 0; z < c.batch; z++)
        for (int i = 0; i < c.m; i++)
            for (int j = 0; j < c.n; j++) {
                double s = 0;
                for (int p = 0; p < c.k; p++) {
                    double x = back(c.ta ? A[z * sa + (long long)p * lda + i] : A[z * sa + (long long)i * lda + p]);
                    double y = back(c.tb ? B[z * sb + (long long)j * ldb + p] : B[z * sb + (long long)p * ldb + j]);
                    s += x * y;
                }
                const long long idx = z * sc + (long long)i * ldc + j;
                double v = c.alpha * s;
                if (c.beta != 0) v += c.beta * (double)back(C[idx]);
                if (c.bias) v += bias[j];
                if (c.act == 1) v = 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)));
                if (c.act == 2) v = 0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
                want[idx] = v;
            }
    const TmaDesc tA = c.ta ? tmap(A.data(), c.m, c.k, lda, sa, c.batch, 64, 64)
                            : tmap(A.data(), c.k, c.m, lda, sa, c.batch, 64, bm);
    const TmaDesc tB = c.tb ? tmap(B.data(), c.k, c.n, ldb, sb, c.batch, 64, bn)
                            : tmap(B.data(), c.n, c.k, ldb, sb, c.batch, 64, 64);
    const int flags = ((uintptr_t)C.data() % (2 * sizeof(TO)) == 0 && ldc % 2 == 0 && sc % 2 == 0) ? 4 : 0;
    const dim3 grid{(unsigned)(((c.m + bm - 1) / bm) * ((c.n + bn - 1) / bn)), 1, (unsigned)std::min(c.batch, 2)};
    emu::block_start_hook = emu::reset_sm90;
    emu::launch(
        grid, 128 + 2 * bm,
        [&] {
            kern(tA, tB, C.data(), c.bias ? bias.data() : nullptr, c.m, c.n, c.k, ldc, sc, c.batch, c.bcast == 1 ? 0 : 1,
                 c.bcast == 2 ? 0 : 1, c.alpha, c.beta, c.act, flags);
        },
        bm == 64 ? G9<64, 128>::SMEM : G9<128, 256>::SMEM);
    double rel;
    const int bad = check_c(C, want, inC, rel);
    std::printf("%-16s m%dn%d m=%d n=%d k=%d b=%d %c%c pad=%d bcast=%d beta=%g bias=%d act=%d flags=%d  relL2=%.2e %s\n",
                name, bm, bn, c.m, c.n, c.k, c.batch, c.ta ? 't' : 'n', c.tb ? 't' : 'n', c.pad, c.bcast, c.beta, c.bias,
                c.act, flags, rel, bad ? "FAIL" : "ok");
    if (bad) failures++;
}

int main() {
    if (const char* e = std::getenv("RAGR_EMU_SEED")) rng.seed(std::strtoull(e, nullptr, 10));
    // {m, n, k, batch}: single elements, ragged edges in every dimension,
    // several k-tiles (the ring of 4 or 6 buffers wraps with K = 1000),
    // batches looping inside the kernel (grid z is capped at 2 here).
    const int shapes[][4] = {{1, 1, 1, 1}, {3, 17, 5, 1}, {129, 130, 70, 2}, {200, 300, 150, 1},
                             {64, 64, 1000, 1}, {130, 257, 72, 3}};
    std::vector<Case> cases;
    int i = 0;
    for (auto& s : shapes)
        for (int op = 0; op < 4; op++, i++) {
            Case c{s[0], s[1], s[2], s[3], (op & 2) != 0, (op & 1) != 0, 0, 0, 1, 0, false, 0};
            c.pad = i % 3 == 1 ? 8 : 0;
            if (c.batch > 1) c.bcast = i % 3;  // none, A or B broadcast
            if (i % 3 == 0) c.alpha = 1.5f, c.beta = 0.5f;
            c.bias = i % 5 < 2;
            c.act = i % 3;
            cases.push_back(c);
        }
#define K(n) (Kern) n
#define OPS(T, BM, BN)                                                                                   \
    {K(ragr_gemm90_##T##_nn_m##BM##n##BN), K(ragr_gemm90_##T##_nt_m##BM##n##BN),                          \
     K(ragr_gemm90_##T##_tn_m##BM##n##BN), K(ragr_gemm90_##T##_tt_m##BM##n##BN)}
#define VARIANTS(T) {OPS(T, 128, 256), OPS(T, 128, 128), OPS(T, 64, 128)}
    Kern bf[3][4] = VARIANTS(bf16f32), bb[3][4] = VARIANTS(bf16), hf[3][4] = VARIANTS(f16f32),
         hh[3][4] = VARIANTS(f16);
    const int tiles[3][2] = {{128, 256}, {128, 128}, {64, 128}};
    int n = 0;
    for (auto& c : cases) {
        const int op = (c.ta ? 2 : 0) + (c.tb ? 1 : 0);
        n++;
        // every case on every tile in bf16 -> fp32; the other types rotate
        for (int v = 0; v < 3; v++) run<__nv_bfloat16, float>("gemm90_bf16f32", bf[v][op], c, tiles[v][0], tiles[v][1]);
        const int v = n % 3, bm = tiles[v][0], bn = tiles[v][1];
        switch (n % 4) {
            case 0: run<__nv_bfloat16, __nv_bfloat16>("gemm90_bf16", bb[v][op], c, bm, bn); break;
            case 1: run<__half, float>("gemm90_f16f32", hf[v][op], c, bm, bn); break;
            case 2: run<__half, __half>("gemm90_f16", hh[v][op], c, bm, bn); break;
            case 3: run<__nv_bfloat16, __nv_bfloat16>("gemm90_bf16", bb[v][op], c, bm, bn); break;
        }
    }
    std::printf("%d failures\n", failures);
    return failures ? 1 : 0;
}
