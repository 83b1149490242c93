/*
 * testdata/gen.c: ib-gen OUTDIR writes the synthetic test images.
 *
 * Files are written with libpng and libjpeg directly, never with
 * imgbatch's codecs, so decoding them in tests checks our code against
 * an independent writer. The picture is testdata/pattern.h; output is
 * deterministic (no time, no randomness), so a failing test can be
 * rerun on the same bytes.
 */
#include "testdata/pattern.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <png.h>
#include <zlib.h>

struct buf {
    unsigned char *p;
    size_t n, cap;
};

static const char *outdir;

static void die(const char *what)
{
    fprintf(stderr, "ib-gen: %s\n", what);
    exit(1);
}

static void buf_add(struct buf *b, const void *data, size_t n)
{
    if (b->cap - b->n < n) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->n < n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        if (!b->p)
            die("out of memory");
        b->cap = cap;
    }
    memcpy(b->p + b->n, data, n);
    b->n += n;
}

static void save(const char *name, const void *data, size_t n)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", outdir, name);
    f = fopen(path, "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f) != 0) {
        fprintf(stderr, "ib-gen: cannot write '%s': %s\n", path,
                strerror(errno));
        exit(1);
    }
}

/* ---- PNG ---------------------------------------------------------- */

static void png_write_cb(png_structp png, png_bytep data, size_t n)
{
    buf_add(png_get_io_ptr(png), data, n);
}

static void png_flush_cb(png_structp png)
{
    (void)png;
}

static unsigned png_channels(int type)
{
    switch (type) {
    case PAT_RGB: return 3;
    case PAT_GREY_ALPHA: return 2;
    case PAT_RGBA: return 4;
    default: return 1;
    }
}

/* Packs samples of `depth` bits MSB first, 16-bit big-endian, as PNG does. */
static void pack_row(unsigned char *row, int type, unsigned depth,
                     uint32_t w, uint32_t h, uint32_t y)
{
    unsigned ch = png_channels(type);
    size_t bit = 0;

    memset(row, 0, ((size_t)w * ch * depth + 7) / 8);
    for (uint32_t x = 0; x < w; x++) {
        for (unsigned c = 0; c < ch; c++, bit += depth) {
            unsigned s = pat_sample(type, depth, w, h, x, y, c);
            if (depth == 16) {
                row[bit / 8] = (unsigned char)(s >> 8);
                row[bit / 8 + 1] = (unsigned char)s;
            } else if (depth == 8) {
                row[bit / 8] = (unsigned char)s;
            } else {
                row[bit / 8] |= (unsigned char)(s << (8 - depth - bit % 8));
            }
        }
    }
}

