/*
 * transform/transform.h: bytes -> image -> ops -> bytes.
 *
 * An image is 8-bit, interleaved, top row first, 1 to 4 channels:
 * 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA. Alpha is never premultiplied in a
 * struct ib_image; ops that mix pixels premultiply internally.
 *
 * The library knows nothing about processes or the network, never prints,
 * never exits. Fallible functions return 0 or a negative IB_TRANSFORM_E*
 * and, on failure only, write a one-line reason to msg (msglen bytes).
 * Everything is reentrant: no globals, codec state per call.
 */
#ifndef IB_TRANSFORM_H
#define IB_TRANSFORM_H

#include <stddef.h>
#include <stdint.h>

enum {
    IB_TRANSFORM_OK = 0,
    IB_TRANSFORM_EINVAL = -1,  /* bad argument or op value */
    IB_TRANSFORM_ENOMEM = -2,
    IB_TRANSFORM_EFORMAT = -3, /* a format we cannot read, or none */
    IB_TRANSFORM_ECORRUPT = -4, /* corrupt or truncated data */
    IB_TRANSFORM_ELIMIT = -5,  /* over --max-pixels or the scan limit */
    IB_TRANSFORM_EIO = -6,     /* reading or writing a file */
};
const char *ib_transform_strerror(int code);
/* "libjpeg-turbo 2.1.5, libpng 1.6.39, libdeflate 1.14, zlib 1.2.13": the
 * codec libraries this build runs with (libpng and zlib as loaded, the
 * others as built). */
const char *ib_transform_versions(void);

/* Default --max-pixels: 268 MP, as sharp; a 16384 x 16384 RGBA is 1 GiB. */
#define IB_DEFAULT_MAX_PIXELS ((uint64_t)268402689)
/* A progressive JPEG needs ~10 scans; thousands are an attack. */
#define IB_DEFAULT_MAX_SCANS 1000u

struct ib_image {
    uint32_t width, height, channels;
    size_t stride;      /* bytes per row, >= width * channels */
    unsigned char *px;  /* owned: height * stride bytes */
};

/* NULL if w * h * channels overflows or memory is short; pixels zeroed. */
struct ib_image *ib_image_new(uint32_t w, uint32_t h, uint32_t channels);
void ib_image_free(struct ib_image *img);

/*
 * Formats: one row each in the codec table (transform/codec.c). Some are
 * only recognised, by their magic bytes, so that such an input fails as
 * "GIF is not supported" rather than as an unknown file.
 */
enum ib_format {
    IB_FORMAT_UNKNOWN = 0,
    IB_FORMAT_JPEG,
    IB_FORMAT_PNG,
    IB_FORMAT_GIF,
    IB_FORMAT_TIFF,
    IB_FORMAT_WEBP,
    IB_FORMAT_AVIF,
    IB_FORMAT_HEIC,
    IB_FORMAT_BMP,
    IB_FORMAT_COUNT     /* not a format: one past the last */
};

/* From magic bytes only, never a file name; looks at no more than the
 * first IB_FORMAT_SNIFF_LEN bytes, so that many are enough to read. */
#define IB_FORMAT_SNIFF_LEN 32
enum ib_format ib_format_sniff(const unsigned char *buf, size_t len);
const char *ib_format_name(enum ib_format f);  /* "jpeg", "gif"; "unknown" */
const char *ib_format_ext(enum ib_format f);   /* ".jpg", ".gif"; "" */
int ib_format_can_read(enum ib_format f);      /* 1 if this build decodes */
int ib_format_can_write(enum ib_format f);     /* 1 if it encodes */
/* The writable format a --format NAME names ("jpeg", "jpg", "png"), else
 * UNKNOWN. */
enum ib_format ib_format_lookup(const char *name);
/* Writes the writable formats' names to buf: "jpeg, png". */
void ib_format_list_writable(char *buf, size_t len);
/* The format an output gets: requested, or when that is UNKNOWN ("same
 * as the input") the input's if it can be written, else UNKNOWN. */
enum ib_format ib_format_output(enum ib_format requested, enum ib_format in);

