/* DS_VEC_CLONES: compile a hot loop for several instruction sets and pick the best at load time.
 *
 * The library is built for baseline x86-64 (SSE2, 4 floats per instruction) so one binary runs anywhere. GCC's
 * function multiversioning compiles a function marked DS_VEC_CLONES three times -- AVX-512 (x86-64-v4), AVX2
 * with FMA (x86-64-v3) and the baseline -- and an ifunc resolver picks one per process from the CPU it runs
 * on. The choice is fixed for a machine, so results stay reproducible there; across machines they may differ
 * in the last bits (FMA contraction), as any BLAS's do. Define DS_NO_TARGET_CLONES to build baseline only. */
#ifndef DS_COMMON_VEC_CLONES_H
#define DS_COMMON_VEC_CLONES_H

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(DS_NO_TARGET_CLONES)
#define DS_VEC_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define DS_VEC_CLONES
#endif

#endif
