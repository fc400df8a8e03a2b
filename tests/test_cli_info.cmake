# tests/test_cli_info.cmake: `gridlora info` on good, missing and corrupt files, and usage
# errors; tests/st_reader.py (standard-library Python) writes the good file independently.
foreach(case table json missing corrupt usage)
  add_test(NAME test_cli_info.${case}
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/test_cli_info.sh $<TARGET_FILE:gridlora_cli> ${case})
endforeach()
