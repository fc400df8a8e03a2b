add_test(NAME test_cli_args.bad_arguments COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/test_cli_args.sh $<TARGET_FILE:gridlora_cli>)
set_tests_properties(test_cli_args.bad_arguments PROPERTIES TIMEOUT 300)
