// check_util.h — the conversions kernels/emu/check_gemm.cpp and
// check_gemm90.cpp share: float to and from the kernels' element types.
#pragma once

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
