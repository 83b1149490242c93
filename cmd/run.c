/*
 * cmd/run.c: imgbatch run [OPTIONS] URLS.txt|- -o OUT
 *
 * Download and transform, overlapped (DESIGN.md, STYLE.md §2). Reads
 * top-down: its usage (the options are cmd/run_opts.c); the per-item
 * steps (a URL fetched, a landed file's task in a worker, its result in
 * the parent), each ending in one report line that covers both stages;
 * the summary; the command. The batch around them, from OUT locked to
 * the exit code, is cmd/run_batch.c.
 *
 * Reruns: a 304 whose outputs carry the download's mtime (cmd/stamp.c)
 * is "unchanged" and costs no worker; a 200 with the same bytes (a kill
 * -9 cost the fetch index) is recognised by a worker from the journal's
 * hash and restamped without decoding (cmd/run_item.c).
 */
#include "cmd/run_batch.h"
#include "fetch/fetch.h"
#include "pool/pool.h"
#include "transform/transform.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const char usage_line[] =
    "imgbatch run [OPTIONS] URLS.txt|- -o OUT";
static const char about[] =
    "Downloads each URL of the list (as imgbatch fetch) into the download\n"
    "folder and, as each file lands, transforms it in a free worker (as\n"
    "imgbatch transform) to OUT/<download name, extension set by --format>,\n"
    "or as --name says; --size/--width and a list of --format make several\n"
    "renditions from one decode, named before any download starts.\n"
    "A rerun asks the server whether each file changed; an unchanged file\n"
    "whose output is up to date costs nothing more. Killed at any moment, a\n"
    "rerun finishes the rest. exit: 0 all ok, 1 failures past --fail-on,\n"
    "2 usage error, 3 cannot run, 128 + N stopped by signal N.";

_Static_assert((int)RUN_NSTATUS == (int)BATCH_NSTATUS,
               "run_status follows batch_status");

/* What a report line says beyond the fetch fields. */
struct outcome {
    enum run_status status;
    const char *stage;   /* "fetch" or "transform" when failed */
    const char *error;
    double transform_ms; /* < 0: no decode happened */
    const uint32_t *dims;
    const struct run_item *item;   /* with renditions: its outputs */
    const char *none;    /* their status when the worker said nothing */
    int results;         /* the worker's results are in item */
};

/* -v: one line per URL, as transform's */
static void say_done(const struct run *r, const struct outcome *o,
                     const char *url, const char *out)
{
    fprintf(stderr, "imgbatch run: %s '%s'", batch_status_name[o->status],
            url);
    if (render_active(&r->s->img) && o->item && o->results)
        run_item_say(r->s, o->item);
    else
        fprintf(stderr, " -> '%s'\n", out);
}

/* p's dl and out may be NULL; landed_ms < 0: no file landed. */
static void report(struct run *r, struct run_pend *p, const char *url,
                   const struct outcome *o)
{
    double now = cmd_now_ms() - r->t0;
    char *hidden;

    url = cmd_url_shown(url, &hidden);   /* no password */
    p->reported = 1;
    struct cmd_json *j = batch_item_begin(&r->b);
    cmd_json_str(j, "url", url);
    cmd_json_str(j, "file", p->dl);
    cmd_json_str(j, "output", o->status <= RUN_UNCHANGED ? p->out : NULL);
    cmd_json_str(j, "stage", o->stage);
    batch_item_fetch(j, p->http, p->bytes, p->attempts, p->fetch_ms);
    if (o->transform_ms >= 0)
        cmd_json_num(j, "transform_ms", o->transform_ms);
    else
        cmd_json_null(j, "transform_ms");
    if (o->dims) {
        cmd_json_int(j, "width_in", o->dims[0]);
        cmd_json_int(j, "height_in", o->dims[1]);
        cmd_json_int(j, "width_out", o->dims[2]);
        cmd_json_int(j, "height_out", o->dims[3]);
    }
    cmd_json_str(j, "error", o->error);
    if (p->landed_ms >= 0)
        cmd_json_num(j, "landed_ms", p->landed_ms);
    else
        cmd_json_null(j, "landed_ms");
    cmd_json_num(j, "done_ms", now);
    if (render_active(&r->s->img))
        run_item_report(j, r->s, o->item, o->results, o->none);
    batch_item_end(&r->b, (enum batch_status)o->status);

    if (o->status == RUN_FAILED) {
        batch_clear_progress(&r->b);
        cmd_item_error("run", !strcmp(o->stage, "fetch") ? "fetch"
                                                          : "transform",
                       url, o->error);
    } else if (r->s->o.verbose && o->status < RUN_SKIPPED) {
        batch_clear_progress(&r->b);
        say_done(r, o, url, p->out);
    }
    free(hidden);
    run_progress(r);
}

