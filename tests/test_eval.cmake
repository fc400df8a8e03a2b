gl_test(test_eval psnr_known_values fg_stats_weighted identity_ignores_background identity_parts_split centroid_of_square
        foreground_is_the_moving_square caption_figures_of_square shape_figures_of_rendered_subjects
        motion_shift_is_the_error temporal_mean_change effect_stats_known_values
        partner_stat_known_value names_and_items mean_skips_nan_and_json_holds_all
        concept_run_copy_is_input_vs_truth)
