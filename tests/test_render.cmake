gl_test(test_render render_is_deterministic sample_is_deterministic_and_valid every_part_renders_in_range
        orbit_matches_reference_path smoke_only_near_path shadow_only_near_subject
        night_darkens_scene_keeps_subject lights_warm_near_subject_and_flicker
        rain_is_a_fixed_falling_pattern scaled_subject_stays_in_frame other_motion_keeps_appearance other_background_keeps_subject
        composition_contains_both heldout_never_in_train captions_use_only_vocabulary pair_caption_from_captions
        concept_json_round_trip rejects_bad_input)
