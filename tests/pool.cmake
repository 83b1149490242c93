# pool/: every backend against one task table (tests/unit/test_pool.c).
ib_unit_test(test_pool unit/test_pool.c ib_pool)
