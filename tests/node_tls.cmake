# --- runtime/node_tls: validation of node-port TLS material (unit), and two
# actor systems over 127.0.0.1 with and without mutual TLS (integration).
# Certificates are made at test time by make_test_certs.sh in a temporary
# directory (tests/integration/cluster/test_certs.hpp); no key is committed.
set(weft_make_test_certs
  ${CMAKE_CURRENT_LIST_DIR}/integration/cluster/make_test_certs.sh)

weft_test(weft_unit_node_tls
  SOURCES
    unit/runtime/node_tls_test.cpp
  DEPS weft_node_tls
  LABELS unit)

weft_test(weft_integration_node_tls
  SOURCES
    integration/cluster/node_tls_test.cpp
  DEPS weft_node_tls
  LABELS "integration;cluster")

foreach(target weft_unit_node_tls weft_integration_node_tls)
  if(TARGET ${target})
    target_compile_definitions(${target} PRIVATE
      WEFT_MAKE_TEST_CERTS="${weft_make_test_certs}")
  endif()
endforeach()

# The same loopback cases with TLS capped at 1.2 (the default is 1.3): with
# 1.2 a refused client certificate surfaces inside the handshake, with 1.3
# after it.
if(TARGET weft_integration_node_tls)
  add_test(NAME NodeTlsLoopbackTest.AllCasesOnTls12
    COMMAND weft_integration_node_tls)
  set_tests_properties(NodeTlsLoopbackTest.AllCasesOnTls12 PROPERTIES
    LABELS "integration;cluster" TIMEOUT 60
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
    ENVIRONMENT
      "OPENSSL_CONF=${CMAKE_CURRENT_LIST_DIR}/integration/cluster/tls12.cnf")
endif()
