gl_test(test_lora lora_shapes lora_adds_and_nulls lora_adapter_object lora_in_model lora_matches_pytorch)
target_compile_definitions(test_lora PRIVATE GL_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
