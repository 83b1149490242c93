/*
 * tests/fuzz/fuzz_ops.c: op-value parsing (ib_pipeline_add, --filter,
 * --upscale) with fuzzed names and values, then the parsed pipeline on a
 * small image.
 *
 * Input: 3 bytes (channels, width, height of the test image), then lines
 * "name=value", "name" (a flag op), "filter=F" or "upscale". A rejected op
 * must say why; an accepted one must apply to any image. --upscale is
 * honoured only when no number in the values exceeds 256, and an exact
 * --resize WxH! (which enlarges without --upscale) is skipped when it has
 * such a number, so the fuzzer cannot ask for a terabyte image (a user
 * can, and gets "out of memory"). ib_pipeline_min_input must never ask
 * for more than the input.
 */
#include "tests/fuzz/fuzz.h"
#include "transform/transform.h"

#include <string.h>

#define MAX_OPS 12

/* 1 if s holds a run of digits worth more than 256 */
static int has_big_number(const char *s)
{
    unsigned long v = 0;
    for (; *s; s++) {
        if (*s >= '0' && *s <= '9') {
            v = v * 10 + (unsigned long)(*s - '0');
            if (v > 256)
                return 1;
        } else {
            v = 0;
        }
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    uint32_t ch = 1 + data[0] % 4, w = 1 + data[1] % 48, h = 1 + data[2] % 48;
    char *text = malloc(size - 3 + 1);
    struct ib_pipeline *p = ib_pipeline_new();
    struct ib_image *img = ib_image_new(w, h, ch);
    FUZZ_CHECK(text && p && img);
    memcpy(text, data + 3, size - 3);
    text[size - 3] = '\0';
    for (uint32_t y = 0; y < h; y++)
        for (size_t x = 0; x < (size_t)w * ch; x++)
            img->px[y * img->stride + x] = (unsigned char)(x * 7 + y * 13);

    int upscale = 0, big = 0, exact = 0;
    size_t added = 0;
    char msg[256], *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line && added < MAX_OPS;
         line = strtok_r(NULL, "\n", &save)) {
        char *eq = strchr(line, '=');
        if (eq)
            *eq = '\0';
        const char *val = eq ? eq + 1 : NULL;
        msg[0] = '\0';
        if (!strcmp(line, "upscale")) {
            upscale = 1;
            ib_pipeline_set_upscale(p, 1);
            continue;
        }
        if (!strcmp(line, "filter")) {
            int rc = ib_pipeline_set_filter(p, val ? val : "", msg,
                                            sizeof msg);
            FUZZ_CHECK(rc == 0 || (rc == IB_TRANSFORM_EINVAL && msg[0]));
            continue;
        }
        int bang = !strcmp(line, "resize") && val && strchr(val, '!');
        if (bang && has_big_number(val))
            continue;
        size_t before = ib_pipeline_len(p);
        int rc = ib_pipeline_add(p, line, val, msg, sizeof msg);
        if (rc) {
            FUZZ_CHECK(rc == IB_TRANSFORM_EINVAL && msg[0]);
            FUZZ_CHECK(memchr(msg, '\0', sizeof msg));
            FUZZ_CHECK(ib_pipeline_len(p) == before);
            continue;
        }
        FUZZ_CHECK(ib_pipeline_len(p) == before + 1);
        big |= val && has_big_number(val);
        exact |= bang;
        added++;
    }

    /* shrink-on-load never asks for more than the input, nor for 0 */
    uint32_t in_w = 1 + (uint32_t)(size * 2654435761u % 100000);
    uint32_t in_h = 1 + (uint32_t)(size * 40503u % 100000);
    uint32_t mw, mh;
    ib_pipeline_min_input(p, in_w, in_h, &mw, &mh);
    FUZZ_CHECK(mw >= 1 && mw <= in_w && mh >= 1 && mh <= in_h);

    ib_pipeline_set_upscale(p, upscale && !big);
    struct ib_image *in = img;
    msg[0] = '\0';
    int rc = ib_pipeline_apply(p, &img, msg, sizeof msg);
    if (rc) {
        /* only a crop outside the image may fail, with a reason */
        FUZZ_CHECK(rc == IB_TRANSFORM_EINVAL && strstr(msg, "outside"));
        FUZZ_CHECK(img == in);
    }
    FUZZ_CHECK(img->width >= 1 && img->height >= 1);
    FUZZ_CHECK(img->channels >= 1 && img->channels <= 4);
    FUZZ_CHECK(img->stride >= (size_t)img->width * img->channels);
    if (!(upscale && !big) && !exact)
        FUZZ_CHECK((uint64_t)img->width * img->height <=
                   (uint64_t)w * h);
    FUZZ_CHECK(ib_pipeline_len(p) || img == in);
    /* a pipeline of in-place ops only (blur, sharpen) hands back the same
     * image, changed: img == in is no longer a sign that nothing ran */
    volatile unsigned sum = 0;
    for (uint32_t y = 0; y < img->height; y++)
        for (size_t x = 0; x < (size_t)img->width * img->channels; x++)
            sum += img->px[(size_t)y * img->stride + x];
    (void)sum;

    ib_image_free(img);
    ib_pipeline_free(p);
    free(text);
    return 0;
}