/* stale: only those a killed copy of this shard left */
static void remove_temps(struct run *r, const struct run_item *item,
                         int stale)
{
    for (size_t k = 0; k < r->per; k++)
        if (!stale || run_dirs_stale(&r->d, item->out[k].out))
            ib_transform_remove_temps(&r->d.out, item->out[k].out);
}

void run_report_skipped(struct run *r, struct run_pend *p)
{
    struct outcome o = {.status = RUN_SKIPPED, .error = "interrupted",
                        .transform_ms = -1};
    report(r, p, p->url, &o);
}

void run_on_result(void *ctx, size_t index, const struct ib_pool_result *res)
{
    struct run *r = ctx;
    struct run_pend *p = &r->pend[index];
    struct run_item *item = run_item_at(r->items, r->per, index);
    struct run_result d;
    struct outcome o = {.status = RUN_FAILED, .stage = "transform",
                        .transform_ms = res->end_ms - res->start_ms,
                        .item = item, .none = "not_run"};

    r->finished++;
    memcpy(&d, res->data, sizeof d);
    if (res->state == IB_POOL_DONE) {
        /* what it made or kept is recorded, even when a sibling failed */
        run_journal_add_item(&r->journal, item, r->per);
        o.results = 1;
    }
    if (res->state == IB_POOL_DONE && res->status == 0) {
        o.status = d.decoded ? RUN_OK : RUN_UNCHANGED;
        o.stage = NULL;
        o.dims = d.decoded ? d.dims : NULL;
        if (!d.decoded)
            o.transform_ms = -1;
        else
            r->transformed++;
    } else if (res->state == IB_POOL_CRASHED && cmd_stop &&
               !strcmp(res->msg, "interrupted")) {
        /* killed at the end of the stop's grace: not the image's fault */
        remove_temps(r, item, 0);
        o.status = RUN_INTERRUPTED;
        o.error = res->msg;
    } else if (res->state == IB_POOL_NOT_RUN) {
        o.status = RUN_SKIPPED;
        o.stage = NULL;
        o.error = "interrupted";
        o.transform_ms = -1;
    } else {
        /* its worker died mid-write: nobody else writes this output */
        if (res->state == IB_POOL_CRASHED || res->state == IB_POOL_TIMEOUT) {
            remove_temps(r, item, 0);
            o.none = "failed";   /* some may be written, unrecorded */
        }
        o.error = res->msg[0] ? res->msg : "failed";
    }
    report(r, p, p->url, &o);
}

