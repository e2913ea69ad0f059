// check_gemm.cpp — runs kernels/gemm.cu's kernels in the host emulator
// (emu.h) on edge-case shapes and compares with a float64 reference.
// Prints one line per case and "FAIL" lines; exits 1 on any failure.
#include "../gemm.cu"

#include <random>
#include <string>

#include "check_util.h"

struct Case {
    int m, n, k, batch;
    bool ta, tb;
    int pad, off;
    bool bcastB;
    float alpha, beta;
    bool bias;
    int act;
};

static std::mt19937_64 rng(7);
static float urand() { return std::uniform_real_distribution<float>(-1, 1)(rng); }


typedef void (*Kern)(void*, const void*, const void*, const float*, int, int, int, int, int, int, long long, long long,
                     long long, int, float, float, int, int);

static int failures = 0;

template <typename TI, typename TO>
static void run(const char* name, Kern kern, const Case& c, bool simt, int bm = 128) {
    const int colsA = c.ta ? c.m : c.k, rowsA = c.ta ? c.k : c.m;
    const int colsB = c.tb ? c.k : c.n, rowsB = c.tb ? c.n : c.k;
    // pad < 0: leading dimensions rounded up to a multiple of 8 (the vector path)
    auto ld = [&](int cols) { return c.pad < 0 ? (std::max(cols, 1) + 7) / 8 * 8 : std::max(cols, 1) + c.pad; };
    const int lda = ld(colsA), ldb = ld(colsB), ldc = ld(c.n);
    const long long sa = (long long)rowsA * lda, sb = c.bcastB ? 0 : (long long)rowsB * ldb,
                    sc = (long long)c.m * ldc;
    std::vector<TI> A(c.off + sa * c.batch + 1), B(c.off + std::max(sb * c.batch, (long long)rowsB * ldb) + 1);
    std::vector<TO> C(c.off + sc * c.batch);
    std::vector<float> bias(std::max(c.n, 1));
    for (auto& x : A) x = cvt<TI>(urand());
    for (auto& x : B) x = cvt<TI>(urand());
    for (auto& x : bias) x = urand();
    std::vector<double> want(C.size());
    std::vector<char> inC(C.size(), 0);
    for (size_t i = 0; i < C.size(); i++) {
        C[i] = cvt<TO>(c.beta != 0 ? urand() : NAN);
        long long r = (long long)i - c.off;
        if (r >= 0) {
            long long z = r / sc, rr = r % sc;
            if (z < c.batch && rr / ldc < c.m && rr % ldc < c.n) inC[i] = 1;
        }
        if (!inC[i]) C[i] = cvt<TO>(768.0f);
    }
    for (int z = 0; z < c.batch; z++)
        for (int i = 0; i < c.m; i++)
            for (int j = 0; j < c.n; j++) {
                double s = 0;
                for (int p = 0; p < c.k; p++) {
                    double x = back(c.ta ? A[c.off + z * sa + (long long)p * lda + i] : A[c.off + z * sa + (long long)i * lda + p]);
                    double y = back(c.tb ? B[c.off + z * sb + (long long)j * ldb + p] : B[c.off + z * sb + (long long)p * ldb + j]);
                    s += x * y;
                }
                long long idx = c.off + z * sc + (long long)i * ldc + j;
                double v = c.alpha * s;
                if (c.beta != 0) v += c.beta * (double)back(C[idx]);
                if (c.bias) v += bias[j];
                if (c.act == 1) v = 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)));
                if (c.act == 2) v = 0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
                want[idx] = v;
            }
    const int w = 16 / sizeof(TI);
    auto vec = [&](const void* p, int ld, long long st, int width, int es) {
        return (uintptr_t)p % (width * es) == 0 && ld % width == 0 && (c.batch <= 1 || st % width == 0);
    };
    const TI* pA = A.data() + c.off;
    const TI* pB = B.data() + c.off;
    TO* pC = C.data() + c.off;
    int flags = 0;
    if (vec(pA, lda, sa, w, sizeof(TI))) flags |= 1;
    if (vec(pB, ldb, sb, w, sizeof(TI))) flags |= 2;
    if (vec(pC, ldc, sc, simt ? 4 : 2, sizeof(TO))) flags |= 4;
    dim3 grid;
    if (simt)
        grid = dim3{(unsigned)((c.n + 127) / 128), (unsigned)((c.m + 127) / 128), (unsigned)c.batch};
    else
        grid = dim3{(unsigned)(((c.n + 127) / 128) * ((c.m + bm - 1) / bm)), 1, (unsigned)c.batch};
    emu::launch(grid, 256, [&] {
        kern(pC, pA, pB, c.bias ? bias.data() : nullptr, c.m, c.n, c.k, lda, ldb, ldc, sa, sb, sc, c.batch, c.alpha,
             c.beta, c.act, flags);
    });
    double rel;
    const int bad = check_c(C, want, inC, rel);
    std::printf("%-22s m=%d n=%d k=%d b=%d %c%c pad=%d off=%d bcast=%d beta=%g bias=%d act=%d flags=%d  relL2=%.2e %s\n",
                name, c.m, c.n, c.k, c.batch, c.ta ? 't' : 'n', c.tb ? 't' : 'n', c.pad, c.off, c.bcastB, c.beta,
                c.bias, c.act, flags, rel, bad ? "FAIL" : "ok");
    if (bad) failures++;
}

