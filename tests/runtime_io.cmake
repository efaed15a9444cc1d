# Tests of runtime/io: see tests/CMakeLists.txt.
