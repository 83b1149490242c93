/*
 * transform/jpeg_int.h: what the two JPEG files share, jpeg.c (pixels
 * through RGB) and jpeg_raw.c (YCbCr planes, no colour conversion).
 * Only they include it: it is the one header that names libjpeg types.
 *
 * Each of them still drives libjpeg from one function per direction with
 * its own setjmp; the error manager below longjmps back to it (see
 * jpeg.c), so no longjmp ever leaves those functions.
 */
#ifndef TRANSFORM_JPEG_INT_H
#define TRANSFORM_JPEG_INT_H

#include "transform/transform_int.h"

#include <setjmp.h>
#include <stdio.h>

/* jpeglib.h needs stdio.h's FILE first */
#include <jpeglib.h>

struct tf_jpeg_ctx {
    struct jpeg_error_mgr pub;      /* first: libjpeg casts cinfo->err */
    struct jpeg_progress_mgr progress;
    jmp_buf jb;
    char *msg;                      /* borrowed from the caller */
    size_t msglen;
    int code;                       /* set before every longjmp */
    unsigned max_scans;
};

/* Error manager: errors and the warnings that mean wrong pixels longjmp
 * to ctx->jb with ctx->code and msg set; nothing is printed. */
void tf_jpeg_ctx_init(struct tf_jpeg_ctx *ctx, char *msg, size_t msglen);
/* Caps a progressive decode at max_scans scans (ELIMIT past it). */
void tf_jpeg_cap_scans(struct tf_jpeg_ctx *ctx, j_decompress_ptr cinfo,
                       unsigned max_scans);
/*
 * After the caller's setjmp(ctx->jb): the decompressor created over buf
 * (len fits an unsigned long), progressive scans capped, APP1 and APP2
 * saved, the header read and its size checked against opts->max_pixels.
 * 0 or an IB_TRANSFORM_* code with msg set; libjpeg's errors longjmp to
 * the caller. The caller destroys cinfo either way.
 */
int tf_jpeg_read_header(struct tf_jpeg_ctx *ctx, j_decompress_ptr cinfo,
                        const unsigned char *buf, size_t len,
                        const struct ib_decode_opts *opts, char *msg,
                        size_t msglen);
/* The largest DCT downscale whose output is still min_w x min_h. */
void tf_jpeg_pick_scale(j_decompress_ptr cinfo, uint32_t min_w,
                        uint32_t min_h);
/* EXIF orientation from the saved APP1 markers; 1 if none. */
int tf_jpeg_orientation(j_decompress_ptr cinfo);
/* The EXIF and XMP APP1 blocks into meta, as opts asks. 0, or -1 (no
 * memory). */
int tf_jpeg_copy_markers(j_decompress_ptr cinfo,
                         const struct ib_decode_opts *opts,
                         struct ib_meta *meta);

/*
 * A growing output buffer. jpeg_mem_dest would do, but if libjpeg fails
 * midway it leaves the buffer it allocated unreachable; this one stays
 * owned by us: the caller frees buf whatever happened.
 */
struct tf_jpeg_dest {
    struct jpeg_destination_mgr pub;  /* first: libjpeg casts cinfo->dest */
    unsigned char *buf;               /* owned */
    size_t cap;
};
/* 0, or IB_TRANSFORM_ENOMEM with msg. */
int tf_jpeg_dest_init(struct tf_jpeg_dest *d, char *msg, size_t msglen);

/* The encoder's checks of opts against a w x h output, before libjpeg. */
int tf_jpeg_check_encode(const struct ib_encode_opts *opts, uint32_t w,
                         uint32_t h, char *msg, size_t msglen);
/* After the caller's setjmp: the compressor created over dest for a w x h
 * image of components in space, with libjpeg's defaults and then
 * tf_jpeg_set_params's. Nothing written yet. */
void tf_jpeg_start_encoder(j_compress_ptr cinfo, struct tf_jpeg_dest *dest,
                           uint32_t w, uint32_t h, int components,
                           J_COLOR_SPACE space,
                           const struct ib_encode_opts *opts);
/*
 * Quality, chroma sampling (opts->subsample, colour only), Huffman
 * optimisation and progression, after jpeg_set_defaults: one place, so
 * both writers make the same kind of file.
 */
void tf_jpeg_set_params(j_compress_ptr cinfo,
                        const struct ib_encode_opts *opts);
/* EXIF, XMP and ICC markers, after jpeg_start_compress. */
void tf_jpeg_write_meta(j_compress_ptr cinfo,
                        const struct ib_encode_opts *opts);

#endif
