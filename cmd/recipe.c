/*
 * cmd/recipe.c: the one place that says what a recipe is. See recipe.h.
 */
#include "cmd/recipe.h"
#include "cmd/shard.h"

#include <stdio.h>
#include <stdlib.h>

enum ib_format cmd_recipe_format(const struct cmd_image *img,
                                 enum ib_format in_format)
{
    return ib_format_output(img->eopts.format, in_format);
}

char *cmd_recipe_text(const struct cmd_image *img, enum ib_format out,
                      const char *size)
{
    const struct ib_decode_opts *d = &img->dopts;
    const struct ib_encode_opts *e = &img->eopts;
    char enc[96] = "", keep[32] = "", sub[24] = "", sz[512] = "";
    const char *opt = "";
    char *text = NULL;
    size_t len = 0;

    /*
     * JPEG: absent means what outputs had before these settings existed,
     * standard Huffman tables and 4:2:0, so recipes change only where bytes
     * may: baseline outputs by the default's fitted tables; progressive
     * ones, whose tables libjpeg always fitted, not at all.
     */
    if (!e->progressive && e->optimize_coding == IB_JPEG_OPTIMIZE_ON)
        opt = " optimize=1";
    else if (!e->progressive && e->optimize_coding == IB_JPEG_OPTIMIZE_AUTO)
        opt = " optimize=auto";
    if (e->subsample != 420)
        snprintf(sub, sizeof sub, " subsample=%d", e->subsample);
    if (out == IB_FORMAT_JPEG)
        snprintf(enc, sizeof enc, " quality=%d progressive=%d%s%s",
                 e->quality, e->progressive != 0, opt, sub);
    else if (out == IB_FORMAT_PNG)
        snprintf(enc, sizeof enc, " png-level=%d", e->png_level);
    else if (out == IB_FORMAT_WEBP)
        snprintf(enc, sizeof enc, " quality=%d lossless=%d", e->webp_quality,
                 e->lossless != 0);
    else if (out == IB_FORMAT_AVIF)
        snprintf(enc, sizeof enc, " quality=%d", e->avif_quality);
    /* EXIF and XMP, kept only on request, appear only then: the recipes
     * of outputs made before --keep existed are unchanged */
    if (d->keep_exif || d->keep_xmp)
        snprintf(keep, sizeof keep, " keep=%s%s", d->keep_exif ? "exif," : "",
                 d->keep_xmp ? "xmp," : "");
    if (size)
        snprintf(sz, sizeof sz, " size=%s", size);
    /* every field always present, in a fixed order: one text per recipe */
    for (int pass = 0; pass < 2; pass++) {
        size_t cap = text ? len + 1 : 0;
        len = (size_t)snprintf(text, cap, "imgbatch-recipe/%d ops=%s "
                               "filter=%s upscale=%d format=%s%s "
                               "auto-orient=%d icc=%s shrink-on-load=%d%s%s",
                               CMD_RECIPE_FORMAT, img->ops ? img->ops : "",
                               img->filter ? img->filter : "lanczos3",
                               img->upscale != 0, ib_format_name(out), enc,
                               d->auto_orient != 0,
                               d->to_srgb ? "to-srgb" : "keep",
                               !d->no_shrink_on_load, keep, sz);
        if (!pass) {
            text = malloc(len + 1);
            if (!text)
                return NULL;
        }
    }
    return text;
}

uint64_t cmd_recipe_hash(const struct cmd_image *img, enum ib_format out,
                         const char *size)
{
    char *text = cmd_recipe_text(img, out, size);
    if (!text)
        abort();   /* a few hundred bytes: out of memory here is fatal */
    uint64_t h = cmd_shard_hash(text);
    free(text);
    return h ? h : 1;
}
