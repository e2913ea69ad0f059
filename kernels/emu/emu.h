// emu.h — a host emulator for ragr's CUDA kernels (kernels/gemm.cu,
// kernels/attention.cu), force-included before a kernel source compiled as
// C++20 with g++ -DRAGR_EMU. Every CUDA thread of a block is an OS thread;
// blocks run one after another, so __shared__ becomes a function-local
// static. Warp collectives (ldmatrix, mma.sync, shfl) exchange values through
// a per-warp slot and a 32-thread barrier, following the PTX ISA's fragment
// layouts; cp.async copies at once (zero-filling as the hardware does).
//
// It checks the index arithmetic, swizzles, fragment layouts, edge handling,
// masks and the algorithms on a machine without a GPU. It does not check
// timing-dependent behaviour (a missing cp.async wait is invisible here) nor
// the real tensor-core rounding; see run.sh.
#pragma once

#include <algorithm>
#include <atomic>
#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__
#define __launch_bounds__(...)
#define __restrict__ __restrict
#define __shared__ static
#define __align__(n) __attribute__((aligned(n)))

using std::max;
using std::min;

struct dim3 {
    unsigned x = 1, y = 1, z = 1;
};
inline thread_local dim3 threadIdx;
inline dim3 blockIdx, blockDim, gridDim;

struct alignas(16) float4 {
    float x, y, z, w;
};
struct alignas(8) float2 {
    float x, y;
};
struct alignas(16) uint4 {
    uint32_t x, y, z, w;
};
inline float4 make_float4(float a, float b, float c, float d) { return {a, b, c, d}; }
inline float2 make_float2(float a, float b) { return {a, b}; }
inline uint4 make_uint4(uint32_t a, uint32_t b, uint32_t c, uint32_t d) { return {a, b, c, d}; }

namespace emu {

// One warp's exchange slots (two, used alternately, so one barrier per
// collective suffices) and its barrier.
struct Warp {
    std::barrier<> bar{32};
    int parity[32] = {};
    struct Slot {
        const void* addr[32];
        uint32_t a[32][4];
        uint32_t b[32][2];
        float f[32];
    } slot[2];
};

inline std::barrier<>* block_bar;
inline Warp* warps;

inline int lane() { return threadIdx.x & 31; }
inline Warp& warp() { return warps[threadIdx.x >> 5]; }

// Dynamic shared memory of the running block (launch's smem_bytes): the
// 1024-byte-aligned start of the block's shared window, and the base the
// kernel sees (16 bytes past it, as a device gives no more than 16-byte
// alignment). Shared "addresses" (smem_u32) are offsets from the window.
inline uint8_t* smem_window;
inline uint8_t* dyn_smem_base;
inline size_t smem_limit;  // window offsets below it belong to the block
// Called at the start of every block (emu_sm90.h resets its mbarriers).
inline void (*block_start_hook)();

// Runs kernel over grid×block (1-D blocks, a multiple of 32 threads), with
// smem_bytes of dynamic shared memory per block, filled with 0xA5 bytes.
inline void launch(dim3 grid, int threads, const std::function<void()>& kernel, size_t smem_bytes = 0) {
    std::vector<uint8_t> smem(smem_bytes ? smem_bytes + 2048 : 0);
    if (smem_bytes) {
        smem_window = (uint8_t*)(((uintptr_t)smem.data() + 1023) & ~(uintptr_t)1023);
        dyn_smem_base = smem_window + 16;
        smem_limit = smem_bytes + 16;
    }
    gridDim = grid;
    blockDim = dim3{(unsigned)threads, 1, 1};
    for (unsigned z = 0; z < grid.z; z++)
        for (unsigned y = 0; y < grid.y; y++)
            for (unsigned x = 0; x < grid.x; x++) {
                blockIdx = dim3{x, y, z};
                if (smem_bytes) std::memset(smem.data(), 0xA5, smem.size());
                if (block_start_hook) block_start_hook();
                std::barrier<> bar(threads);
                block_bar = &bar;
                std::unique_ptr<Warp[]> ws(new Warp[threads / 32]);
                warps = ws.get();
                std::vector<std::thread> th;
                for (int t = 0; t < threads; t++)
                    th.emplace_back([t, &kernel] {
                        threadIdx = dim3{(unsigned)t, 0, 0};
                        kernel();
                    });
                for (auto& t : th) t.join();
            }
}

inline Warp::Slot& next_slot() {
    Warp& w = warp();
    int& p = w.parity[lane()];
    p ^= 1;
    return w.slot[p];
}

}  // namespace emu

