/*
 * tests/fuzz/fuzz.h: shared by the fuzz targets (libFuzzer entry points,
 * also linked into the ctest replayers by replay.c).
 *
 * FUZZ_CHECK is an assertion that survives NDEBUG: a property violated is
 * a crash the fuzzer saves, and a failed replay under ctest.
 */
#ifndef IB_FUZZ_H
#define IB_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                  \
    do {                                                                  \
        if (!(cond)) {                                                    \
            fprintf(stderr, "%s:%d: property violated: %s\n", __FILE__,   \
                    __LINE__, #cond);                                     \
            abort();                                                      \
        }                                                                 \
    } while (0)

#endif
