/*
 * cmd/shard.h: --shard K/N, the same for fetch, transform and run.
 *
 * An item belongs to shard hash(key) mod N, where key is its URL (fetch,
 * run) or its path relative to its root (transform) and hash is FNV-1a 64
 * over the key's bytes followed by the splitmix64 finaliser. The result
 * depends on the key alone: N copies with K = 0..N-1 cover every item once
 * with no coordination, and adding items never moves the others.
 *
 * VALUE forms:
 *   K/N      0 <= K < N
 *   k8s/N    K from JOB_COMPLETION_INDEX (a Kubernetes Indexed Job)
 *   k8s      the same, N from IMGBATCH_SHARD_COUNT
 *   slurm/N  K = SLURM_ARRAY_TASK_ID mod N (a Slurm job array: any N
 *            consecutive ids, 0-15 or 1-16 for N = 16); refused when
 *            this submission's ids (SLURM_ARRAY_TASK_MIN..MAX) span N
 *            or more, as two tasks would share a shard
 *   slurm    the same, N from IMGBATCH_SHARD_COUNT
 * N is never the array's size: resubmitting one index (--array=2) makes
 * a one-task array, and its only task must still be shard 2 of N.
 */
#ifndef IB_CMD_SHARD_H
#define IB_CMD_SHARD_H

#include <stddef.h>
#include <stdint.h>

#define CMD_SHARD_HELP "K/N, k8s[/N] or slurm[/N]: only items whose key " \
                       "hashes to K mod N"

struct cmd_shard {
    uint64_t k, n;   /* n == 0: no --shard, every item is in */
};

/*
 * Parses VALUE (reading the environment for k8s and slurm) into *s.
 * 0, or -1 with a one-line reason in msg.
 */
int cmd_shard_parse(struct cmd_shard *s, const char *value, char *msg,
                    size_t msglen);

/* 1 if the item with this key is in shard s. */
int cmd_shard_has(const struct cmd_shard *s, const char *key);

uint64_t cmd_shard_hash(const char *key);

#endif