static struct buf make_png(int type, unsigned depth, int trns, int interlace,
                           const unsigned char *icc, size_t icc_len)
{
    uint32_t w = PAT_W, h = PAT_H;
    struct buf out = {0};
    png_structp png;
    png_infop info;
    png_bytep *rows;

    png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    info = png ? png_create_info_struct(png) : NULL;
    if (!info)
        die("libpng init failed");
    if (setjmp(png_jmpbuf(png)))
        die("libpng failed");  /* libpng printed why */
    png_set_write_fn(png, &out, png_write_cb, png_flush_cb);
    png_set_IHDR(png, info, w, h, (int)depth, type,
                 interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (type == PAT_PALETTE) {
        png_color pal[256];
        png_byte alpha[256];
        unsigned n = 1u << depth;
        for (unsigned i = 0; i < n; i++) {
            pal[i].red = (png_byte)pat_palette(i, 0);
            pal[i].green = (png_byte)pat_palette(i, 1);
            pal[i].blue = (png_byte)pat_palette(i, 2);
            alpha[i] = (png_byte)pat_palette_alpha(i);
        }
        png_set_PLTE(png, info, pal, (int)n);
        if (trns)
            png_set_tRNS(png, info, alpha, (int)pat_ntrans(depth), NULL);
    } else if (trns) {
        png_color_16 tc;
        memset(&tc, 0, sizeof tc);
        if (type == PAT_GREY) {
            tc.gray = (png_uint_16)pat_trns(type, depth, w, h, 0);
        } else {
            tc.red = (png_uint_16)pat_trns(type, depth, w, h, 0);
            tc.green = (png_uint_16)pat_trns(type, depth, w, h, 1);
            tc.blue = (png_uint_16)pat_trns(type, depth, w, h, 2);
        }
        png_set_tRNS(png, info, NULL, 0, &tc);
    }
    if (icc)
        png_set_iCCP(png, info, "test", PNG_COMPRESSION_TYPE_BASE, icc,
                     (png_uint_32)icc_len);
    rows = malloc(sizeof *rows * h);
    if (!rows)
        die("out of memory");
    for (uint32_t y = 0; y < h; y++) {
        rows[y] = malloc((size_t)w * 8);
        if (!rows[y])
            die("out of memory");
        pack_row(rows[y], type, depth, w, h, y);
    }
    png_set_rows(png, info, rows);
    png_write_png(png, info, PNG_TRANSFORM_IDENTITY, NULL);
    png_destroy_write_struct(&png, &info);
    for (uint32_t y = 0; y < h; y++)
        free(rows[y]);
    free(rows);
    return out;
}

static void gen_pngs(void)
{
    static const struct {
        const char *tag;
        int type;
        unsigned depths[5];
        int trns;  /* also write a -trns variant */
    } kinds[] = {
        {"g", PAT_GREY, {1, 2, 4, 8, 16}, 1},
        {"rgb", PAT_RGB, {8, 16}, 1},
        {"p", PAT_PALETTE, {1, 2, 4, 8}, 1},
        {"ga", PAT_GREY_ALPHA, {8, 16}, 0},
        {"rgba", PAT_RGBA, {8, 16}, 0},
    };
    char name[64];

    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        for (size_t d = 0; d < 5 && kinds[k].depths[d]; d++) {
            for (int trns = 0; trns <= kinds[k].trns; trns++) {
                for (int il = 0; il <= 1; il++) {
                    struct buf b = make_png(kinds[k].type, kinds[k].depths[d],
                                            trns, il, NULL, 0);
                    snprintf(name, sizeof name, "png-%s%u%s%s.png",
                             kinds[k].tag, kinds[k].depths[d],
                             trns ? "-trns" : "", il ? "-i" : "");
                    save(name, b.p, b.n);
                    free(b.p);
                }
            }
        }
    }
}

/* Appends one PNG chunk with its CRC. */
static void png_chunk(struct buf *b, const char *type, const void *data,
                      uint32_t n)
{
    unsigned char be[4];
    uLong crc = crc32(0, (const Bytef *)type, 4);

    if (n)
        crc = crc32(crc, data, n);
    pat_put32(be, n);
    buf_add(b, be, 4);
    buf_add(b, type, 4);
    if (n)
        buf_add(b, data, n);
    pat_put32(be, (uint32_t)crc);
    buf_add(b, be, 4);
}

