gl_test(test_video_memory memory_matches_file_mp4 memory_matches_file_gif_png
        memory_rejects_empty_and_garbage memory_opens_no_files)
