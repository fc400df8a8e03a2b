# tests/test_cli_grid.cmake: `gridlora grids`, `train grid|gridfill`, `edit`, `compose`,
# `character` and `story` end to end on the tiny preset, one ctest entry per case of tests/test_cli_grid.sh.
foreach(case pipeline errors args story)
  add_test(NAME test_cli_grid.${case}
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/test_cli_grid.sh $<TARGET_FILE:gridlora_cli> ${case})
  set_tests_properties(test_cli_grid.${case} PROPERTIES ENVIRONMENT "GRIDLORA_THREADS=2" TIMEOUT 120)
endforeach()
