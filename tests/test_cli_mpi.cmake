# tests/test_cli_mpi.cmake: data-parallel training under `mpirun -np 2` (issue 11), one
# ctest entry per case of tests/test_cli_mpi.sh; skipped (exit 77) in a build without MPI.
# LSAN_OPTIONS: the ASan pass would otherwise fail on what Open MPI itself never frees
# (tests/lsan_mpi.supp names its libraries only); the optimised pass ignores it.
foreach(case base lora grid resume errors)
  add_test(NAME test_cli_mpi.${case}
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/test_cli_mpi.sh $<TARGET_FILE:gridlora_cli> ${case}
                   ${GL_HAVE_MPI})
  set_tests_properties(test_cli_mpi.${case} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300
    ENVIRONMENT "GRIDLORA_THREADS=1;LSAN_OPTIONS=suppressions=${CMAKE_CURRENT_SOURCE_DIR}/tests/lsan_mpi.supp:print_suppressions=0")
endforeach()
