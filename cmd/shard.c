/*
 * cmd/shard.c: which items a --shard K/N copy owns. See shard.h.
 */
#include "cmd/shard.h"
#include "cmd/cmd.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* shards beyond this are a typo, not a cluster */
#define MAX_SHARDS 1000000

uint64_t cmd_shard_hash(const char *key)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3u;
    }
    /* FNV's low bits mix poorly; mod N with N a power of two needs them */
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9u;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebu;
    h ^= h >> 31;
    return h;
}

int cmd_shard_has(const struct cmd_shard *s, const char *key)
{
    return s->n == 0 || cmd_shard_hash(key) % s->n == s->k;
}

__attribute__((format(printf, 3, 4)))
static int fail(char *msg, size_t msglen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, msglen, fmt, ap);
    va_end(ap);
    return -1;
}

/* An environment variable as a number; -1 with msg if unset or bad. */
static int env_u64(const char *value, const char *name, uint64_t max,
                   uint64_t *out, char *msg, size_t msglen)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return fail(msg, msglen, "invalid --shard '%s' (%s is not set)",
                    value, name);
    if (cmd_parse_u64(v, 0, max, out))
        return fail(msg, msglen, "invalid --shard '%s' (%s is '%s', not a "
                    "number in range)", value, name, v);
    return 0;
}

static int check(struct cmd_shard *s, uint64_t k, uint64_t n,
                 const char *value, char *msg, size_t msglen)
{
    if (n < 1 || k >= n)
        return fail(msg, msglen, "invalid --shard '%s' (need 0 <= K < N)",
                    value);
    s->k = k;
    s->n = n;
    return 0;
}

/*
 * K is SLURM_ARRAY_TASK_ID mod N, with N stated by the user, never taken
 * from the array: a resubmitted "sbatch --array=2" is a one-task array
 * with MIN 2 (and "--array=2,6" reports STEP 1), so the array's COUNT,
 * MIN and STEP describe that submission, not the whole job. Any N
 * consecutive ids (0-15, 1-16) are every shard once; a submission whose
 * ids span N or more would give two tasks one shard, so it is refused.
 */
static int parse_slurm(struct cmd_shard *s, const char *value, char *msg,
                       size_t msglen)
{
    uint64_t id, n, min, max;

    if (value[5] == '/') {
        if (cmd_parse_u64(value + 6, 1, MAX_SHARDS, &n))
            return fail(msg, msglen, "invalid --shard '%s' (N must be "
                        "1..1000000)", value);
    } else if (!getenv("IMGBATCH_SHARD_COUNT")) {
        return fail(msg, msglen, "invalid --shard '%s' (N is not set: use "
                    "slurm/N or IMGBATCH_SHARD_COUNT=N)", value);
    } else if (env_u64(value, "IMGBATCH_SHARD_COUNT", MAX_SHARDS, &n, msg,
                       msglen)) {
        return -1;
    }
    if (n < 1)
        return fail(msg, msglen, "invalid --shard '%s' (N must be "
                    "1..1000000)", value);
    if (env_u64(value, "SLURM_ARRAY_TASK_ID", UINT32_MAX, &id, msg, msglen))
        return -1;
    if (getenv("SLURM_ARRAY_TASK_MIN") && getenv("SLURM_ARRAY_TASK_MAX")) {
        if (env_u64(value, "SLURM_ARRAY_TASK_MIN", UINT32_MAX, &min, msg,
                    msglen) ||
            env_u64(value, "SLURM_ARRAY_TASK_MAX", UINT32_MAX, &max, msg,
                    msglen))
            return -1;
        if (max >= min && max - min >= n)
            return fail(msg, msglen, "invalid --shard '%s' (task ids %"
                        PRIu64 "-%" PRIu64 " span more than %" PRIu64
                        " shards: use --array=0-%" PRIu64 ")", value, min,
                        max, n, n - 1);
    }
    return check(s, id % n, n, value, msg, msglen);
}

int cmd_shard_parse(struct cmd_shard *s, const char *value, char *msg,
                    size_t msglen)
{
    uint64_t k, n;
    const char *slash = strchr(value, '/');

    if (!strncmp(value, "slurm", 5) && (!value[5] || value[5] == '/'))
        return parse_slurm(s, value, msg, msglen);
    if (!strncmp(value, "k8s", 3) && (!value[3] || value[3] == '/')) {
        if (env_u64(value, "JOB_COMPLETION_INDEX", MAX_SHARDS, &k, msg,
                    msglen))
            return -1;
        if (value[3] ? cmd_parse_u64(value + 4, 1, MAX_SHARDS, &n)
                     : env_u64(value, "IMGBATCH_SHARD_COUNT", MAX_SHARDS,
                               &n, msg, msglen))
            return value[3] ? fail(msg, msglen, "invalid --shard '%s' (N "
                                   "must be 1..1000000)", value)
                            : -1;
        return check(s, k, n, value, msg, msglen);
    }
    if (!slash)
        return fail(msg, msglen, "invalid --shard '%s' (K/N, k8s[/N] or "
                    "slurm[/N])", value);
    char kbuf[32];
    size_t klen = (size_t)(slash - value);
    if (klen == 0 || klen >= sizeof kbuf)
        return fail(msg, msglen, "invalid --shard '%s' (K/N)", value);
    memcpy(kbuf, value, klen);
    kbuf[klen] = '\0';
    if (cmd_parse_u64(kbuf, 0, MAX_SHARDS, &k) ||
        cmd_parse_u64(slash + 1, 1, MAX_SHARDS, &n))
        return fail(msg, msglen, "invalid --shard '%s' (K/N with N in "
                    "1..1000000)", value);
    return check(s, k, n, value, msg, msglen);
}
