foreach(case outputs args bad_input)
  add_test(NAME test_cli_prep.${case} COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/tests/test_cli_prep.sh $<TARGET_FILE:gridlora_cli> ${case})
endforeach()