inline void __syncthreads() { emu::block_bar->arrive_and_wait(); }

inline float __shfl_xor_sync(unsigned, float v, int m) {
    auto& s = emu::next_slot();
    s.f[emu::lane()] = v;
    emu::warp().bar.arrive_and_wait();
    return s.f[emu::lane() ^ m];
}

inline float atomicAdd(float* p, float v) { return std::atomic_ref<float>(*p).fetch_add(v); }

// The ragr_mma primitives that are inline PTX on the device.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

namespace ragr_mma {

// The hardware faults on misaligned cp.async and ldmatrix addresses; so
// does the emulator.
inline void check_align(const void* p, const char* what) {
    if ((uintptr_t)p % 16 != 0) {
        std::fprintf(stderr, "emu: %s address %p is not 16-byte aligned\n", what, p);
        std::abort();
    }
}

inline void cp_async16(void* dst, const void* src, int src_bytes) {
    check_align(dst, "cp.async shared");
    if (src_bytes > 0) check_align(src, "cp.async global");
    std::memset(dst, 0, 16);
    if (src_bytes > 0) std::memcpy(dst, src, (size_t)src_bytes);
}
inline void cp_async_commit() {}
template <int N>
inline void cp_async_wait() {}

inline uint16_t ld16(const void* row, int col) {
    uint16_t v;
    std::memcpy(&v, (const char*)row + 2 * col, 2);
    return v;
}

// ldmatrix .x4: matrix i's row r comes from lane 8i+r's address; lane l
// receives row l/4, columns 2(l%4) and 2(l%4)+1 (transposed: column l/4,
// rows 2(l%4) and 2(l%4)+1).
inline void ldsm_common(uint32_t (&r)[4], const void* p, bool trans) {
    auto& s = emu::next_slot();
    const int l = emu::lane();
    check_align(p, "ldmatrix");
    s.addr[l] = p;
    emu::warp().bar.arrive_and_wait();
    const int g = l >> 2, t = l & 3;
    for (int i = 0; i < 4; i++) {
        uint16_t lo, hi;
        if (!trans) {
            lo = ld16(s.addr[8 * i + g], 2 * t);
            hi = ld16(s.addr[8 * i + g], 2 * t + 1);
        } else {
            lo = ld16(s.addr[8 * i + 2 * t], g);
            hi = ld16(s.addr[8 * i + 2 * t + 1], g);
        }
        r[i] = (uint32_t)lo | ((uint32_t)hi << 16);
    }
}
inline void ldsm_x4(uint32_t (&r)[4], const void* p) { ldsm_common(r, p, false); }
inline void ldsm_x4_t(uint32_t (&r)[4], const void* p) { ldsm_common(r, p, true); }

inline float half_to_f(uint16_t h, bool bf) {
    if (bf) {
        __nv_bfloat16 v{h};
        return __bfloat162float(v);
    }
    __half v{h};
    return __half2float(v);
}

// m16n8k16, fragments as in mma.cuh's header comment.
template <typename T>
inline void mma16816(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
    constexpr bool bf = sizeof(T) == 2 && std::is_same_v<T, __nv_bfloat16>;
    auto& s = emu::next_slot();
    const int l = emu::lane();
    for (int i = 0; i < 4; i++) s.a[l][i] = a[i];
    s.b[l][0] = b0, s.b[l][1] = b1;
    emu::warp().bar.arrive_and_wait();
    float A[16][16], B[16][8];
    for (int x = 0; x < 32; x++) {
        const int g = x >> 2, t = x & 3;
        auto el = [&](uint32_t w, int hi) { return half_to_f((uint16_t)(hi ? w >> 16 : w & 0xffff), bf); };
        for (int h = 0; h < 2; h++) {
            A[g][2 * t + h] = el(s.a[x][0], h);
            A[g + 8][2 * t + h] = el(s.a[x][1], h);
            A[g][2 * t + 8 + h] = el(s.a[x][2], h);
            A[g + 8][2 * t + 8 + h] = el(s.a[x][3], h);
            B[2 * t + h][g] = el(s.b[x][0], h);
            B[2 * t + 8 + h][g] = el(s.b[x][1], h);
        }
    }
    const int g = l >> 2, t = l & 3;
    const int rows[4] = {g, g, g + 8, g + 8}, cols[4] = {2 * t, 2 * t + 1, 2 * t, 2 * t + 1};
    for (int e = 0; e < 4; e++) {
        float acc = d[e];
        for (int k = 0; k < 16; k++) acc += A[rows[e]][k] * B[k][cols[e]];
        d[e] = acc;
    }
}

}  // namespace ragr_mma
