# tests/test_cli_train.cmake: `gridlora train base` and `gridlora generate` end to end on the
# tiny preset, one ctest entry per case of tests/test_cli_train.sh.
foreach(case resume generate nan ema_plot data args)
  add_test(NAME test_cli_train.${case}
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/test_cli_train.sh $<TARGET_FILE:gridlora_cli> ${case})
  set_tests_properties(test_cli_train.${case} PROPERTIES ENVIRONMENT "GRIDLORA_THREADS=2" TIMEOUT 120)
endforeach()
