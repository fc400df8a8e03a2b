foreach(case write heldout args bad_out)
  add_test(NAME test_cli_dataset.${case}
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/tests/test_cli_dataset.sh $<TARGET_FILE:gridlora_cli> ${case})
  set_tests_properties(test_cli_dataset.${case} PROPERTIES ENVIRONMENT "GRIDLORA_THREADS=2" TIMEOUT 120)
endforeach()
