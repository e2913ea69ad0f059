// check_util.h — what kernels/emu/check_gemm.cpp and check_gemm90.cpp
// share: float to and from the kernels' element types, and the comparison of
// a GEMM's C buffer with its float64 reference.
#pragma once

#include <cmath>
#include <vector>

template <typename T>
static T cvt(float x);
template <>
float cvt<float>(float x) { return x; }
template <>
__nv_bfloat16 cvt<__nv_bfloat16>(float x) { return __float2bfloat16_rn(x); }
template <>
__half cvt<__half>(float x) { return __float2half_rn(x); }

static float back(float x) { return x; }
static float back(__nv_bfloat16 x) { return __bfloat162float(x); }
static float back(__half x) { return __half2float(x); }

// Compares C with want element by element: outside the product (inC false)
// the 768 sentinel must be untouched; inside, no NaN and the error within
// the output type's level (fp32 out: fp32 accumulation; 16-bit out: one
// rounding, 2^-8 / 2^-11 relative). Returns the number of bad elements and
// sets rel to the relative L2 error.
template <typename TO>
static int check_c(const std::vector<TO>& C, const std::vector<double>& want, const std::vector<char>& inC, double& rel) {
    double num = 0, den = 0;
    int bad = 0;
    for (size_t i = 0; i < C.size(); i++) {
        const double g = back(C[i]);
        if (!inC[i]) {
            if (g != 768.0) bad++;
            continue;
        }
        if (std::isnan(g)) {
            bad++;
            continue;
        }
        const double e = std::fabs(g - want[i]);
        num += e * e, den += want[i] * want[i];
        const double tol = (sizeof(TO) == 4 ? 1e-4 : (std::is_same_v<TO, __half> ? 1.0 / 1024 : 1.0 / 128)) *
                               std::fabs(want[i]) +
                           1e-4;
        if (e > tol) bad++;
    }
    rel = den > 0 ? std::sqrt(num / den) : std::sqrt(num);
    return bad;
}
