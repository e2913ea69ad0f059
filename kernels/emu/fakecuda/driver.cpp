// A fake CUDA driver: device memory is host memory, kernels run in the
// kernels/emu host emulator (synchronously, one launch at a time).
#include <cuda.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>
#include <atomic>

extern "C" int fake_has(const char* name);
extern "C" int fake_launch(const char* name, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz, unsigned shm, void** params);

static std::mutex mu;
static std::unordered_map<uintptr_t, size_t> allocs;
static size_t used = 0;
static size_t limit() { static size_t l = getenv("FAKECUDA_MEM_LIMIT") ? strtoull(getenv("FAKECUDA_MEM_LIMIT"), 0, 10) : (size_t)16 << 30; return l; }
static bool trace() { static int t = getenv("FAKECUDA_TRACE") ? 1 : 0; return t; }
// FAKECUDA_CC: the compute capability played (80 by default; 90 makes the
// Go side take the sm_90a paths, whose kernels sm90.cpp emulates).
static int cc() { static int c = getenv("FAKECUDA_CC") ? atoi(getenv("FAKECUDA_CC")) : 80; return c; }

// The context current on the calling OS thread, as the real driver keeps it:
// every call below that needs a context fails with
// CUDA_ERROR_INVALID_CONTEXT on a thread where none was made current (a
// Go caller outside cuda.Device.do, whose goroutine can land on any thread;
// an H200 answered cuTensorMapEncodeTiled so).
static thread_local CUcontext cur_ctx = 0;
#define NEED_CTX(call)                                                                                  \
    do {                                                                                                \
        if (!cur_ctx) {                                                                                 \
            fprintf(stderr, "fakecuda: %s on a thread with no current context\n", call);               \
            return CUDA_ERROR_INVALID_CONTEXT;                                                          \
        }                                                                                               \
    } while (0)

// The emulator's tensor map (kernels/emu/emu_sm90.h, emu::Tmap): what
// cuTensorMapEncodeTiled is given, kept in the 128-byte CUtensorMap.
struct FakeTmap {
    const uint8_t* base;
    uint64_t dims[3];
    uint64_t strides[2];
    uint32_t box[3];
    uint32_t esize;
};

// fake_tmap_encode is cuTensorMapEncodeTiled for rank-3 maps (what the
// sm_90a GEMM launcher encodes): the arguments as the emulator reads them.
static CUresult fake_tmap_encode(void* map, int dtype, cuuint32_t rank, void* addr, const cuuint64_t* dims,
                                 const cuuint64_t* strides, const cuuint32_t* box, const cuuint32_t*, int, int, int, int) {
    NEED_CTX("cuTensorMapEncodeTiled");
    if (rank != 3) return CUDA_ERROR_INVALID_VALUE;
    FakeTmap m{};
    m.base = (const uint8_t*)addr;
    for (int i = 0; i < 3; i++) m.dims[i] = dims[i], m.box[i] = box[i];
    m.strides[0] = strides[0], m.strides[1] = strides[1];
    switch (dtype) {
    case 6: case 9: m.esize = 2; break;  // FLOAT16, BFLOAT16
    case 7: m.esize = 4; break;          // FLOAT32
    default: return CUDA_ERROR_INVALID_VALUE;
    }
    if ((uintptr_t)addr % 16 || m.strides[0] % 16 || m.strides[1] % 16) return CUDA_ERROR_INVALID_VALUE;
    memset(map, 0, 128);
    memcpy(map, &m, sizeof m);
    return CUDA_SUCCESS;
}
std::atomic<long> n_launch{0};

