// mma.cuh — tensor-core building blocks shared by gemm.cu and attention.cu
// (sm_80 PTX: cp.async, ldmatrix, mma.sync m16n8k16 with fp32 accumulation).
//
// Owned by the GEMM/attention engineer. Everything here is __device__
// __forceinline__; nothing is a kernel. The fragment layouts follow the PTX ISA
// ("Matrix Fragments for mma.m16n8k16"): with g = lane/4 and t = lane%4,
//   A (16x16, row):  a0 = (g,   2t..2t+1)  a1 = (g+8, 2t..2t+1)
//                    a2 = (g,   2t+8..)    a3 = (g+8, 2t+8..)
//   B (16x8,  col):  b0 = (k 2t..2t+1, n g) b1 = (k 2t+8..2t+9, n g)
//   C (16x8,  f32):  c0,c1 = (g, 2t..2t+1)  c2,c3 = (g+8, 2t..2t+1)
// Two adjacent n8 accumulator tiles therefore form one k16 A fragment
// (attention turns P into the A operand of P·V that way).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>

namespace ragr_mma {

#ifndef RAGR_EMU  // kernels/emu/emu.h defines these on the host

// Shared-memory address of a generic pointer, for PTX operands.
__device__ __forceinline__ uint32_t smem_u32(const void* p) {
    return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// 16-byte asynchronous global→shared copy reading src_bytes (0..16) bytes and
// zero-filling the rest (src_bytes == 0 reads nothing: src must still be a
// valid address, callers pass the matrix base).
__device__ __forceinline__ void cp_async16(void* dst, const void* src, int src_bytes) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_u32(dst)), "l"(src),
                 "r"(src_bytes));
}

__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }

template <int N>
__device__ __forceinline__ void cp_async_wait() {
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

// ldmatrix .x4: lane l supplies the row address of matrix l/8, row l%8.
__device__ __forceinline__ void ldsm_x4(uint32_t (&r)[4], const void* p) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(smem_u32(p)));
}

__device__ __forceinline__ void ldsm_x4_t(uint32_t (&r)[4], const void* p) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(smem_u32(p)));
}

// D = A·B + D for one m16n8k16 tile; T is __nv_bfloat16 or __half.
template <typename T>
__device__ __forceinline__ void mma16816(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1);

template <>
__device__ __forceinline__ void mma16816<__nv_bfloat16>(float (&d)[4], const uint32_t (&a)[4], uint32_t b0,
                                                        uint32_t b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

template <>
__device__ __forceinline__ void mma16816<__half>(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

#endif  // RAGR_EMU

// Two floats packed into one 32-bit register of T (lo in the low half), the
// order mma fragments use.
template <typename T>
__device__ __forceinline__ uint32_t pack2(float lo, float hi);

template <>
__device__ __forceinline__ uint32_t pack2<__nv_bfloat16>(float lo, float hi) {
    __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<uint32_t*>(&v);
}

template <>
__device__ __forceinline__ uint32_t pack2<__half>(float lo, float hi) {
    __half2 v = __floats2half2_rn(lo, hi);
    return *reinterpret_cast<uint32_t*>(&v);
}

// Conversions between float and the 16-bit storage types (and float itself).
__device__ __forceinline__ float to_f32(float x) { return x; }
__device__ __forceinline__ float to_f32(__nv_bfloat16 x) { return __bfloat162float(x); }
__device__ __forceinline__ float to_f32(__half x) { return __half2float(x); }

template <typename T>
__device__ __forceinline__ T from_f32(float x);
template <>
__device__ __forceinline__ float from_f32<float>(float x) { return x; }
template <>
__device__ __forceinline__ __nv_bfloat16 from_f32<__nv_bfloat16>(float x) { return __float2bfloat16_rn(x); }
template <>
__device__ __forceinline__ __half from_f32<__half>(float x) { return __float2half_rn(x); }

// GELU with erf and with the tanh approximation (as torch's
// approximate="tanh"). Not inlined: an unrolled epilogue calls them at 64 sites,
// and inlining erff/tanhf at each multiplied the PTX size by ten.
__device__ __noinline__ float gelu_erf(float x) { return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f)); }

__device__ __noinline__ float gelu_tanh(float x) {
    float u = 0.79788456080286536f * (x + 0.044715f * x * x * x);
    return 0.5f * x * (1.0f + tanhf(u));
}

// Epilogue activations (the codes the launchers pass): 0 none, 1 GELU (erf),
// 2 GELU (tanh approximation).
__device__ __forceinline__ float activate(float x, int act) {
    if (act == 1) return gelu_erf(x);
    if (act == 2) return gelu_tanh(x);
    return x;
}

}  // namespace ragr_mma
