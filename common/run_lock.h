/* One training run per run folder. A run holds an exclusive flock(2) on DIR/run.lock for as long as it
 * lives; a second run on the same folder is refused instead of interleaving its checkpoints with the
 * first one's. The kernel drops the lock when the process ends however it ends (kill -9 included), so
 * the file left behind by a killed run never blocks `--resume`: only a live holder does. The file holds
 * the holder's process id, for the message; nothing else reads it. */
#ifndef DS_COMMON_RUN_LOCK_H
#define DS_COMMON_RUN_LOCK_H

#include "common/error.h"

#define DS_RUN_LOCK_NAME "run.lock"

/* Locks DIR/run.lock (created if missing; DIR must exist) and returns its descriptor in *fd. Fails when
 * another process holds it ("DIR: another distill run (pid P) holds this run folder ...") or when the
 * file cannot be created (a read-only folder, say), naming the path. */
int ds_run_lock_acquire(const char *dir, int *fd, ds_err *err);
/* Releases the lock (the file stays). Safe on fd < 0. */
void ds_run_lock_release(int fd);

#endif
