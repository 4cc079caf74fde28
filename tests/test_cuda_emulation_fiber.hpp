// The CUDA emulation's coroutines (tests/test_cuda_emulation.hpp): every emulated GPU thread is a
// fiber with a stack of its own, and the scheduler switches to each in turn. A switch is frequent
// (every thread, at every barrier of every block), so it must be cheap: glibc's swapcontext makes
// a system call on each (it saves and restores the signal mask), which took about 90% of the
// emulated tests' time, and under AddressSanitizer it also clears the shadow of the whole stack it
// enters. On x86-64 Linux the switch here is a few instructions of our own
// (tests/cuda_emulation_fiber.cpp: the callee-saved registers, the SSE and x87 control words, the
// stack pointer); elsewhere it is ucontext, as before. Either way AddressSanitizer is told of each
// switch (__sanitizer_start_switch_fiber / __sanitizer_finish_switch_fiber), so it knows which
// stack is running. (Boost.Context would do the switch, but it supports AddressSanitizer only on
// its ucontext implementation, the slow one.)
//
// Use: prepare() a Context for each fiber with its stack and entry function; switch_to() from the
// running context to another; a fiber's entry calls started() first, with the context that
// switched to it, and leaves for good with exit_to() (an entry must never return).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#if defined(__x86_64__) && defined(__linux__)
#define DGEVAL_EMU_FIBER_ASM 1
#else
#define DGEVAL_EMU_FIBER_ASM 0
#include <ucontext.h>
#endif

#if defined(__SANITIZE_ADDRESS__)
#define DGEVAL_EMU_FIBER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DGEVAL_EMU_FIBER_ASAN 1
#endif
#endif
#ifndef DGEVAL_EMU_FIBER_ASAN
#define DGEVAL_EMU_FIBER_ASAN 0
#endif
#if DGEVAL_EMU_FIBER_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

#if DGEVAL_EMU_FIBER_ASM
/// Saves the callee-saved registers on the running stack, stores its pointer in *save_sp, and
/// resumes the stack at to_sp (as saved by an earlier call, or laid out by prepare()).
extern "C" void dgeval_emu_fiber_switch(void** save_sp, void* to_sp);
#endif

namespace emu::fiber {

/// A fiber, or the scheduler's own context (the thread's stack; its bounds are learnt when the
/// first fiber starts).
struct Context {
#if DGEVAL_EMU_FIBER_ASM
  void* sp = nullptr;
#else
  ucontext_t uc;
#endif
  void* fake_stack = nullptr;    ///< AddressSanitizer's, while the context is switched out
  const void* bottom = nullptr;  ///< the stack's lowest address
  std::size_t size = 0;          ///< and its size
};

/// Lays out `c` to run entry() on [stack, stack + size) at the first switch to it.
inline void prepare(Context& c, char* stack, std::size_t size, void (*entry)()) {
  c.bottom = stack;
  c.size = size;
  c.fake_stack = nullptr;
#if DGEVAL_EMU_FIBER_ASM
  // From the top (16-byte aligned): a null return address for entry() (which never returns), then
  // entry() as the switch's return address, the six callee-saved registers (zero), and the
  // control words (MXCSR 0x1F80, x87 0x037F: the defaults). So entry() starts with its stack
  // aligned as after a call.
  auto top = reinterpret_cast<std::uintptr_t>(stack + size) & ~std::uintptr_t{15};
  auto* w = reinterpret_cast<std::uint64_t*>(top) - 9;
  w[0] = 0x037Full << 32 | 0x1F80u;
  for (int r = 1; r <= 6; ++r) w[r] = 0;
  w[7] = reinterpret_cast<std::uint64_t>(entry);
  w[8] = 0;
  c.sp = w;
#else
  if (getcontext(&c.uc) != 0) std::abort();
  c.uc.uc_stack.ss_sp = stack;
  c.uc.uc_stack.ss_size = size;
  c.uc.uc_link = nullptr;
  makecontext(&c.uc, entry, 0);
#endif
}

namespace detail {
inline void raw_switch(Context& from, Context& to) {
#if DGEVAL_EMU_FIBER_ASM
  dgeval_emu_fiber_switch(&from.sp, to.sp);
#else
  if (swapcontext(&from.uc, &to.uc) != 0) std::abort();
#endif
}
}  // namespace detail

/// Runs `to` until something switches back to `from` (the running context).
inline void switch_to(Context& from, Context& to) {
#if DGEVAL_EMU_FIBER_ASAN
  __sanitizer_start_switch_fiber(&from.fake_stack, to.bottom, to.size);
#endif
  detail::raw_switch(from, to);
#if DGEVAL_EMU_FIBER_ASAN
  __sanitizer_finish_switch_fiber(from.fake_stack, nullptr, nullptr);
#endif
}

/// The first call of a fiber's entry: `from` is the context that switched to it (its stack's
/// bounds are recorded there, for the switches back).
inline void started(Context& from) {
#if DGEVAL_EMU_FIBER_ASAN
  __sanitizer_finish_switch_fiber(nullptr, &from.bottom, &from.size);
#else
  (void)from;
#endif
}

/// Leaves the running fiber (`from`) for good, for `to`; `from` may be prepared again afterwards.
[[noreturn]] inline void exit_to(Context& from, Context& to) {
#if DGEVAL_EMU_FIBER_ASAN
  __sanitizer_start_switch_fiber(nullptr, to.bottom, to.size);  // (null: the fiber's fake stack is freed)
#endif
  detail::raw_switch(from, to);
  std::abort();  // never resumed
}

}  // namespace emu::fiber
