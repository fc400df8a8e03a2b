gl_test(test_grids tokenize_keeps_markers render_cells_match_truth source_masks_match_layout several_sets_read_as_one
        fill_clean_subsets fill_input_share fill_loss_ignores_clean_cells mask_holds_end_to_end app_keeps_input_exactly
        app_expands_multi_vector_tokens grid_set_expands_multi_vector_tokens
        subject_weight_follows_coverage subject_weight_per_layout offset_noise_per_layout)
