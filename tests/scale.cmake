# Scale-out on a real scheduler (tests/scale/): a one-node Slurm cluster
# started by the test runs examples/slurm-array.sbatch as a job array.
# Label "scale": ctest -L scale runs it alone, ctest -LE scale leaves it out.
#
# Not registered in the sanitizer build: it starts a cluster of its own
# (75-110 s of wall time on two busy cores), and what it tests is the
# scheduler, the example and --shard, not memory safety, which the
# sanitizer pass already covers with the unit and CLI suites running the
# same code. So it runs once per scripts/test.sh, in the release build.
if(NOT IMGBATCH_SANITIZE)
    add_test(NAME scale_slurm
        COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/scale/slurm.sh)
    set_tests_properties(scale_slurm PROPERTIES
        ENVIRONMENT "IMGBATCH=$<TARGET_FILE:imgbatch>;IB_GEN=$<TARGET_FILE:ib-gen>;IB_TESTS=${CMAKE_CURRENT_SOURCE_DIR}"
        LABELS scale
        TIMEOUT 600)
endif()
