/*
 * testdata/mkcmyk.c: ib-cmyk writes CMYK JPEGs for the colour tests, with
 * libjpeg directly, in each of the ways CMYK is found in JPEG files:
 *   ib-cmyk W H RAW OUT MODE [PROFILE]
 * RAW holds W*H*4 bytes of CMYK, 0 = no ink (ImageMagick's "cmyk:"
 * format). MODE:
 *   adobe  samples inverted (255 = no ink), an Adobe APP14 marker, stored
 *          as CMYK: how Photoshop writes CMYK JPEGs
 *   ycck   the same, stored as YCCK (Adobe transform 2)
 *   plain  samples as they are, no Adobe marker: libjpeg reads it as CMYK
 *          (0 = no ink)
 * PROFILE, an ICC file, is embedded (APP2) when given. Quality 95, no
 * chroma subsampling, so the JPEG loss stays far below what the tests
 * measure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *p = NULL;
    long n;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 &&
        fseek(f, 0, SEEK_SET) == 0 && (p = malloc((size_t)n)) &&
        fread(p, 1, (size_t)n, f) == (size_t)n)
        *len = (size_t)n;
    else {
        free(p);
        p = NULL;
    }
    fclose(f);
    return p;
}

int main(int argc, char **argv)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    unsigned char *px, *icc = NULL;
    size_t len = 0, icc_len = 0;
    long w, h;
    int invert;
    FILE *out;

    if (argc != 6 && argc != 7) {
        fprintf(stderr, "usage: ib-cmyk W H RAW OUT adobe|ycck|plain "
                        "[PROFILE]\n");
        return 2;
    }
    w = strtol(argv[1], NULL, 10);
    h = strtol(argv[2], NULL, 10);
    px = slurp(argv[3], &len);
    if (w <= 0 || h <= 0 || !px || len != (size_t)w * (size_t)h * 4) {
        fprintf(stderr, "ib-cmyk: '%s' is not %ldx%ld CMYK\n", argv[3], w,
                h);
        return 1;
    }
    if (argc == 7 && !(icc = slurp(argv[6], &icc_len))) {
        fprintf(stderr, "ib-cmyk: cannot read '%s'\n", argv[6]);
        return 1;
    }
    invert = strcmp(argv[5], "plain") != 0;
    if (invert)
        for (size_t i = 0; i < len; i++)
            px[i] = (unsigned char)(255 - px[i]);
    out = fopen(argv[4], "wb");
    if (!out) {
        fprintf(stderr, "ib-cmyk: cannot write '%s'\n", argv[4]);
        return 1;
    }

    c.err = jpeg_std_error(&err);   /* a test tool: libjpeg's exit is fine */
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, out);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = 4;
    c.in_color_space = JCS_CMYK;
    jpeg_set_defaults(&c);
    jpeg_set_colorspace(&c, strcmp(argv[5], "ycck") ? JCS_CMYK : JCS_YCCK);
    for (int i = 0; i < 4; i++)
        c.comp_info[i].h_samp_factor = c.comp_info[i].v_samp_factor = 1;
    /* jpeg_set_colorspace turned it on for CMYK and YCCK */
    c.write_Adobe_marker = invert;
    jpeg_set_quality(&c, 95, TRUE);
    jpeg_start_compress(&c, TRUE);
    if (icc)
        jpeg_write_icc_profile(&c, icc, (unsigned int)icc_len);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = px + (size_t)c.next_scanline * (size_t)w * 4;
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    free(px);
    free(icc);
    if (fclose(out) != 0) {
        fprintf(stderr, "ib-cmyk: cannot write '%s'\n", argv[4]);
        return 1;
    }
    return 0;
}
