/* common/: libc only: errors, whole-or-nothing file writes with fsync, the run lock, the ISA dispatch macro. */
#ifndef DS_COMMON_H
#define DS_COMMON_H

#include <stddef.h>
#include <stdio.h>

/* ==== errors ============================================================================================ */
/* Errors in library code: a function returns 0 on success or -1 on failure, having filled a
 * ds_err with a message that names the file, dataset or line at fault. Only the CLI prints. */
typedef struct {
  char msg[1024];
} ds_err;

/* Formats the message into err (if non-NULL) and returns -1, so callers can `return ds_fail(...)`. */
int ds_fail(ds_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prepends "prefix: " to an existing message (adds context on the way up); returns -1. */
int ds_fail_prefix(ds_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ==== files written whole or not at all ================================================================= */
/* Files written whole or not at all. The bytes go to PATH.tmp, which is flushed to the disk (fsync) and
 * renamed over PATH; then PATH's directory is synced, so the rename itself survives a crash. A crash or
 * an error at any point leaves the previous PATH (or none) and no PATH.tmp: never a torn file. Every
 * file distill writes for a user — checkpoints, run summaries and configs, exported models — goes
 * through here (checkpoints through ds_fsync_path, as HDF5 writes their temporary file itself). */
#define DS_ATOMIC_PATH_MAX 4096
/* What a file being written is called until its rename: PATH followed by this (checkpoints/ckpt_writer.c and
 * the run folder's stale-file cleanup use the same name). */
#define DS_ATOMIC_TMP_SUFFIX ".tmp"

typedef struct {
  FILE *f; /* write to this between open and commit */
  char path[DS_ATOMIC_PATH_MAX];
  char tmp[DS_ATOMIC_PATH_MAX + 8];
} ds_atomic_file;

/* Opens PATH.tmp for writing ("w" or "wb"). */
int ds_atomic_open(ds_atomic_file *a, const char *path, const char *mode, ds_err *err);
/* Flushes, syncs and closes PATH.tmp, renames it to PATH and syncs the directory. On any failure
 * (including an earlier write error on a->f) PATH.tmp is removed, PATH is left as it was, and err
 * says what failed. */
int ds_atomic_commit(ds_atomic_file *a, ds_err *err);
/* Closes and removes PATH.tmp (after an error of the caller's own). */
void ds_atomic_abort(ds_atomic_file *a);

/* The whole of data[0..size) as PATH. */
int ds_atomic_write(const char *path, const void *data, size_t size, ds_err *err);

/* fsync of a file (is_dir 0) or a directory (1); a file system that cannot sync directories counts as
 * synced. Returns 0 or -1 with errno set. */
int ds_fsync_path(const char *path, int is_dir);
/* The directory part of path ("." when none) into out. */
void ds_dir_of(const char *path, char *out, size_t n);

/* ==== one run per run folder ============================================================================ */
/* One training run per run folder. A run holds an exclusive flock(2) on DIR/run.lock for as long as it
 * lives; a second run on the same folder is refused instead of interleaving its checkpoints with the
 * first one's. The kernel drops the lock when the process ends however it ends (kill -9 included), so
 * the file left behind by a killed run never blocks `--resume`: only a live holder does. The file holds
 * the holder's process id, for the message; nothing else reads it. */
#define DS_RUN_LOCK_NAME "run.lock"

/* Locks DIR/run.lock (created if missing; DIR must exist) and returns its descriptor in *fd. Fails when
 * another process holds it ("DIR: another distill run (pid P) holds this run folder ...") or when the
 * file cannot be created (a read-only folder, say), naming the path. */
int ds_run_lock_acquire(const char *dir, int *fd, ds_err *err);
/* Releases the lock (the file stays). Safe on fd < 0. */
void ds_run_lock_release(int fd);

/* ==== hot loops for several instruction sets ============================================================ */
/* DS_VEC_CLONES: compile a hot loop for several instruction sets and pick the best at load time.
 *
 * The library is built for baseline x86-64 (SSE2, 4 floats per instruction) so one binary runs anywhere. GCC's
 * function multiversioning compiles a function marked DS_VEC_CLONES three times -- AVX-512 (x86-64-v4), AVX2
 * with FMA (x86-64-v3) and the baseline -- and an ifunc resolver picks one per process from the CPU it runs
 * on. The choice is fixed for a machine, so results stay reproducible there; across machines they may differ
 * in the last bits (FMA contraction), as any BLAS's do. Define DS_NO_TARGET_CLONES to build baseline only. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(DS_NO_TARGET_CLONES)
#define DS_VEC_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define DS_VEC_CLONES
#endif

#endif
