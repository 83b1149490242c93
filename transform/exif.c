/*
 * transform/exif.c: the one EXIF field imgbatch reads, the orientation, and
 * resets in a copied EXIF block once the pixels are upright.
 *
 * The APP1 payload is "Exif\0\0" followed by a TIFF structure: a byte-order
 * mark ("II" little-endian, "MM" big-endian), the number 42, the offset of
 * IFD0, then IFD0 itself: a 16-bit entry count and 12-byte entries of
 * (tag, type, count, value-or-offset). Orientation is tag 0x0112, one SHORT
 * whose value sits in the first two bytes of the value field.
 *
 * The payload comes from an untrusted file, so every offset is checked
 * against the length before it is read, and anything unexpected means
 * "no orientation" (1) rather than an error: a broken EXIF block should not
 * fail an image whose pixels are fine.
 */
#include "transform/transform_int.h"

#include <stdlib.h>
#include <string.h>

#define TIFF_TYPE_SHORT 3
#define TAG_ORIENTATION 0x0112

static unsigned rd16(const unsigned char *p, int le)
{
    return le ? (unsigned)p[0] | (unsigned)p[1] << 8
              : (unsigned)p[0] << 8 | (unsigned)p[1];
}

static uint32_t rd32(const unsigned char *p, int le)
{
    return le ? (uint32_t)p[0] | (uint32_t)p[1] << 8 |
                    (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24
              : (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
                    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/*
 * The offset in tiff (TIFF bytes, len of them) of IFD0's orientation
 * value, a SHORT, with *le its byte order; 0 if there is none or the
 * structure is broken.
 */
static size_t find_orientation(const unsigned char *tiff, size_t n, int *le)
{
    size_t pos;
    unsigned count;
    uint32_t ifd;

    if (!tiff || n < 8)
        return 0;
    if (tiff[0] == 'I' && tiff[1] == 'I')
        *le = 1;
    else if (tiff[0] == 'M' && tiff[1] == 'M')
        *le = 0;
    else
        return 0;
    if (rd16(tiff + 2, *le) != 42)
        return 0;

    /* Offsets are relative to the TIFF header; IFD0 cannot overlap it. */
    ifd = rd32(tiff + 4, *le);
    if (ifd < 8 || ifd > n || n - ifd < 2)
        return 0;
    count = rd16(tiff + ifd, *le);
    pos = (size_t)ifd + 2;
    for (unsigned i = 0; i < count; i++, pos += 12) {
        if (n - pos < 12)
            return 0;
        if (rd16(tiff + pos, *le) != TAG_ORIENTATION)
            continue;
        if (rd16(tiff + pos + 2, *le) != TIFF_TYPE_SHORT ||
            rd32(tiff + pos + 4, *le) < 1)
            return 0;
        return pos + 8;
    }
    return 0;
}

int tf_exif_orientation(const unsigned char *app1, size_t len)
{
    int le;

    if (!app1 || len < 6 + 8 || memcmp(app1, "Exif\0\0", 6) != 0)
        return 1;
    size_t at = find_orientation(app1 + 6, len - 6, &le);
    if (!at)
        return 1;
    unsigned v = rd16(app1 + 6 + at, le);
    return v >= 1 && v <= 8 ? (int)v : 1;
}

void tf_exif_set_orientation(unsigned char *tiff, size_t len, int v)
{
    int le;
    size_t at = find_orientation(tiff, len, &le);

    if (!at)
        return;
    tiff[at + !le] = (unsigned char)v;   /* the low byte: first in II */
    tiff[at + le] = 0;
}

unsigned char *tf_memdup(const void *p, size_t n)
{
    unsigned char *d = n ? malloc(n) : NULL;

    if (d)
        memcpy(d, p, n);
    return d;
}
