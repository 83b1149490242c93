# imgbatch run, --shard and the man page: CLI tests against tests/server.py
# (its /file/ route serves real images from a folder the test fills).
foreach(t run_basic run_kill run_help run_dry_run shard_fetch shard_transform
        report_schema)
    ib_cli_test(${t} ${t}.sh)
endforeach()
ib_cli_test(cli_report_merge report_merge.sh)
ib_cli_test(cli_shared_dirs shared_dirs.sh)
