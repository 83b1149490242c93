/*
 * testdata/mkicc.c: ib-icc writes the ICC profiles the colour tests need,
 * made with lcms2 from their published primaries, so the tests do not
 * depend on profile files some package happens to ship.
 *   ib-icc p3 FILE        Display P3 (P3 primaries, D65, sRGB's curve)
 *   ib-icc adobergb FILE  Adobe RGB (1998) (D65, gamma 563/256)
 *   ib-icc srgb FILE      sRGB (lcms2's built-in)
 */
#include <stdio.h>
#include <string.h>

#include <lcms2.h>

static cmsHPROFILE rgb(const cmsCIExyYTRIPLE *prim, cmsToneCurve *c,
                       const char *desc)
{
    cmsCIExyY d65;
    cmsToneCurve *curves[3] = {c, c, c};
    cmsHPROFILE p;
    cmsMLU *mlu;

    cmsWhitePointFromTemp(&d65, 6504);
    p = cmsCreateRGBProfile(&d65, prim, curves);
    mlu = cmsMLUalloc(NULL, 1);
    if (p && mlu) {
        cmsMLUsetASCII(mlu, "en", "US", desc);
        cmsWriteTag(p, cmsSigProfileDescriptionTag, mlu);
    }
    cmsMLUfree(mlu);
    return p;
}

int main(int argc, char **argv)
{
    static const cmsFloat64Number srgb_curve[5] = {2.4, 1.0 / 1.055,
                                                   0.055 / 1.055,
                                                   1.0 / 12.92, 0.04045};
    const cmsCIExyYTRIPLE p3 = {{0.680, 0.320, 1}, {0.265, 0.690, 1},
                                {0.150, 0.060, 1}};
    const cmsCIExyYTRIPLE a98 = {{0.64, 0.33, 1}, {0.21, 0.71, 1},
                                 {0.15, 0.06, 1}};
    cmsHPROFILE p = NULL;
    cmsToneCurve *c = NULL;

    if (argc != 3) {
        fprintf(stderr, "usage: ib-icc p3|adobergb|srgb FILE\n");
        return 2;
    }
    if (!strcmp(argv[1], "p3")) {
        c = cmsBuildParametricToneCurve(NULL, 4, srgb_curve);
        p = rgb(&p3, c, "Display P3 (test)");
    } else if (!strcmp(argv[1], "adobergb")) {
        c = cmsBuildGamma(NULL, 563.0 / 256.0);
        p = rgb(&a98, c, "Adobe RGB (1998) (test)");
    } else if (!strcmp(argv[1], "srgb")) {
        p = cmsCreate_sRGBProfile();
    }
    if (!p || !cmsSaveProfileToFile(p, argv[2])) {
        fprintf(stderr, "ib-icc: cannot write '%s'\n", argv[2]);
        return 1;
    }
    cmsCloseProfile(p);
    if (c)
        cmsFreeToneCurve(c);
    return 0;
}