/*
 * Output names, one rule for every subcommand: an output is named after
 * its input with the extension replaced by the output format's, or kept
 * when it already names that format (".jpeg", ".JPG" for JPEG).
 * An extension is a last '.' followed by 1 to 16 ASCII letters and
 * digits ("photo.v1", "2024.01.05"), not at the start of a name or after
 * a '/'; anything else after a dot is part of the stem.
 */
size_t ib_name_ext(const char *name);      /* its '.', or strlen(name) */
enum ib_format ib_name_format(const char *name);  /* as its ext says */
/* The extension of an output in format f made from name (a pointer into
 * name, or a static string); name's own when f is UNKNOWN. */
const char *ib_output_ext(const char *name, enum ib_format f);

struct ib_decode_opts {
    uint64_t max_pixels;  /* header w*h above this fails before allocating */
    unsigned max_scans;   /* progressive JPEG scan cap */
    int auto_orient;      /* apply EXIF orientation (JPEG) */
    int keep_icc;         /* return the ICC profile in meta */
    int keep_exif;        /* return the EXIF block in meta (default off) */
    int keep_xmp;         /* return the XMP packet in meta (default off) */
    /*
     * For outputs that will not carry a profile (--strip): pixels that an
     * ICC profile says are not sRGB (Display P3, Adobe RGB) are converted
     * to sRGB with lcms2 and the profile dropped, so they look the same
     * without it. Needs keep_icc.
     */
    int to_srgb;
    /*
     * Shrink-on-load: a JPEG may be decoded at a DCT scale of 1/2, 1/4 or
     * 1/8 as long as the result stays at least min_width x min_height
     * (in stored orientation). 0 x 0 decodes at full size.
     */
    uint32_t min_width, min_height;
    /*
     * ib_transform_file sets min_width/min_height itself from the
     * pipeline when both are 0, unless this is set: then it decodes at
     * full size, for output identical to a full decode.
     */
    int no_shrink_on_load;
};
void ib_decode_opts_init(struct ib_decode_opts *o);  /* the defaults above */

struct ib_meta {
    enum ib_format format;
    uint32_t width, height;   /* as declared in the file's header */
    int orientation;          /* EXIF 1..8, 1 when absent */
    unsigned scale_denom;     /* 1, 2, 4 or 8: the DCT scale used */
    unsigned char *icc;       /* owned, NULL if none or !keep_icc */
    size_t icc_len;
    /* owned, NULL if none or not asked for: EXIF as TIFF bytes ("II*\0"
     * or "MM\0*", no "Exif\0\0"), its orientation reset to 1 when the
     * decode applied it; XMP as the XML packet */
    unsigned char *exif, *xmp;
    size_t exif_len, xmp_len;
};
void ib_meta_release(struct ib_meta *m);

/*
 * Reads only the header: format, size as declared, EXIF orientation; no
 * ICC. *meta is set only on success. Costs no pixel decoding.
 */
int ib_image_probe(const unsigned char *buf, size_t len, struct ib_meta *meta,
                   char *msg, size_t msglen);

/*
 * Decodes buf to *out (8-bit, 1..4 channels, upright when auto_orient).
 * *out and *meta are set only on success; meta may be NULL.
 */
int ib_image_decode(const unsigned char *buf, size_t len,
                    const struct ib_decode_opts *opts, struct ib_image **out,
                    struct ib_meta *meta, char *msg, size_t msglen);

struct ib_encode_opts {
    enum ib_format format;     /* one ib_format_can_write() accepts */
    int quality;               /* JPEG 1..100 */
    int webp_quality;          /* WebP 1..100 (lossy; default 80) */
    int avif_quality;          /* AVIF 1..100 (default 50) */
    int lossless;              /* WebP: lossless instead of quality */
    int progressive;           /* JPEG; implies optimize_coding */
    int optimize_coding;       /* JPEG: IB_JPEG_OPTIMIZE_* below */
    int subsample;             /* JPEG chroma: 420 (default), 422 or 444 */
    int png_level;             /* 0 stored, 1..9 as zlib's (png_write.c) */
    const unsigned char *icc;  /* borrowed, may be NULL */
    size_t icc_len;
    const unsigned char *exif; /* borrowed, may be NULL: as in ib_meta */
    size_t exif_len;
    const unsigned char *xmp;  /* borrowed, may be NULL */
    size_t xmp_len;
};
/*
 * Huffman tables fitted to the image (libjpeg's optimize_coding): about 3%
 * smaller, the same pixels, but libjpeg then holds every DCT coefficient
 * until the end, 3 bytes a pixel at 4:2:0 (6 at 4:4:4), as much again as
 * the image. AUTO, the default, fits them for outputs up to
 * IB_JPEG_OPTIMIZE_MAX_PIXELS (thumbnails and renditions; 3840x2160 is
 * under it) and keeps the standard tables above, where a whole-image op
 * (blur, rotate) would otherwise need twice its memory.
 */
