/* transform/image.c: the image type, size checks, error text. */
#include "transform/transform_int.h"

#include <stdio.h>
#include <stdlib.h>

const char *ib_transform_strerror(int code)
{
    switch (code) {
    case IB_TRANSFORM_OK: return "ok";
    case IB_TRANSFORM_EINVAL: return "invalid argument";
    case IB_TRANSFORM_ENOMEM: return "out of memory";
    case IB_TRANSFORM_EFORMAT: return "not a JPEG or PNG image";
    case IB_TRANSFORM_ECORRUPT: return "corrupt or truncated image";
    case IB_TRANSFORM_ELIMIT: return "image over the size limit";
    case IB_TRANSFORM_EIO: return "input/output error";
    }
    return "unknown error";
}

int tf_fail(char *msg, size_t msglen, int code, const char *fmt, ...)
{
    if (msg && msglen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, msglen, fmt, ap);
        va_end(ap);
    }
    return code;
}

int tf_check_dims(uint32_t w, uint32_t h, uint32_t channels,
                  uint64_t max_pixels, char *msg, size_t msglen)
{
    if (w == 0 || h == 0)
        return tf_fail(msg, msglen, IB_TRANSFORM_ECORRUPT,
                       "image declares an empty size %" PRIu32 "x%" PRIu32,
                       w, h);
    if ((uint64_t)w * h > max_pixels)
        return tf_fail(msg, msglen, IB_TRANSFORM_ELIMIT,
                       "%" PRIu32 "x%" PRIu32 " is over the pixel limit"
                       " (%" PRIu64 ")", w, h, max_pixels);
    if ((uint64_t)w * h * (channels ? channels : 4) > SIZE_MAX / 2)
        return tf_fail(msg, msglen, IB_TRANSFORM_ELIMIT,
                       "%" PRIu32 "x%" PRIu32 " is too large to address",
                       w, h);
    return 0;
}

struct ib_image *ib_image_new(uint32_t w, uint32_t h, uint32_t channels)
{
    if (w == 0 || h == 0 || channels < 1 || channels > 4)
        return NULL;
    if ((uint64_t)w * channels > SIZE_MAX / h)
        return NULL;
    struct ib_image *img = malloc(sizeof *img);
    if (!img)
        return NULL;
    img->width = w;
    img->height = h;
    img->channels = channels;
    img->stride = (size_t)w * channels;
    img->px = calloc(h, img->stride);
    if (!img->px) {
        free(img);
        return NULL;
    }
    return img;
}

void ib_image_free(struct ib_image *img)
{
    if (!img)
        return;
    free(img->px);
    free(img);
}
