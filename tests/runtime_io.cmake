# Tests of runtime/io (the reactor): see tests/CMakeLists.txt.
weft_test(weft_unit_runtime_io
  SOURCES
    unit/runtime/io/length_prefix_framer_test.cpp
    unit/runtime/shared_bytes_test.cpp
    unit/runtime/small_fifo_test.cpp
  DEPS weft_io
  LABELS unit)

weft_test(weft_integration_runtime_io
  SOURCES
    integration/runtime/io/reactor_pool_test.cpp
    integration/runtime/io/channel_read_path_test.cpp
  DEPS weft_io
  LABELS integration)
