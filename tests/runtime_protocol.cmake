# Tests of runtime/protocol: see tests/CMakeLists.txt.
