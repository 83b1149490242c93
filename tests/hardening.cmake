# Hardening: the fuzz targets' regression inputs, replayed without
# libFuzzer (tests/fuzz/replay.c) in every build, and CLI tests with
# hostile images, hostile servers and resource limits. The fuzzers
# themselves build with -DIMGBATCH_FUZZ=ON (tests/fuzz/README.md).
set(IB_REPLAY_LIBS_decode ib_transform)
set(IB_REPLAY_LIBS_ops ib_transform)
set(IB_REPLAY_LIBS_list ib_fetch CURL::libcurl)
set(IB_REPLAY_LIBS_name ib_fetch CURL::libcurl)
foreach(t decode ops list name)
    add_executable(replay_${t} fuzz/fuzz_${t}.c fuzz/replay.c)
    target_link_libraries(replay_${t} PRIVATE ${IB_REPLAY_LIBS_${t}}
        ib_warnings)
    add_test(NAME fuzz_regress_${t} COMMAND replay_${t}
        ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/regressions/${t})
    set_tests_properties(fuzz_regress_${t} PROPERTIES TIMEOUT 120
        LABELS fuzz)
endforeach()

foreach(t images servers limits)
    ib_cli_test(hostile_${t} hostile_${t}.sh)
endforeach()
set_tests_properties(hostile_images hostile_servers hostile_limits PROPERTIES
    LABELS hostile)
