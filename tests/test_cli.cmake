foreach(case usage selfcheck_args demo)
  add_test(NAME test_cli.${case} COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/tests/test_cli.sh $<TARGET_FILE:gridlora_cli> ${case})
endforeach()
