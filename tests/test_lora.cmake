gl_test(test_lora lora_shapes lora_adds_and_nulls lora_adapter_object lora_gain_targets token_vectors lora_in_model lora_matches_pytorch
        dropout_mask dropout_lora_gradients dropout_in_model dropout_split_batch dropout_train_resumes)
target_compile_definitions(test_lora PRIVATE GL_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