// Split-K the way kernels/cuda's launcher runs it: the fp32-output kernel as a
// batch over K-slices into W, then ragr_gemm_splitk_<out>.
template <typename TO>
static void run_split(const char* name, Kern partial, void (*reduce)(TO*, const float*, const float*, int, int, int, int,
                                                                     float, float, int),
                      const Case& c, int split) {
    const int colsA = c.ta ? c.m : c.k, rowsA = c.ta ? c.k : c.m;
    const int colsB = c.tb ? c.k : c.n, rowsB = c.tb ? c.n : c.k;
    const int lda = colsA + 8, ldb = colsB + 8, ldc = c.n + 3;
    std::vector<__nv_bfloat16> A((size_t)rowsA * lda), B((size_t)rowsB * ldb);
    std::vector<TO> C((size_t)c.m * ldc);
    std::vector<float> bias(c.n), W((size_t)split * c.m * c.n, NAN);
    for (auto& x : A) x = __float2bfloat16_rn(urand());
    for (auto& x : B) x = __float2bfloat16_rn(urand());
    for (auto& x : bias) x = urand();
    for (auto& x : C) x = cvt<TO>(c.beta != 0 ? urand() : NAN);
    std::vector<double> want(C.size());
    for (int i = 0; i < c.m; i++)
        for (int j = 0; j < c.n; j++) {
            double s = 0;
            for (int p = 0; p < c.k; p++)
                s += (double)back(c.ta ? A[(size_t)p * lda + i] : A[(size_t)i * lda + p]) *
                     back(c.tb ? B[(size_t)j * ldb + p] : B[(size_t)p * ldb + j]);
            double v = c.alpha * s + (c.beta != 0 ? c.beta * (double)back(C[(size_t)i * ldc + j]) : 0) +
                       (c.bias ? bias[j] : 0);
            if (c.act == 1) v = 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)));
            if (c.act == 2) v = 0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
            want[(size_t)i * ldc + j] = v;
        }
    const int kc = c.k / split;
    const long long sa = c.ta ? (long long)kc * lda : kc, sb = c.tb ? kc : (long long)kc * ldb, mn = (long long)c.m * c.n;
    // The launcher's flags: 16-byte loads where pointer, ld and stride allow.
    int flags = 0;
    if ((uintptr_t)A.data() % 16 == 0 && lda % 8 == 0 && sa % 8 == 0) flags |= 1;
    if ((uintptr_t)B.data() % 16 == 0 && ldb % 8 == 0 && sb % 8 == 0) flags |= 2;
    if ((uintptr_t)W.data() % 8 == 0 && c.n % 2 == 0 && mn % 2 == 0) flags |= 4;
    emu::launch(dim3{(unsigned)(((c.n + 127) / 128) * ((c.m + 127) / 128)), 1, (unsigned)split}, 256, [&] {
        partial(W.data(), A.data(), B.data(), nullptr, c.m, c.n, kc, lda, ldb, c.n, sa, sb, mn, split, 1.0f, 0.0f, 0,
                flags);
    });
    emu::launch(dim3{7, 1, 1}, 256, [&] {
        reduce(C.data(), W.data(), c.bias ? bias.data() : nullptr, c.m, c.n, ldc, split, c.alpha, c.beta, c.act);
    });
    int bad = 0;
    double num = 0, den = 0;
    for (int i = 0; i < c.m; i++)
        for (int j = 0; j < c.n; j++) {
            const size_t idx = (size_t)i * ldc + j;
            double g = back(C[idx]), e = std::fabs(g - want[idx]);
            num += e * e, den += want[idx] * want[idx];
            double tol = (sizeof(TO) == 4 ? 1e-4 : 1.0 / 128) * std::fabs(want[idx]) + 1e-4;
            if (!(e <= tol)) bad++;
        }
    std::printf("%-22s m=%d n=%d k=%d split=%d %c%c beta=%g bias=%d act=%d flags=%d  relL2=%.2e %s\n", name, c.m, c.n,
                c.k, split, c.ta ? 't' : 'n', c.tb ? 't' : 'n', c.beta, c.bias, c.act, flags, std::sqrt(num / den),
                bad ? "FAIL" : "ok");
    if (bad) failures++;
}

