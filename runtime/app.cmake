# weft_app: the application API (runtime/weft.hpp) — blueprints, handler
# forms, middleware, request context, and the dispatcher every edge uses to
# reach handler actors through the router's route tables.
weft_library(weft_app
  SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/blueprint.cpp
    ${CMAKE_CURRENT_LIST_DIR}/body_codec.cpp
    ${CMAKE_CURRENT_LIST_DIR}/body_stream.cpp
    ${CMAKE_CURRENT_LIST_DIR}/cluster_routes.cpp
    ${CMAKE_CURRENT_LIST_DIR}/context.cpp
    ${CMAKE_CURRENT_LIST_DIR}/http_path_pattern.cpp
    ${CMAKE_CURRENT_LIST_DIR}/http_request.cpp
    ${CMAKE_CURRENT_LIST_DIR}/http_response.cpp
    ${CMAKE_CURRENT_LIST_DIR}/http_stream.cpp
    ${CMAKE_CURRENT_LIST_DIR}/reply_to.cpp
    ${CMAKE_CURRENT_LIST_DIR}/route_dispatcher.cpp
    ${CMAKE_CURRENT_LIST_DIR}/route_handlers.cpp
    ${CMAKE_CURRENT_LIST_DIR}/route_table.cpp
    ${CMAKE_CURRENT_LIST_DIR}/run_function_handler.cpp
    ${CMAKE_CURRENT_LIST_DIR}/sse_event.cpp
  DEPS
    weft_runtime
    caf::core
    protobuf::libprotobuf
    absl::hash
    absl::strings
    absl::time)
