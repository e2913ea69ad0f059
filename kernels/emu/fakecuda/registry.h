// The fake driver's kernel registry: reg(name, kernel) makes a kernel
// launchable by name, unpacking cuLaunchKernel's argument pointers into the
// kernel's parameter types and running it in the host emulator (emu.h).
#pragma once
#include <functional>
#include <map>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
using KernelFn = std::function<void(dim3, unsigned, size_t, void**)>;
std::map<std::string, KernelFn>& fake_registry();
template <typename T> using bare_t = std::remove_cv_t<std::remove_reference_t<T>>;
template <typename... A, size_t... I>
void fake_invoke(void (*f)(A...), dim3 g, unsigned t, size_t shm, void** p, std::index_sequence<I...>) {
    std::tuple<bare_t<A>...> args{*reinterpret_cast<bare_t<A>*>(p[I])...};
    emu::launch(g, (int)t, [&] { std::apply(f, args); }, shm);
}
template <typename... A> void reg(const char* name, void (*f)(A...)) {
    fake_registry()[name] = [f](dim3 g, unsigned t, size_t shm, void** p) {
        fake_invoke(f, g, t, shm, p, std::index_sequence_for<A...>{});
    };
}
