# weft_node_tls: mutual TLS on the node-to-node port (runtime/node_tls.hpp):
# validation of the certificate material with OpenSSL, the caf_openssl
# configuration, and publish/connect calls that work with TLS on or off.
# The cluster code links it; it depends on nothing of the node itself.
weft_library(weft_node_tls
  SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/node_tls.cpp
  DEPS
    weft_runtime
    caf::openssl
    caf::io
    caf::core
    OpenSSL::SSL
    OpenSSL::Crypto
    absl::status
    absl::statusor
    absl::strings
    absl::time)
