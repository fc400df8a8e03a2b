gl_test(test_dit config_presets_and_json config_rejects dit_gradients dit_gradients_masked dit_gradients_per_video_t
        dit_mask_isolates_cell dit_text_mask_isolates_prompt dit_init_and_errors dit_frozen dit_threads
        dit_matches_pytorch dit_matches_pytorch_masked dit_matches_pytorch_canvas_rope dit_matches_pytorch_per_video_t dit_rope_per_cell
        reference_gradcheck dit_gradients_predict_x0 dit_gradients_text_pool dit_masks_isolate_with_text_pool
        dit_matches_pytorch_predict_x0 dit_matches_pytorch_text_pool
        dit_gradients_abs_pos dit_masks_isolate_with_abs_pos dit_matches_pytorch_abs_pos)
target_compile_definitions(test_dit PRIVATE GL_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