void run_on_fetched(void *ctx, const struct ib_fetch_item *it)
{
    struct run *r = ctx;
    struct outcome o = {.status = RUN_FAILED, .stage = "fetch",
                        .error = it->msg, .transform_ms = -1};
    int landed = it->status == IB_FETCH_DONE_OK ||
                 it->status == IB_FETCH_DONE_UNCHANGED;

    r->fetched++;
    r->bytes += it->bytes;
    if (!landed || r->nslots >= r->list.n) {
        struct run_pend f = {.http = it->http, .attempts = it->attempts,
                             .fetch_ms = it->ms, .landed_ms = -1};
        if (it->status == IB_FETCH_DONE_SKIPPED)
            o.status = RUN_SKIPPED;
        else if (it->status == IB_FETCH_DONE_INTERRUPTED)
            o.status = RUN_INTERRUPTED;
        if (landed)
            o.error = "more files than URLs";   /* cannot happen */
        report(r, &f, it->url, &o);
        return;
    }
    size_t i = r->nslots++;
    struct run_pend *p = &r->pend[i];
    struct run_item *item = run_item_at(r->items, r->per, i);
    char msg[IB_POOL_MSGLEN];

    r->downloaded += it->status == IB_FETCH_DONE_OK;
    r->not_modified += it->status == IB_FETCH_DONE_UNCHANGED;
    *p = (struct run_pend){.http = it->http, .bytes = it->bytes,
                           .attempts = it->attempts, .fetch_ms = it->ms,
                           .landed_ms = cmd_now_ms() - r->t0};
    p->url = cmd_strdup(it->url);
    p->dl = cmd_strdup(it->path);
    o.item = item;
    o.none = "not_run";
    o.stage = "transform";
    if (run_item_fill(r->s, &r->list, item, it->url, it->file, it->path,
                      msg, sizeof msg)) {
        o.error = msg;
        o.item = NULL;   /* its names are not known */
        report(r, p, p->url, &o);
        return;
    }
    p->out = cmd_path_join(r->s->o.out, item->out[0].out);
    if (run_names_claim_item(&r->names, item, r->per, p->url, msg,
                             sizeof msg)) {
        o.error = msg;
        report(r, p, p->url, &o);
        return;
    }
    if (!r->s->o.force)
        run_journal_get_item(&r->journal, item, r->per);
    /* a 304 keeps the outputs only if this recipe made each */
    if (!r->s->o.force && it->status == IB_FETCH_DONE_UNCHANGED &&
        run_item_unchanged(r->s, item, p->dl)) {
        o = (struct outcome){.status = RUN_UNCHANGED, .transform_ms = -1,
                             .item = item, .none = "skipped"};
        report(r, p, p->url, &o);
        return;
    }
    /* a killed copy of this shard left temp files for these outputs */
    remove_temps(r, item, 1);
    r->submitted++;
    int prc = ib_pool_submit(r->pool, i);
    if (prc == IB_POOL_EINTR) {
        r->submitted--;
        run_report_skipped(r, p);
    }
    /* IB_POOL_ESYS: no worker can be forked; the wait reports it */
}

int run_task(void *ctx, size_t index, void *data, char *msg, size_t msglen)
{
    const struct run *r = ctx;
    struct run_result d;
    _Static_assert(sizeof d <= IB_POOL_DATALEN, "a pool payload");
    int rc = run_item_task(r->s, run_item_at(r->items, r->per, index), &d,
                           msg, msglen);
    memcpy(data, &d, sizeof d);
    return rc;
}

void run_summary(struct run *r, int interrupted)
{
    const uint64_t *n = r->b.n;
    uint64_t good = n[RUN_OK] + n[RUN_UNCHANGED];
    double wall_ms = cmd_now_ms() - r->b.t0;
    double ips = wall_ms > 0 ? (double)good * 1000.0 / wall_ms : 0.0;

    struct cmd_json *j = batch_summary_begin(&r->b, 0x1f);
    if (r->s->o.shard.n)
        cmd_json_int(j, "other_shards", (long long)r->list.other_shards);
    cmd_json_int(j, "downloaded", (long long)r->downloaded);
    cmd_json_int(j, "not_modified", (long long)r->not_modified);
    cmd_json_int(j, "transformed", (long long)r->transformed);
    cmd_json_int(j, "bytes", (long long)r->bytes);
    cmd_json_num(j, "images_per_s", ips);
    wall_ms = batch_summary_end(&r->b, interrupted);

    char cut[48] = "";
    if (n[RUN_INTERRUPTED])
        snprintf(cut, sizeof cut, ", %" PRIu64 " interrupted",
                 n[RUN_INTERRUPTED]);
    cmd_human(r->s->o.quiet && !n[RUN_FAILED],
            "run: %" PRIu64 " ok, %" PRIu64 " unchanged, %" PRIu64
            " failed%s, %" PRIu64 " skipped; %" PRIu64 " downloaded, %" PRIu64
            " not modified; in %.2f s (%.1f images/s)%s\n", n[RUN_OK],
            n[RUN_UNCHANGED], n[RUN_FAILED], cut, n[RUN_SKIPPED],
            r->downloaded, r->not_modified, wall_ms / 1e3, ips,
            interrupted ? ", interrupted" : "");
}

int cmd_run(int argc, char **argv)
{
    struct run_settings s;
    struct run r;
    int rc = run_settings_parse(&s, argc, argv, usage_line, about);

    if (rc >= 0) {
        run_settings_release(&s);
        return rc;
    }
    run_init(&r, &s);
    if (run_list_read(&r.list, argv[optind], &s.o.shard)) {
        run_settings_release(&s);
        return EXIT_FATAL;
    }
    run_list_plan(&r.list, &s);
    rc = s.dry_run ? run_dry(&s, &r.list) : run_batch(&r);
    run_release(&r);
    run_settings_release(&s);
    return rc;
}
