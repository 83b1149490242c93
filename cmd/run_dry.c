/*
 * cmd/run_dry.c: run --dry-run. What a run would do with each URL, from
 * the plan it would follow (names), the download folder's validator index
 * (a download anew, or a request asking whether it changed) and OUT's
 * journal (which recipe made the output there): one line per URL on
 * stdout. Nothing is fetched, created, locked or written.
 */
#include "cmd/recipe.h"
#include "cmd/run_int.h"

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
    char *path = cmd_path_join(s->o.out, name);
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
    /* as the worker checks it: the file the journal recorded, untouched */
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != prev.prev_size ||
        st.st_mtim.tv_sec != prev.prev_sec ||
        st.st_mtim.tv_nsec != prev.prev_nsec)
        return "output remade: it changed since it was made";
    return "output kept if the download is unchanged";
}

/*
 * URL i's line: its output, or with renditions a line per rendition it
 * would make or keep. With --format same the content decides, unless the
 * name already says: the name keeps its extension until then.
 */
static void dry_outputs(const struct run_settings *s,
                        const struct run_list *l, size_t i,
                        const struct run_journal *j, const char *shown,
                        int cond, struct render_recipes *recipes)
{
    const struct cmd_image *img = &s->img;
    const struct walk_name *v = &l->plan[i];
    const char *how = cond ? "asked if changed" : "downloaded";
    int hashed = l->rflags && l->rflags[i] & RUN_HASHED;
    size_t per = render_per(img);

    if (render_active(img))
        printf("fetch %s (%s), %zu renditions:\n", shown, how, per);
    for (size_t k = 0; k < per; k++) {
        enum ib_format f = ib_format_output(render_format_at(img, k),
                                            ib_name_format(v->name));
        char *name = render_name(img, v, hashed, "", k, f, NULL);
        if (!name)
            abort();
        const char *fate = output_fate(s, j, name,
                                       render_recipe(recipes, img, k, f));
        const char *by = f == IB_FORMAT_UNKNOWN ? " (extension by content)"
                                                : "";
        if (!render_active(img))
            printf("fetch %s -> %s/%s%s (%s; %s)\n", shown, s->o.out, name,
                   by, how, fate);
        else
            printf("  %s %s/%s%s (%s)\n", strstr(fate, "kept") ? "keep"
                   : "make", s->o.out, name, by, fate);
        free(name);
    }
}

int run_dry(const struct run_settings *s, const struct run_list *l)
{
    struct ib_fetch_peek *peek = ib_fetch_peek_open(s->dl_dir);
    struct run_journal j;
    struct render_recipes recipes;
    size_t anew = 0, asked = 0, failed = 0;
    char msg[256];

    if (!peek) {
        fprintf(stderr, "imgbatch run: out of memory\n");
        return EXIT_FATAL;
    }
    memset(&recipes, 0, sizeof recipes);
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
        } else if (l->rflags && l->rflags[i] & RUN_CLASH) {
            printf("fail  %s: no free output name\n", shown);
            failed++;
        } else {
            dry_outputs(s, l, i, &j, shown, cond, &recipes);
            anew += !cond;
            asked += cond != 0;
        }
        free(hidden);
    }
    printf("dry run: %zu URLs: %zu to download, %zu to ask if changed, %zu "
           "would fail%s; nothing fetched or written\n", l->n, anew, asked,
           failed, l->other_shards ? ", the rest for other shards" : "");
    run_journal_close(&j, NULL, 0);   /* read only: frees, writes nothing */
    ib_fetch_peek_free(peek);
    return failed ? EXIT_SOME_FAILED : 0;
}