enum {
    IB_JPEG_OPTIMIZE_OFF = 0,
    IB_JPEG_OPTIMIZE_ON = 1,
    IB_JPEG_OPTIMIZE_AUTO = 2,
};
#define IB_JPEG_OPTIMIZE_MAX_PIXELS ((uint64_t)1 << 23)
/* JPEG q85, 4:2:0, IB_JPEG_OPTIMIZE_AUTO (sharp's subsampling; sharp
 * always optimises), PNG 6, WebP q80, AVIF q50 (sharp's defaults for the
 * last two) */
void ib_encode_opts_init(struct ib_encode_opts *o);

/* Encodes img to a malloc'd *buf of *len bytes; set only on success. */
int ib_image_encode(const struct ib_image *img,
                    const struct ib_encode_opts *opts, unsigned char **buf,
                    size_t *len, char *msg, size_t msglen);

/* EXIF orientation 1..8 applied to img: a new upright image. */
int ib_image_orient(const struct ib_image *img, int orientation,
                    struct ib_image **out, char *msg, size_t msglen);

/*
 * The op pipeline: a list of ops, parsed and validated up front, applied in
 * order. Each op makes a new image; the pipeline frees intermediates.
 */
struct ib_pipeline;
struct ib_pipeline *ib_pipeline_new(void);
void ib_pipeline_free(struct ib_pipeline *p);
/* Appends op `name` ("resize", "blur", ...) with its argument (may be NULL
 * for flag ops). Unknown name or bad value: IB_TRANSFORM_EINVAL + msg. */
int ib_pipeline_add(struct ib_pipeline *p, const char *name, const char *arg,
                    char *msg, size_t msglen);
/* Settings that modify ops rather than being ops themselves. */
int ib_pipeline_set_filter(struct ib_pipeline *p, const char *filter,
                           char *msg, size_t msglen);
void ib_pipeline_set_upscale(struct ib_pipeline *p, int upscale);
size_t ib_pipeline_len(const struct ib_pipeline *p);
/* Replaces *img with the result. On failure *img is still the caller's to
 * free, but an op that works in place (blur, sharpen) may have changed its
 * pixels before a later op failed. */
int ib_pipeline_apply(const struct ib_pipeline *p, struct ib_image **img,
                      char *msg, size_t msglen);
/*
 * For shrink-on-load: the smallest size (in upright orientation) an input
 * of w x h may be decoded at without changing the result beyond the
 * resampler's own, i.e. at least 2x the first op's target; w x h itself
 * when the first op does not shrink.
 */
void ib_pipeline_min_input(const struct ib_pipeline *p, uint32_t w,
                           uint32_t h, uint32_t *min_w, uint32_t *min_h);

/* Op i's name, argument ("WxH", NULL for a flag) and help, for the CLI's
 * option table and "imgbatch help transform"; 0, or -1 past the end. */
int ib_op_info(size_t i, const char **name, const char **arg,
               const char **help);

/*
 * Where ib_transform_file writes: below one folder (OUT), opened once by
 * the caller with O_DIRECTORY; outputs are named relative to it. Folders
 * on the way are made as needed; no symlink below root is followed and
 * ".." is refused, so nothing is created or replaced outside root.
 * A fork()ed worker may use the fd it inherited.
 */
struct ib_out {
    int root;       /* borrowed: OUT's fd, O_RDONLY | O_DIRECTORY */
    const char *shown;  /* borrowed: OUT as the user named it, put before
                           names in messages; may be NULL */
    int no_fsync;   /* 0: the file is fsync'ed before its rename, its
                       folder after, so a power cut never leaves an
                       empty or partial file under the final name */
};