static void gen_broken_pngs(void)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G',
                                         '\r', '\n', 0x1a, '\n'};
    static const char text[] = "this is not a PNG file, only text\n";
    struct buf b = make_png(PAT_RGB, 8, 0, 0, NULL, 0);
    struct buf huge = {0};
    unsigned char ihdr[13] = {0};
    size_t pos = 8;

    save("truncated.png", b.p, b.n * 2 / 3);

    /* flip the CRC of the first IDAT: a critical chunk */
    while (pos + 12 <= b.n) {
        uint32_t n = (uint32_t)b.p[pos] << 24 | (uint32_t)b.p[pos + 1] << 16 |
                     (uint32_t)b.p[pos + 2] << 8 | b.p[pos + 3];
        if (memcmp(b.p + pos + 4, "IDAT", 4) == 0) {
            b.p[pos + 8 + n + 3] ^= 0x5a;
            break;
        }
        pos += 12 + (size_t)n;
    }
    if (pos + 12 > b.n)
        die("no IDAT in a generated PNG");
    save("bad-crc.png", b.p, b.n);
    free(b.p);

    /* IHDR declaring 100000 x 100000 RGB, with a valid CRC, then IEND */
    buf_add(&huge, sig, 8);
    pat_put32(ihdr, 100000);
    pat_put32(ihdr + 4, 100000);
    ihdr[8] = 8;
    ihdr[9] = PAT_RGB;
    png_chunk(&huge, "IHDR", ihdr, 13);
    png_chunk(&huge, "IEND", NULL, 0);
    save("huge-dims.png", huge.p, huge.n);
    free(huge.p);

    save("wrong-magic.png", text, sizeof text - 1);
    save("empty.png", "", 0);
}

/* ---- JPEG --------------------------------------------------------- */

struct jpeg_job {
    uint32_t w, h;
    int components;           /* 1 grey, 3 RGB, 4 CMYK */
    J_COLOR_SPACE store;      /* colour space in the file */
    int quality;
    int h_samp, v_samp;       /* luma sampling; 2,2 is 4:2:0 */
    int progressive, arith;
    const jpeg_scan_info *scans;
    int nscans;
    const unsigned char *icc;
    size_t icc_len;
    int orientation;          /* 0: no EXIF */
    int big_endian_exif;
    const unsigned char *px;  /* w * h * components */
};

/* An APP1 EXIF block with IFD0 holding only the orientation. */
static size_t exif_block(unsigned char *p, int orientation, int be)
{
    static const unsigned char head_be[] = {'E', 'x', 'i', 'f', 0, 0,
        'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1};
    static const unsigned char head_le[] = {'E', 'x', 'i', 'f', 0, 0,
        'I', 'I', 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0};
    size_t n = sizeof head_be;

    memcpy(p, be ? head_be : head_le, n);
    /* the value field (4 bytes), then the next-IFD offset 0 */
    memset(p + n, 0, 8);
    p[n + (be ? 1 : 0)] = (unsigned char)orientation;
    return n + 8;
}

static struct buf make_jpeg(const struct jpeg_job *job)
{
    struct jpeg_compress_struct cinfo;
    struct jpeg_error_mgr jerr;
    unsigned char *mem = NULL;
    unsigned long memlen = 0;
    struct buf out = {0};

    cinfo.err = jpeg_std_error(&jerr);  /* prints and exits: fine here */
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, &mem, &memlen);
    cinfo.image_width = job->w;
    cinfo.image_height = job->h;
    cinfo.input_components = job->components;
    cinfo.in_color_space = job->components == 1   ? JCS_GRAYSCALE
                           : job->components == 3 ? JCS_RGB
                                                  : JCS_CMYK;
    jpeg_set_defaults(&cinfo);
    jpeg_set_colorspace(&cinfo, job->store);
    jpeg_set_quality(&cinfo, job->quality, TRUE);
    if (job->store == JCS_YCbCr) {
        cinfo.comp_info[0].h_samp_factor = job->h_samp;
        cinfo.comp_info[0].v_samp_factor = job->v_samp;
    }
    if (job->progressive)
        jpeg_simple_progression(&cinfo);
    if (job->scans) {
        cinfo.scan_info = job->scans;
        cinfo.num_scans = job->nscans;
    }
    cinfo.arith_code = job->arith ? TRUE : FALSE;
    jpeg_start_compress(&cinfo, TRUE);
    if (job->orientation) {
        unsigned char exif[64];
        size_t n = exif_block(exif, job->orientation, job->big_endian_exif);
        jpeg_write_marker(&cinfo, JPEG_APP0 + 1, exif, (unsigned)n);
    }
    if (job->icc)
        jpeg_write_icc_profile(&cinfo, job->icc, (unsigned)job->icc_len);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)job->px + (size_t)cinfo.next_scanline *
                                               job->w * job->components;
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    buf_add(&out, mem, memlen);
    free(mem);
    return out;
}

