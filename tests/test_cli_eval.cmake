# tests/test_cli_eval.cmake: `gridlora eval` end to end on the tiny preset (models from
# scripts/train-default.sh --tiny), one ctest entry per case of tests/test_cli_eval.sh.
foreach(case run errors multidc)
  add_test(NAME test_cli_eval.${case}
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/test_cli_eval.sh $<TARGET_FILE:gridlora_cli>
                   ${CMAKE_CURRENT_SOURCE_DIR}/scripts/train-default.sh ${case})
  set_tests_properties(test_cli_eval.${case} PROPERTIES ENVIRONMENT "GRIDLORA_THREADS=1" TIMEOUT 300)
endforeach()
