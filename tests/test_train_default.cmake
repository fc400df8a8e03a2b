# tests/test_train_default.cmake: scripts/train-default.sh end to end at the tiny preset
# (every stage, its records, skipping what is done, resuming a stage from its checkpoint).
add_test(NAME test_train_default
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/test_train_default.sh
                 ${CMAKE_CURRENT_SOURCE_DIR}/scripts/train-default.sh $<TARGET_FILE:gridlora_cli>)
set_tests_properties(test_train_default PROPERTIES ENVIRONMENT "GRIDLORA_THREADS=1" TIMEOUT 300)