extern "C" {
CUresult cuInit(unsigned) { return CUDA_SUCCESS; }
CUresult cuDriverGetVersion(int* v) { *v = 11080; return CUDA_SUCCESS; }
CUresult cuDeviceGetCount(int* n) { *n = 1; return CUDA_SUCCESS; }
CUresult cuDeviceGet(CUdevice* d, int o) { if (o != 0) return CUDA_ERROR_INVALID_DEVICE; *d = 0; return CUDA_SUCCESS; }
CUresult cuDeviceGetName(char* s, int n, CUdevice) { snprintf(s, n, "FakeEmu"); return CUDA_SUCCESS; }
CUresult cuDeviceGetAttribute(int* v, CUdevice_attribute a, CUdevice) {
    switch (a) {
    // one SM by default (grid-stride launchers then launch few blocks: the
    // emulator runs every CUDA thread as an OS thread), an H100's 132 when
    // playing one (the sm_90a tile choices depend on it); an A100's or an
    // H100's shared memory
    case CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT: *v = getenv("FAKECUDA_SMS") ? atoi(getenv("FAKECUDA_SMS")) : cc() == 90 ? 132 : 1; break;
    case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR: *v = cc() / 10; break;
    case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR: *v = cc() % 10; break;
    case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN: *v = cc() == 90 ? 232448 : 166912; break;
    case CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE: *v = cc() == 90 ? 50 << 20 : 40 << 20; break;
    default: *v = 0;
    }
    return CUDA_SUCCESS;
}
CUresult cuDeviceTotalMem(size_t* b, CUdevice) { *b = limit(); return CUDA_SUCCESS; }
CUresult cuDevicePrimaryCtxRetain(CUcontext* c, CUdevice) { *c = (CUcontext)0x1; return CUDA_SUCCESS; }
CUresult cuDevicePrimaryCtxRelease(CUdevice) { return CUDA_SUCCESS; }
CUresult cuCtxSetCurrent(CUcontext c) { cur_ctx = c; return CUDA_SUCCESS; }
CUresult cuCtxSynchronize() { NEED_CTX("cuCtxSynchronize"); return CUDA_SUCCESS; }
CUresult cuStreamCreate(CUstream* s, unsigned) { NEED_CTX("cuStreamCreate"); *s = (CUstream)0x2; return CUDA_SUCCESS; }
CUresult cuStreamDestroy(CUstream) { NEED_CTX("cuStreamDestroy"); return CUDA_SUCCESS; }
CUresult cuStreamSynchronize(CUstream) { NEED_CTX("cuStreamSynchronize"); return CUDA_SUCCESS; }
CUresult cuModuleLoadData(CUmodule* m, const void*) { NEED_CTX("cuModuleLoadData"); *m = (CUmodule)0x3; return CUDA_SUCCESS; }
CUresult cuModuleUnload(CUmodule) { NEED_CTX("cuModuleUnload"); return CUDA_SUCCESS; }
CUresult cuModuleGetFunction(CUfunction* f, CUmodule, const char* name) {
    NEED_CTX("cuModuleGetFunction");
    if (!fake_has(name)) { fprintf(stderr, "fakecuda: no emulated kernel %s\n", name); return CUDA_ERROR_NOT_FOUND; }
    *f = (CUfunction)strdup(name);
    return CUDA_SUCCESS;
}
CUresult cuFuncSetAttribute(CUfunction, CUfunction_attribute, int) { return CUDA_SUCCESS; }
CUresult cuLaunchKernel(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                        unsigned shm, CUstream, void** params, void**) {
    NEED_CTX("cuLaunchKernel");
    const char* name = (const char*)f;
    n_launch++;
    if (trace()) fprintf(stderr, "fakecuda: launch %s grid(%u,%u,%u) block(%u,%u,%u) shm %u\n", name, gx, gy, gz, bx, by, bz, shm);
    int r = fake_launch(name, gx, gy, gz, bx, by, bz, shm, params);
    if (r) { fprintf(stderr, "fakecuda: launch %s failed %d\n", name, r); return CUDA_ERROR_LAUNCH_FAILED; }
    return CUDA_SUCCESS;
}
CUresult cuGetErrorName(CUresult r, const char** s) {
    switch (r) {
    case CUDA_ERROR_OUT_OF_MEMORY: *s = "CUDA_ERROR_OUT_OF_MEMORY"; break;
    case CUDA_ERROR_LAUNCH_FAILED: *s = "CUDA_ERROR_LAUNCH_FAILED"; break;
    case CUDA_ERROR_INVALID_VALUE: *s = "CUDA_ERROR_INVALID_VALUE"; break;
    case CUDA_ERROR_INVALID_CONTEXT: *s = "CUDA_ERROR_INVALID_CONTEXT"; break;
    default: *s = "CUDA_ERROR_FAKE";
    }
    return CUDA_SUCCESS;
}
CUresult cuGetProcAddress(const char* name, void** fn, int, cuuint64_t) {
    if (cc() == 90 && strcmp(name, "cuTensorMapEncodeTiled") == 0) {
        *fn = (void*)fake_tmap_encode;
        return CUDA_SUCCESS;
    }
    *fn = 0;
    return CUDA_ERROR_NOT_FOUND;
}
CUresult cuMemAlloc(CUdeviceptr* p, size_t n) {
    NEED_CTX("cuMemAlloc");
    std::lock_guard<std::mutex> g(mu);
    if (used + n > limit()) return CUDA_ERROR_OUT_OF_MEMORY;
    void* q = aligned_alloc(256, (n + 255) / 256 * 256);
    if (!q) return CUDA_ERROR_OUT_OF_MEMORY;
    memset(q, 0xCD, n); // uninitialised device memory: a recognisable garbage pattern (NaN-ish floats)
    allocs[(uintptr_t)q] = n;
    used += n;
    *p = (CUdeviceptr)q;
    return CUDA_SUCCESS;
}
CUresult cuMemFree(CUdeviceptr p) {
    NEED_CTX("cuMemFree");
    std::lock_guard<std::mutex> g(mu);
    auto it = allocs.find((uintptr_t)p);
    if (it == allocs.end()) { fprintf(stderr, "fakecuda: free of unknown %p\n", (void*)p); return CUDA_ERROR_INVALID_VALUE; }
    used -= it->second;
    allocs.erase(it);
    free((void*)p);
    return CUDA_SUCCESS;
}
CUresult cuMemGetInfo(size_t* f, size_t* t) { NEED_CTX("cuMemGetInfo"); std::lock_guard<std::mutex> g(mu); *t = limit(); *f = limit() - used; return CUDA_SUCCESS; }
CUresult cuMemcpyHtoDAsync(CUdeviceptr d, const void* s, size_t n, CUstream) { NEED_CTX("cuMemcpyHtoDAsync"); memcpy((void*)d, s, n); return CUDA_SUCCESS; }
CUresult cuMemcpyDtoHAsync(void* d, CUdeviceptr s, size_t n, CUstream) { NEED_CTX("cuMemcpyDtoHAsync"); memcpy(d, (void*)s, n); return CUDA_SUCCESS; }
CUresult cuMemcpyDtoDAsync(CUdeviceptr d, CUdeviceptr s, size_t n, CUstream) { NEED_CTX("cuMemcpyDtoDAsync"); memmove((void*)d, (void*)s, n); return CUDA_SUCCESS; }
CUresult cuMemsetD32Async(CUdeviceptr d, unsigned v, size_t n, CUstream) { NEED_CTX("cuMemsetD32Async"); unsigned* p = (unsigned*)d; for (size_t i = 0; i < n; i++) p[i] = v; return CUDA_SUCCESS; }
CUresult cuMemcpy2DAsync(const CUDA_MEMCPY2D* c, CUstream) {
    NEED_CTX("cuMemcpy2DAsync");
    if (c->WidthInBytes > c->dstPitch || c->WidthInBytes > c->srcPitch) return CUDA_ERROR_INVALID_VALUE;
    for (size_t r = 0; r < c->Height; r++)
        memcpy((char*)c->dstDevice + c->dstXInBytes + (c->dstY + r) * c->dstPitch, (const char*)c->srcDevice + c->srcXInBytes + (c->srcY + r) * c->srcPitch, c->WidthInBytes);
    return CUDA_SUCCESS;
}
CUresult cuEventCreate(CUevent* e, unsigned) { NEED_CTX("cuEventCreate"); *e = (CUevent)new double(0); return CUDA_SUCCESS; }
CUresult cuEventRecord(CUevent, CUstream) { NEED_CTX("cuEventRecord"); return CUDA_SUCCESS; }
CUresult cuEventElapsedTime(float* ms, CUevent, CUevent) { *ms = 0.001f; return CUDA_SUCCESS; }
CUresult cuEventDestroy(CUevent e) { delete (double*)e; return CUDA_SUCCESS; }
CUresult cuEventSynchronize(CUevent) { NEED_CTX("cuEventSynchronize"); return CUDA_SUCCESS; }
}
