gl_test(test_core shape_numel_checked strerror_covers_codes arena_aligns_and_reuses
        arena_exhaustion_reports_need arena_tensor_and_rewind params_store_by_name
        params_adamw_matches_reference threads_setting)