/*
 * One whole item, file to file: read in_path, decode under dopts, apply p,
 * encode with eopts, write to a temp name ".NAME.tmp-XXXXXX" beside
 * out->root/name, rename. Fills *res. Never leaves a partial file under
 * the name.
 */
struct ib_transform_result {
    uint32_t in_w, in_h, out_w, out_h;
    enum ib_format in_format, out_format;
};
int ib_transform_file(const char *in_path, const struct ib_out *out,
                      const char *name, const struct ib_decode_opts *dopts,
                      const struct ib_pipeline *p,
                      const struct ib_encode_opts *eopts,
                      struct ib_transform_result *res, char *msg,
                      size_t msglen);

/*
 * Renditions: several outputs of one input from one decode. The input is
 * read and decoded once (shrink-on-load planned for the largest
 * rendition), p runs once, then each distinct size is made from the
 * smallest image already made that is at least as large, its geometry
 * always that of p's result (a size whose result would differ by a pixel
 * is made from p's result instead), and encoded once per rendition.
 * Renditions whose size pointers are equal share one image.
 */
#define IB_RENDITIONS_MAX 16
struct ib_rendition {
    const struct ib_pipeline *size;  /* borrowed: ops after p for this one
                                        (a resize); NULL or empty: none */
    const char *name;                /* borrowed: below out->root */
    struct ib_encode_opts eopts;     /* format UNKNOWN: the input's; icc,
                                        exif, xmp NULL: the input's */
    int skip;                        /* up to date: not made, not written */
};
struct ib_rendition_result {
    uint32_t width, height;   /* as written; 0 when skipped or failed */
    uint32_t bytes;           /* as written */
    int8_t status;            /* 0 written, 1 skipped, 2 not tried (the
                                 input failed first), else IB_TRANSFORM_E* */
    uint8_t format;           /* enum ib_format, when written */
};
/*
 * n is 1..IB_RENDITIONS_MAX. Every rendition not skipped is attempted,
 * each written as ib_transform_file writes (temp name, rename); one that
 * fails does not stop the others. Returns 0 when every one not skipped
 * was written, else the first failure's code, with msg (naming the
 * output when n > 1). res: the input's size and format, and the first
 * written rendition's size and format.
 */
int ib_transform_renditions(const char *in_path, const struct ib_out *out,
                            const struct ib_decode_opts *dopts,
                            const struct ib_pipeline *p,
                            const struct ib_rendition *r, size_t n,
                            struct ib_transform_result *res,
                            struct ib_rendition_result *rr, char *msg,
                            size_t msglen);

/*
 * p applied to in, which stays as it was: *out is a new image. The
 * size p makes of a w x h input in *ow x *oh: 0, or -1 when an op of p
 * cannot tell before it runs.
 */
int ib_pipeline_derive(const struct ib_pipeline *p, const struct ib_image *in,
                       struct ib_image **out, char *msg, size_t msglen);
int ib_pipeline_out_size(const struct ib_pipeline *p, uint32_t w, uint32_t h,
                         uint32_t *ow, uint32_t *oh);

/*
 * Removes the temp files ib_transform_file left beside out->root/name when
 * its process died mid-write. Only call it when no process is writing
 * that name. Returns how many were removed.
 */
int ib_transform_remove_temps(const struct ib_out *out, const char *name);

/*
 * Removes, in the whole tree below out->root (symlinks not followed), the
 * temp files of killed runs: dot-files named ".NAME.tmp-" + 6 letters or
 * digits, as ib_transform_file makes them. With mine non-NULL only those
 * for which mine(ctx, output name below root) returns nonzero go, so
 * several writers can share root as long as each owns its names. A name
 * longer than NAME_MAX - 12 bytes has a temp name with a shortened stem
 * (its first bytes, '~', 16 hex digits of a hash) that names no output:
 * mine is asked about the stem, so only a sweep without mine removes it
 * (ib_transform_remove_temps knows it by its name). Only call it when no
 * other process writes those names. Returns how many.
 */
int ib_transform_sweep_temps(const struct ib_out *out,
                             int (*mine)(void *ctx, const char *name),
                             void *ctx);

#endif
