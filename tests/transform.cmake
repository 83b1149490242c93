# Unit tests of the transform library: codecs against the synthetic images
# ib-gen writes (testdata/gen.c), which the test generates for itself.
ib_unit_test(test_transform unit/test_transform.c ib_transform)
add_dependencies(test_transform ib-gen)
# Every allocation of the library can be made to fail (see "allocation
# failures" in test_transform.c).
target_link_options(test_transform PRIVATE
    -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc)
# The raw YCbCr path: against the RGB path, every prefix of a JPEG.
ib_unit_test(test_planes unit/test_planes.c ib_transform)
add_dependencies(test_planes ib-gen)
