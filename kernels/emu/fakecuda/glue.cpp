// The fake driver's kernel registry: kernel name -> emulated kernel
// (core.cpp, gemm_attn.cpp), and the launch entry point driver.cpp calls.
#include "registry.h"
#include <mutex>
std::map<std::string, KernelFn>& fake_registry() { static std::map<std::string, KernelFn> m; return m; }
void fake_register_core(); void fake_register_gemm(); void fake_register_attn(); void fake_register_sm90();
static std::once_flag once;
static std::mutex launch_mu;
extern "C" int fake_has(const char* name) {
    std::call_once(once, [] { fake_register_core(); fake_register_gemm(); fake_register_attn(); fake_register_sm90(); });
    return fake_registry().count(name) ? 1 : 0;
}
extern "C" int fake_launch(const char* name, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz, unsigned shm, void** params) {
    std::call_once(once, [] { fake_register_core(); fake_register_gemm(); fake_register_attn(); fake_register_sm90(); });
    auto it = fake_registry().find(name);
    if (it == fake_registry().end()) return 1;
    if (by != 1 || bz != 1 || bx % 32 != 0) return 2;
    std::lock_guard<std::mutex> g(launch_mu);
    it->second(dim3{gx, gy, gz}, bx, shm, params);
    return 0;
}
