# tests/test_cli_lora.cmake: `gridlora train multidc`, `lora info|merge`, `generate --lora` and
# `finetune` end to end on the tiny preset, one ctest entry per case of tests/test_cli_lora.sh.
foreach(case multidc finetune errors args)
  add_test(NAME test_cli_lora.${case}
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/test_cli_lora.sh $<TARGET_FILE:gridlora_cli> ${case})
  set_tests_properties(test_cli_lora.${case} PROPERTIES ENVIRONMENT "GRIDLORA_THREADS=2" TIMEOUT 120)
endforeach()
