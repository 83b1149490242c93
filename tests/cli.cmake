# CLI end-to-end tests of imgbatch transform (tests/cli/*.sh).
ib_cli_test(cli_usage usage.sh)
ib_cli_test(cli_transform_batch transform_batch.sh)
ib_cli_test(cli_transform_orient transform_orient.sh)
ib_cli_test(cli_transform_kill transform_kill.sh)
ib_cli_test(cli_transform_resize transform_resize.sh)
ib_cli_test(cli_engines engines.sh)
ib_cli_test(cli_interrupt interrupt.sh)
ib_cli_test(cli_bench bench.sh)
ib_cli_test(cli_usage_safety usage_safety.sh)
ib_cli_test(cli_formats_known formats_known.sh)
ib_cli_test(cli_formats_codecs formats_codecs.sh)
ib_cli_test(cli_color_srgb color_srgb.sh)
ib_cli_test(cli_metadata_keep metadata_keep.sh)
ib_cli_test(cli_color_cmyk color_cmyk.sh)
# The .deb test installs the package it builds: once, from the release
# build; a sanitizer build's binary would need the sanitizer runtime.
if(NOT IMGBATCH_SANITIZE)
    ib_cli_test(cli_package package.sh)
    set_tests_properties(cli_package PROPERTIES SKIP_RETURN_CODE 77
        RUN_SERIAL TRUE)
endif()
ib_cli_test(cli_completion completion.sh)
ib_cli_test(run_renditions run_renditions.sh)
ib_cli_test(transform_renditions_edges transform_renditions_edges.sh)
# The raw YCbCr path against the RGB path: 20 inputs x 10 transforms x 2
# paths, minutes on a loaded 2-core machine.
ib_cli_test(cli_transform_raw transform_raw.sh)
set_tests_properties(cli_transform_raw PROPERTIES TIMEOUT 1200)
