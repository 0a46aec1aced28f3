/* Thread counts are the caller's: the library never changes them. A program (the CLI, a test, a
 * benchmark) calls ds_threads_set once before it trains or runs a model. distill's kernels split each
 * matmul across OpenMP threads themselves, so OpenBLAS runs single-threaded: its own pool would spin
 * against OpenMP's on the same cores. */
#ifndef DS_MODEL_THREADS_H
#define DS_MODEL_THREADS_H

/* OpenMP threads = n (n <= 0: OpenMP's default, one per core) and OpenBLAS single-threaded. */
void ds_threads_set(int n);

#endif
