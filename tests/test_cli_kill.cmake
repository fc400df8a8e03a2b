add_test(NAME test_cli_kill.kill_and_resume COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/test_cli_kill.sh $<TARGET_FILE:gridlora_cli>)
set_tests_properties(test_cli_kill.kill_and_resume PROPERTIES TIMEOUT 300)
