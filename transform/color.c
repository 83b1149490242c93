/*
 * transform/color.c: pixels described by an ICC profile, converted to sRGB
 * with lcms2, for outputs that will not carry the profile (--strip, or
 * --keep without icc). Without this, a Display P3 or Adobe RGB photo
 * written without its profile is shown as if it were sRGB: dull greens
 * and reds.
 *
 * Profiles that already are sRGB (by description), and profiles lcms2
 * cannot read or whose colour space does not match the image (an RGB
 * profile on a grey image), leave the pixels alone: there is nothing
 * better to do with them, and the output is what it was before.
 * Intent: perceptual, as libvips and sharp use. Alpha is copied.
 *
 * CMYK JPEGs are converted here too, while they are decoded, a row at a
 * time (tf_cmyk_*): our images are RGB, so the CMYK profile can never
 * travel with them, and its conversion is part of reading the file.
 */
#include "transform/transform_int.h"

#include <stdlib.h>
#include <string.h>

#include <lcms2.h>

static int is_srgb(cmsHPROFILE p)
{
    char desc[256];

    if (!cmsGetProfileInfoASCII(p, cmsInfoDescription, "en", "US", desc,
                                sizeof desc))
        return 0;
    return strstr(desc, "sRGB") != NULL;
}

/* A grey profile with sRGB's tone curve: grey stays grey, on sRGB's scale. */
static cmsHPROFILE srgb_grey(cmsContext ctx)
{
    /* sRGB's curve, IEC 61966-2-1, as an ICC parametric curve of type 4 */
    static const cmsFloat64Number srgb[5] = {2.4, 1.0 / 1.055,
                                             0.055 / 1.055, 1.0 / 12.92,
                                             0.04045};
    cmsToneCurve *curve = cmsBuildParametricToneCurve(ctx, 4, srgb);
    cmsHPROFILE p;

    if (!curve)
        return NULL;
    p = cmsCreateGrayProfileTHR(ctx, cmsD50_xyY(), curve);
    cmsFreeToneCurve(curve);
    return p;
}

int tf_color_to_srgb(struct ib_image *img, const unsigned char *icc,
                     size_t icc_len, char *msg, size_t msglen)
{
    cmsContext ctx;
    cmsHPROFILE src, dst = NULL;
    cmsHTRANSFORM xf = NULL;
    cmsUInt32Number fmt;
    int rc = 0, grey = img->channels < 3;

    if (!icc || !icc_len)
        return 0;
    ctx = cmsCreateContext(NULL, NULL);   /* per call: reentrant */
    if (!ctx)
        return tf_fail(msg, msglen, IB_TRANSFORM_ENOMEM,
                       "out of memory for colour management");
    src = cmsOpenProfileFromMemTHR(ctx, icc, (cmsUInt32Number)icc_len);
    if (!src || is_srgb(src) ||
        cmsGetColorSpace(src) != (grey ? cmsSigGrayData : cmsSigRgbData))
        goto done;
    dst = grey ? srgb_grey(ctx) : cmsCreate_sRGBProfileTHR(ctx);
    switch (img->channels) {
    case 1: fmt = TYPE_GRAY_8; break;
    case 2: fmt = TYPE_GRAYA_8; break;
    case 3: fmt = TYPE_RGB_8; break;
    default: fmt = TYPE_RGBA_8; break;
    }
    if (dst)
        xf = cmsCreateTransformTHR(ctx, src, fmt, dst, fmt,
                                   INTENT_PERCEPTUAL,
                                   cmsFLAGS_COPY_ALPHA);
    if (!xf) {
        /* a profile lcms2 reads but cannot link: leave the pixels */
        if (!dst)
            rc = tf_fail(msg, msglen, IB_TRANSFORM_ENOMEM,
                         "out of memory for the sRGB profile");
        goto done;
    }
    for (uint32_t y = 0; y < img->height; y++) {
        unsigned char *row = img->px + (size_t)y * img->stride;
        cmsDoTransform(xf, row, row, img->width);
    }
done:
    if (xf)
        cmsDeleteTransform(xf);
    if (dst)
        cmsCloseProfile(dst);
    if (src)
        cmsCloseProfile(src);
    cmsDeleteContext(ctx);
    return rc;
}

/* The colour space in an ICC header (bytes 16..19), e.g. "RGB ", "CMYK". */
static int icc_space_is(const unsigned char *icc, size_t len,
                        const char *space)
{
    return len >= 132 && memcmp(icc + 16, space, 4) == 0;
}

int tf_icc_is_srgb(const unsigned char *icc, size_t len)
{
    cmsContext ctx;
    cmsHPROFILE p = NULL;
    int yes = 0;

    if (!icc || !len || len > UINT32_MAX)
        return 0;
    ctx = cmsCreateContext(NULL, NULL);
    if (ctx)
        p = cmsOpenProfileFromMemTHR(ctx, icc, (cmsUInt32Number)len);
    if (p) {
        yes = is_srgb(p);
        cmsCloseProfile(p);
    }
    if (ctx)
        cmsDeleteContext(ctx);
    return yes;
}

int tf_icc_fits(const unsigned char *icc, size_t len, uint32_t channels)
{
    return icc_space_is(icc, len, channels < 3 ? "GRAY" : "RGB ");
}

struct tf_cmyk {
    cmsContext ctx;
    cmsHTRANSFORM xf;
};

/*
 * The same intent as the RGB path: perceptual. A press profile's
 * perceptual table maps paper white to white and the darkest ink to
 * black; relative colorimetric also whitens the paper but leaves the
 * ink's black as the dark grey it measures, so shadows look washed out
 * on a screen (unless black point compensation is added). Perceptual is
 * what sharp asks libvips for on CMYK input and lcms2's jpgicc's default.
 */
struct tf_cmyk *tf_cmyk_new(const unsigned char *icc, size_t len,
                            int inverted)
{
    struct tf_cmyk *c;
    cmsHPROFILE src = NULL, dst = NULL;

    if (!icc || !icc_space_is(icc, len, "CMYK") || len > UINT32_MAX)
        return NULL;
    c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->ctx = cmsCreateContext(NULL, NULL);
    if (c->ctx)
        src = cmsOpenProfileFromMemTHR(c->ctx, icc, (cmsUInt32Number)len);
    if (src && cmsGetColorSpace(src) == cmsSigCmykData &&
        cmsGetDeviceClass(src) != cmsSigLinkClass)
        dst = cmsCreate_sRGBProfileTHR(c->ctx);
    /* Adobe's inverted samples (0 = full ink) are lcms2's "reversed"
     * flavour of CMYK: it undoes the inversion itself */
    if (dst)
        c->xf = cmsCreateTransformTHR(c->ctx, src,
                                      inverted ? TYPE_CMYK_8_REV
                                               : TYPE_CMYK_8,
                                      dst, TYPE_RGB_8, INTENT_PERCEPTUAL, 0);
    if (dst)
        cmsCloseProfile(dst);
    if (src)
        cmsCloseProfile(src);
    if (!c->xf) {
        tf_cmyk_free(c);
        return NULL;
    }
    return c;
}

void tf_cmyk_to_rgb(struct tf_cmyk *c, const unsigned char *cmyk,
                    unsigned char *rgb, uint32_t w)
{
    cmsDoTransform(c->xf, cmyk, rgb, w);
}

void tf_cmyk_free(struct tf_cmyk *c)
{
    if (!c)
        return;
    if (c->xf)
        cmsDeleteTransform(c->xf);
    if (c->ctx)
        cmsDeleteContext(c->ctx);
    free(c);
}