/* The upright pattern as stored under EXIF orientation o. */
static unsigned char *pattern_rgb(uint32_t uw, uint32_t uh, int o,
                                  uint32_t *sw, uint32_t *sh)
{
    int swap = o >= 5;
    uint32_t w = swap ? uh : uw, h = swap ? uw : uh;
    unsigned char *px = malloc((size_t)w * h * 3);

    if (!px)
        die("out of memory");
    for (uint32_t y = 0; y < h; y++) {
        for (uint32_t x = 0; x < w; x++) {
            uint32_t ux, uy;
            pat_orient_src(o, uw, uh, x, y, &ux, &uy);
            for (unsigned c = 0; c < 3; c++)
                px[((size_t)y * w + x) * 3 + c] =
                    (unsigned char)pat_rgba(uw, uh, ux, uy, c);
        }
    }
    *sw = w;
    *sh = h;
    return px;
}

static void save_jpeg(const char *name, const struct jpeg_job *job)
{
    struct buf b = make_jpeg(job);

    save(name, b.p, b.n);
    free(b.p);
}

/*
 * Photoshop's convention: CMYK stored inverted (255 = no ink). Choosing
 * K' = max(R,G,B) and C' = R * 255 / K' makes C' * K' / 255 give R back.
 */
static unsigned char *pattern_cmyk_inverted(uint32_t w, uint32_t h)
{
    unsigned char *px = malloc((size_t)w * h * 4);

    if (!px)
        die("out of memory");
    for (uint32_t y = 0; y < h; y++) {
        for (uint32_t x = 0; x < w; x++) {
            unsigned char *p = px + ((size_t)y * w + x) * 4;
            unsigned rgb[3], k = 1;
            for (unsigned c = 0; c < 3; c++) {
                rgb[c] = pat_rgba(w, h, x, y, c);
                if (rgb[c] > k)
                    k = rgb[c];
            }
            for (unsigned c = 0; c < 3; c++)
                p[c] = (unsigned char)((rgb[c] * 255 + k / 2) / k);
            p[3] = (unsigned char)k;
        }
    }
    return px;
}

/*
 * Every AC coefficient of every component in its own band, each refined
 * one bit at a time from bit 6: 1 + 3 * 63 * 7 = 1324 scans, a valid
 * progression far past any real encoder's ~10.
 */
#define MANY_AL 6
#define MANY_SCANS (1 + 3 * 63 * (MANY_AL + 1))

static int many_scans_script(jpeg_scan_info *s)
{
    int n = 0;

    s[n].comps_in_scan = 3;
    for (int c = 0; c < 3; c++)
        s[n].component_index[c] = c;
    s[n].Ss = s[n].Se = s[n].Ah = s[n].Al = 0;
    n++;
    for (int c = 0; c < 3; c++) {
        for (int k = 1; k < 64; k++) {
            for (int al = MANY_AL; al >= 0; al--, n++) {
                s[n].comps_in_scan = 1;
                s[n].component_index[0] = c;
                s[n].Ss = s[n].Se = k;
                /* first pass sends bits MANY_AL.., then one bit each */
                s[n].Ah = al == MANY_AL ? 0 : al + 1;
                s[n].Al = al;
            }
        }
    }
    return n;
}

