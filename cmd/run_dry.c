/*
 * cmd/run_dry.c: run --dry-run. What a run would do with each URL, from
 * the plan it would follow (names), the download folder's validator index
 * (a download anew, or a request asking whether it changed) and OUT's
 * journal (which recipe made the output there): one line per URL on
 * stdout. Nothing is fetched, created, locked or written.
 */
#include "cmd/recipe.h"
#include "cmd/run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* What becomes of the output: why it is made, or how it may be kept. */
static const char *output_fate(const struct run_settings *s,
                               const struct run_journal *j,
                               const char *name, uint64_t recipe)
{
    struct run_slot prev;
    struct stat st;
    char *path = run_join(s->o.out, name);
    int exists = !lstat(path, &st);

    free(path);
    memset(&prev, 0, sizeof prev);
    run_journal_get(j, name, &prev);
    if (!exists)
        return "output not made yet";
    if (s->o.force)
        return "output remade: --force";
    if (!prev.prev_hash || !prev.prev_recipe)
        return "output remade: its recipe is unknown";
    if (prev.prev_recipe != recipe)
        return "output remade: its recipe changed";
    return "output kept if the download is unchanged";
}

int run_dry(const struct run_settings *s, const struct run_list *l)
{
    struct ib_fetch_peek *peek = ib_fetch_peek_open(s->dl_dir);
    struct run_journal j;
    size_t anew = 0, asked = 0, failed = 0;
    char msg[256];

    if (!peek) {
        fprintf(stderr, "imgbatch run: out of memory\n");
        return EXIT_FATAL;
    }
    run_journal_read(&j, s->o.out, s->journal);
    for (size_t i = 0; i < l->n; i++) {
        const char *url = l->urls[i];
        char *hidden = NULL;
        const char *shown = cmd_url_shown(url, &hidden);
        int cond;

        if (ib_fetch_peek_url(peek, url, &cond, msg, sizeof msg)) {
            printf("fail  %s: %s\n", shown, msg);
            failed++;
        } else if (l->names[i] &&
                   ib_fetch_name_check(l->names[i], msg, sizeof msg)) {
            printf("fail  %s: %s\n", shown, msg);
            failed++;
        } else {
            /* with --format same the content decides, unless the name
             * already says: "?" stands for the extension to come */
            const struct walk_name *v = &l->plan[i];
            enum ib_format f = ib_format_output(s->img.eopts.format,
                                                ib_name_format(v->name));
            char *name = walk_name_make(v, v->mode, (int)f);
            if (!name)
                abort();
            printf("fetch %s -> %s/%s%s (%s; %s)\n", shown, s->o.out, name,
                   f == IB_FORMAT_UNKNOWN ? " (extension by content)" : "",
                   cond ? "asked if changed" : "downloaded",
                   output_fate(s, &j, name,
                               cmd_recipe_hash(&s->img, f, NULL)));
            anew += !cond;
            asked += cond != 0;
            free(name);
        }
        free(hidden);
    }
    printf("dry run: %zu URLs: %zu to download, %zu to ask if changed, %zu "
           "would fail%s; nothing fetched or written\n", l->n, anew, asked,
           failed, l->other_shards ? ", the rest for other shards" : "");
    for (size_t k = 0; k < j.nold; k++)
        free(j.old[k].name);
    free(j.old);
    free(j.path);
    ib_fetch_peek_free(peek);
    return failed ? EXIT_SOME_FAILED : 0;
}
