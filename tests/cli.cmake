# CLI end-to-end tests of imgbatch transform (tests/cli/*.sh).
ib_cli_test(cli_usage usage.sh)
ib_cli_test(cli_transform_batch transform_batch.sh)
ib_cli_test(cli_transform_orient transform_orient.sh)
ib_cli_test(cli_transform_kill transform_kill.sh)
ib_cli_test(cli_transform_resize transform_resize.sh)
ib_cli_test(cli_engines engines.sh)
ib_cli_test(cli_interrupt interrupt.sh)
ib_cli_test(cli_bench bench.sh)