static void gen_jpegs(void)
{
    uint32_t w, h;
    unsigned char *rgb = pattern_rgb(PAT_W, PAT_H, 1, &w, &h);
    unsigned char *grey, *cmyk;
    static jpeg_scan_info many[MANY_SCANS];
    size_t icc_len = pat_icc(NULL, 0, 1);
    unsigned char *icc = malloc(icc_len);
    struct jpeg_job base = {
        .w = w, .h = h, .components = 3, .store = JCS_YCbCr, .quality = 92,
        .h_samp = 2, .v_samp = 2, .px = rgb,
    };
    struct jpeg_job j;
    char name[32];

    if (!icc)
        die("out of memory");
    pat_icc(icc, icc_len, 1);

    save_jpeg("jpeg-420.jpg", &base);
    j = base;
    j.h_samp = j.v_samp = 1;
    save_jpeg("jpeg-444.jpg", &j);
    j = base;
    j.progressive = 1;
    save_jpeg("jpeg-prog.jpg", &j);
    j = base;
    j.arith = 1;
    save_jpeg("jpeg-arith.jpg", &j);
    j = base;
    j.icc = icc;
    j.icc_len = icc_len;
    save_jpeg("jpeg-icc.jpg", &j);

    {
        /* the PNG twin of jpeg-icc.jpg */
        struct buf b = make_png(PAT_RGB, 8, 0, 0, icc, icc_len);
        save("png-icc.png", b.p, b.n);
        free(b.p);
    }

    grey = malloc((size_t)w * h);
    if (!grey)
        die("out of memory");
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            grey[(size_t)y * w + x] = (unsigned char)pat_grey(w, h, x, y);
    j = base;
    j.components = 1;
    j.store = JCS_GRAYSCALE;
    j.px = grey;
    save_jpeg("jpeg-grey.jpg", &j);

    cmyk = pattern_cmyk_inverted(w, h);
    j = base;
    j.components = 4;
    j.store = JCS_CMYK;  /* libjpeg adds the Adobe marker for CMYK */
    j.px = cmyk;
    save_jpeg("jpeg-cmyk.jpg", &j);
    j.store = JCS_YCCK;
    save_jpeg("jpeg-ycck.jpg", &j);
    free(cmyk);

    for (int o = 1; o <= 8; o++) {
        uint32_t sw, sh;
        unsigned char *px = pattern_rgb(PAT_W, PAT_H, o, &sw, &sh);
        j = base;
        j.w = sw;
        j.h = sh;
        j.px = px;
        j.orientation = o;
        j.big_endian_exif = o % 2 == 0;  /* both TIFF byte orders */
        snprintf(name, sizeof name, "orient-%d.jpg", o);
        save_jpeg(name, &j);
        free(px);
    }

    j = base;
    j.w = j.h = 16;
    j.nscans = many_scans_script(many);
    j.scans = many;
    j.progressive = 1;
    save_jpeg("many-scans.jpg", &j);

    {
        struct buf b = make_jpeg(&base);
        save("truncated.jpg", b.p, b.n * 2 / 3);

        /* the same file with its SOF claiming 60000 x 60000 */
        for (size_t i = 2; i + 9 < b.n; i++) {
            if (b.p[i] == 0xff && b.p[i + 1] == 0xc0) {
                b.p[i + 5] = b.p[i + 7] = 0xea;  /* 0xea60 = 60000 */
                b.p[i + 6] = b.p[i + 8] = 0x60;
                save("huge-dims.jpg", b.p, b.n);
                break;
            }
        }
        free(b.p);
    }

    {
        /* JPEG magic, then bytes that are no valid marker sequence */
        unsigned char junk[600] = {0xff, 0xd8, 0xff};
        uint32_t s = 12345;
        for (size_t i = 3; i < sizeof junk; i++) {
            s = s * 1103515245u + 12345u;
            junk[i] = (unsigned char)(s >> 16);
        }
        save("garbage.jpg", junk, sizeof junk);
    }

    free(grey);
    free(icc);
    free(rgb);
}

int main(int argc, char **argv)
{
    static const char notes[] = "not an image: counted as skipped\n";

    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: ib-gen OUTDIR\n");
        return 2;
    }
    outdir = argv[1];
    gen_pngs();
    gen_broken_pngs();
    gen_jpegs();
    save("notes.txt", notes, sizeof notes - 1);
    return 0;
}
