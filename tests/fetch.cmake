# fetch: unit tests of the pure parts, and CLI tests against tests/server.py
# on 127.0.0.1 (started and stopped by each script).
ib_unit_test(test_fetch unit/test_fetch.c ib_fetch CURL::libcurl)
foreach(t basic breaker faults names incremental many modes reuse signal
        sweep tls http_opts list_names)
    ib_cli_test(fetch_${t} fetch_${t}.sh)
endforeach()
