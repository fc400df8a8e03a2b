# tests/test_safetensors.cmake: the safetensors reader/writer tests. Two of them run the
# independent reader/writer tests/st_reader.py with /usr/bin/python3 (standard library only).
gl_test(test_safetensors reject_short_files reject_header_length reject_bad_json
        reject_deep_nesting reject_bad_entries reject_bad_shapes reject_bad_offsets
        reject_overlaps_and_holes reject_bad_metadata reject_messages_are_one_line
        reject_every_truncation fuzz_never_crashes accept_edge_cases roundtrip_f32_exact
        roundtrip_f16_bf16_rounded roundtrip_metadata writer_rejects_bad_input
        writer_failure_leaves_no_file params_roundtrip params_mismatch_errors
        python_reader_agrees python_writer_agrees)
target_compile_definitions(test_safetensors PRIVATE
  GL_ST_READER_PY="${CMAKE_CURRENT_SOURCE_DIR}/tests/st_reader.py" GL_PYTHON="/usr/bin/python3")
