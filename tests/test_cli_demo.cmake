# tests/test_cli_demo.cmake: `gridlora demo` end to end on a tiny shipped model (tests/test_cli_demo.sh).
add_test(NAME test_cli_demo
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/test_cli_demo.sh ${CMAKE_CURRENT_SOURCE_DIR}
                 $<TARGET_FILE:gridlora_cli>)
set_tests_properties(test_cli_demo PROPERTIES ENVIRONMENT "GRIDLORA_THREADS=2" TIMEOUT 300)
