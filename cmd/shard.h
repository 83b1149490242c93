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
 *   slurm    K = (SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN)
 *            / SLURM_ARRAY_TASK_STEP, N = SLURM_ARRAY_TASK_COUNT
 *            (MIN 0 and STEP 1 when unset)
 */
#ifndef IB_CMD_SHARD_H
#define IB_CMD_SHARD_H

#include <stddef.h>
#include <stdint.h>

#define CMD_SHARD_HELP "K/N, k8s[/N] or slurm: only items whose key hashes " \
                       "to K mod N"

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
