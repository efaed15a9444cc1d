# Tests of runtime/protocol: see tests/CMakeLists.txt.

# The test-only helpers (session_pair, raw frame builders), shared by the
# unit tests and the fuzz replay.
if(WEFT_BUILD_TESTS)
  add_library(weft_protocol_testing STATIC
    unit/runtime/protocol/session_pair.cpp)
  target_include_directories(weft_protocol_testing PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(weft_protocol_testing PUBLIC weft_protocol
    PRIVATE weft_warnings)
endif()

weft_test(weft_unit_runtime_protocol
  SOURCES
    unit/runtime/protocol/checksum_test.cpp
    unit/runtime/protocol/frame_decoder_test.cpp
    unit/runtime/protocol/frame_writer_test.cpp
    unit/runtime/protocol/header_codec_test.cpp
    unit/runtime/protocol/protocol_settings_test.cpp
    unit/runtime/protocol/session_test.cpp
    unit/runtime/protocol/session_errors_test.cpp
    unit/runtime/protocol/session_stream_test.cpp
    unit/runtime/protocol/session_property_test.cpp
    unit/runtime/protocol/spill_files_test.cpp
    unit/runtime/protocol/spill_writer_test.cpp
  DEPS weft_protocol weft_protocol_testing
  LABELS unit)

# --- fuzzing (tests/fuzz) ---
# The fuzz entry point, replayed over the seed corpus with every compiler.
weft_test(weft_fuzz_replay_session
  SOURCES
    fuzz/session_fuzz.cpp
    fuzz/fuzz_replay_test.cpp
  DEPS weft_protocol weft_protocol_testing
  LABELS unit)
if(TARGET weft_fuzz_replay_session)
  target_compile_definitions(weft_fuzz_replay_session PRIVATE
    WEFT_FUZZ_CORPUS_DIR="${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/session")
endif()

# Writes the seed corpus: weft_session_corpus_gen tests/fuzz/corpus/session
if(WEFT_BUILD_TESTS)
  weft_executable(weft_session_corpus_gen
    SOURCES fuzz/session_corpus_gen.cpp
    DEPS weft_protocol weft_protocol_testing)
endif()

# The libFuzzer target itself: clang only, -DWEFT_FUZZ=ON.
if(WEFT_FUZZ)
  add_executable(weft_session_fuzz fuzz/session_fuzz.cpp)
  target_link_libraries(weft_session_fuzz PRIVATE weft_protocol
    weft_protocol_testing weft_warnings)
  target_compile_options(weft_session_fuzz PRIVATE -fsanitize=fuzzer)
  target_link_options(weft_session_fuzz PRIVATE -fsanitize=fuzzer)
  set_target_properties(weft_session_fuzz PROPERTIES
    RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
endif()
