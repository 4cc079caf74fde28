// The emulation's fiber switch on x86-64 Linux (tests/test_cuda_emulation_fiber.hpp), System V
// ABI: the callee-saved registers (rbx, rbp, r12 to r15) and the control words of SSE (MXCSR) and
// x87 are pushed on the running stack, its pointer stored, the other stack's loaded, and the same
// popped from it; the return goes where that stack last called the switch (or to a fresh fiber's
// entry, prepare()). tests/CMakeLists.txt compiles this file with -fcf-protection=none where the
// compiler enables it by default, so the program is not marked as fit for shadow stacks, which
// this switch does not keep.
#include "test_cuda_emulation_fiber.hpp"

#if DGEVAL_EMU_FIBER_ASM
asm(R"(
    .text
    .globl  dgeval_emu_fiber_switch
    .type   dgeval_emu_fiber_switch, @function
    .p2align 4
dgeval_emu_fiber_switch:
    pushq   %rbp
    pushq   %rbx
    pushq   %r12
    pushq   %r13
    pushq   %r14
    pushq   %r15
    subq    $8, %rsp
    stmxcsr (%rsp)
    fnstcw  4(%rsp)
    movq    %rsp, (%rdi)
    movq    %rsi, %rsp
    ldmxcsr (%rsp)
    fldcw   4(%rsp)
    addq    $8, %rsp
    popq    %r15
    popq    %r14
    popq    %r13
    popq    %r12
    popq    %rbx
    popq    %rbp
    ret
    .size   dgeval_emu_fiber_switch, .-dgeval_emu_fiber_switch
)");
#endif
