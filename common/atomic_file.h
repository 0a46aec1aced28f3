/* Files written whole or not at all. The bytes go to PATH.tmp, which is flushed to the disk (fsync) and
 * renamed over PATH; then PATH's directory is synced, so the rename itself survives a crash. A crash or
 * an error at any point leaves the previous PATH (or none) and no PATH.tmp: never a torn file. Every
 * file distill writes for a user — checkpoints, run summaries and configs, exported models — goes
 * through here (checkpoints through ds_fsync_path, as HDF5 writes their temporary file itself). */
#ifndef DS_COMMON_ATOMIC_FILE_H
#define DS_COMMON_ATOMIC_FILE_H

#include <stddef.h>
#include <stdio.h>

#include "common/error.h"

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

#endif
