gl_test(test_grid tile_split_round_trip tile_literal tile_rejects_mismatched split_rejects_odd
        cells_patch_1x1x1 cells_patch_2x4x4 cells_patch_equal_cell cells_reject_straddle
        positions_contiguous video_mask_per_cell token_mask_matches_video_mask
        token_timesteps_per_cell layout_edit layout_compose layout_character layout_story
        layout_by_name layout_rejects_bad_prompts layout_prompt_exact layout_prompt_overflow
        layout_masks layout_story_anchored layout_masks_story layout_start_cell)
