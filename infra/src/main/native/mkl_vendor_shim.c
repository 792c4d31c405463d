/*
 * Answers "yes" to the vendor check of the Intel MKL that libtorch links statically.
 *
 * MKL chooses its kernels by CPU vendor before instruction set: on a non-Intel CPU it runs its
 * generic AVX2 code even where AVX-512 is present. On this project's AMD EPYC machines that halves
 * the float32 GEMM rate of PyTorch 2.7.1 (1536x256x1024 on one core: 9.4 ms -> 4.0 ms, 86 -> 202
 * GFLOP/s, measured with `rlhf bench`), and GEMMs are most of a PPO step. MKL still chooses among
 * its kernels by the CPUID feature bits it reads itself, so a CPU without AVX-512 keeps AVX2 code.
 *
 * The rlhf launcher compiles this file on AMD x86_64 Linux when a C compiler is present and puts
 * it on LD_PRELOAD (libtorch_cpu.so exports the symbol, so the dynamic linker binds MKL's calls to
 * this definition). RLHF_MKL_SHIM=0 turns it off.
 */
int mkl_serv_intel_cpu_true(void) {
    return 1;
}
