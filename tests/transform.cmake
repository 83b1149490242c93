# Unit tests of the transform library: codecs against the synthetic images
# ib-gen writes (testdata/gen.c), which the test generates for itself.
ib_unit_test(test_transform unit/test_transform.c ib_transform)
add_dependencies(test_transform ib-gen)