int main(int argc, char** argv) {
    bool quick = argc > 1 && std::string(argv[1]) == "quick";
    if (const char* e = std::getenv("RAGR_EMU_SEED")) rng.seed(std::strtoull(e, nullptr, 10));
    std::vector<Case> cases;
    const int shapes[][4] = {{1, 1, 1, 1}, {3, 17, 5, 1}, {17, 3, 33, 2}, {129, 130, 31, 1}, {200, 77, 70, 3}, {40, 40, 0, 1}, {130, 136, 200, 2}};
    int i = 0;
    for (auto& s : shapes)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                i++;
                Case c{s[0], s[1], s[2], s[3], (bool)ta, (bool)tb, 0, 0, false, 1, 0, false, 0};
                switch (i % 3) {
                    case 0: c.pad = -1; break;
                    case 1: c.pad = 3; break;
                    case 2: c.pad = -1, c.off = 1; break;
                }
                if (i % 4 == 0) c.pad = 0;
                c.bcastB = c.batch > 1 && i % 2 == 0;
                if (i % 3 == 0) c.alpha = 1.5f, c.beta = 0.5f;
                c.bias = i % 5 < 2;
                c.act = i % 3;
                cases.push_back(c);
            }
    if (quick) {  // the first shape (1×1×1) and the last (several k-tiles and edge tiles)
        std::vector<Case> q(cases.begin(), cases.begin() + 4);
        q.insert(q.end(), cases.end() - 4, cases.end());
        cases = q;
    }
#define K(n) (Kern) n
    Kern f32[4] = {K(ragr_gemm_f32_nn), K(ragr_gemm_f32_nt), K(ragr_gemm_f32_tn), K(ragr_gemm_f32_tt)};
    Kern bf[4] = {K(ragr_gemm_bf16f32_nn), K(ragr_gemm_bf16f32_nt), K(ragr_gemm_bf16f32_tn), K(ragr_gemm_bf16f32_tt)};
    Kern bb[4] = {K(ragr_gemm_bf16_nn), K(ragr_gemm_bf16_nt), K(ragr_gemm_bf16_tn), K(ragr_gemm_bf16_tt)};
    Kern hf[4] = {K(ragr_gemm_f16f32_nn), K(ragr_gemm_f16f32_nt), K(ragr_gemm_f16f32_tn), K(ragr_gemm_f16f32_tt)};
    Kern hh[4] = {K(ragr_gemm_f16_nn), K(ragr_gemm_f16_nt), K(ragr_gemm_f16_tn), K(ragr_gemm_f16_tt)};
    Kern bf64[4] = {K(ragr_gemm_bf16f32_nn_m64), K(ragr_gemm_bf16f32_nt_m64), K(ragr_gemm_bf16f32_tn_m64),
                    K(ragr_gemm_bf16f32_tt_m64)};
    Kern hh64[4] = {K(ragr_gemm_f16_nn_m64), K(ragr_gemm_f16_nt_m64), K(ragr_gemm_f16_tn_m64), K(ragr_gemm_f16_tt_m64)};
    for (auto& c : cases) {
        int op = (c.ta ? 2 : 0) + (c.tb ? 1 : 0);
        run<float, float>("ragr_gemm_f32", f32[op], c, true);
        run<__nv_bfloat16, float>("ragr_gemm_bf16f32", bf[op], c, false);
        run<__nv_bfloat16, __nv_bfloat16>("ragr_gemm_bf16", bb[op], c, false);
        run<__half, float>("ragr_gemm_f16f32", hf[op], c, false);
        run<__half, __half>("ragr_gemm_f16", hh[op], c, false);
        run<__nv_bfloat16, float>("ragr_gemm_bf16f32_m64", bf64[op], c, false, 64);
        run<__half, __half>("ragr_gemm_f16_m64", hh64[op], c, false, 64);
    }
    const Case sk[] = {{200, 77, 96, 1, false, false, 0, 0, false, 1, 0, true, 1},
                       {130, 136, 240, 1, true, false, 0, 0, false, 1.5f, 0.5f, false, 0},
                       {65, 300, 64, 1, false, true, 0, 0, false, 1, 0, false, 2},
                       {129, 33, 48, 1, true, true, 0, 0, false, 1, 0, true, 0}};
    const int splits[] = {3, 2, 8, 3};
    for (int i = 0; i < 4; i++) {
        const Case& c = sk[i];
        int op = (c.ta ? 2 : 0) + (c.tb ? 1 : 0);
        run_split<float>("splitk f32", bf[op], ragr_gemm_splitk_f32, c, splits[i]);
        run_split<__nv_bfloat16>("splitk bf16", bf[op], ragr_gemm_splitk_bf16, c, splits[i]);
    }
    std::printf("%d failures\n", failures);
    return failures ? 1 : 0;
}
