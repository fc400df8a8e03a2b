gl_test(test_video alloc_checks_sizes read_h264_mp4 read_h264_mov read_vp9_webm read_mpeg4_avi
        read_theora_ogv read_gif read_png read_crop_resize_matches_manual even_sampling
        short_clip_repeats read_is_deterministic write_mp4_round_trip write_mp4_mpeg4_fallback
        write_gif_round_trip write_is_deterministic contact_sheet_layout write_png_is_contact_sheet
        reject_bad_inputs reject_truncated_faststart reject_huge_dimensions
        reject_bad_writes)
