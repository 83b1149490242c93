# Unit tests of cmd/'s own parts (the report writer, option numbers,
# --shard, path checks), linked from the ib_cmd library.
ib_unit_test(test_cmd unit/test_cmd.c ib_cmd)
