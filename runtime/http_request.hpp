#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <absl/status/statusor.h>
#include <absl/strings/string_view.h>
#include <google/protobuf/struct.pb.h>

#include "runtime/context.hpp"
#include "runtime/payload.hpp"

namespace weft {

/// Metadata keys the HTTP gateway sets on every request of an HTTP route
/// (headers travel under their lower-case names next to these).
inline constexpr const char* http_method_key = ":method";
inline constexpr const char* http_path_key = ":path";
inline constexpr const char* http_query_key = ":query";
/// Prefix of a path parameter's key: ":param.id".
inline constexpr const char* http_param_prefix = ":param.";
/// Response metadata key of the HTTP status ("201"); absent means 200.
inline constexpr const char* http_status_key = ":status";

/// One field of an `application/x-www-form-urlencoded` or
/// `multipart/form-data` body.
struct form_field {
  std::string name;
  std::string value;
  /// multipart only: the part's file name and content type, if given.
  std::string filename;
  std::string content_type;
};

/// The HTTP view of a request, as an HTTP route's handler gets it: method,
/// path, path and query parameters, headers and body. Built on the handler
/// actor from the request (see blueprint::http); a plain value.
class http_request {
public:
  /// Rebuilds the HTTP request from what the gateway put in the request's
  /// metadata. Errors: invalid_argument if `ctx` carries no `:method`
  /// (the route was called from the binary protocol without it).
  static absl::StatusOr<http_request> from(const payload& body,
                                           const context& ctx);

  const std::string& method() const noexcept {
    return method_;
  }
  /// The path as sent (still percent-encoded), without the query.
  const std::string& path() const noexcept {
    return path_;
  }
  /// A path parameter (`{id}` in the route's pattern), decoded; nullptr if
  /// the pattern has none of that name.
  const std::string* param(absl::string_view name) const;
  /// A `{name:int}` parameter as a number (invalid_argument otherwise).
  absl::StatusOr<std::int64_t> int_param(absl::string_view name) const;
  /// The first value of query parameter `name`, decoded; nullptr if absent.
  const std::string* query(absl::string_view name) const;
  /// Every query parameter in order, decoded (`?a=1&a=2` gives both).
  const std::vector<std::pair<std::string, std::string>>& query_params() const
    noexcept {
    return query_;
  }
  /// A header by name (any case); repeated headers are joined with ", ".
  const std::string* header(absl::string_view name) const;
  /// The `Last-Event-ID` an EventSource sends when it reconnects (the id
  /// of the last event it received), "" if none: an event stream resumes
  /// after it (see http_stream).
  absl::string_view last_event_id() const;
  const std::string& content_type() const noexcept {
    return content_type_;
  }
  const payload& body() const noexcept {
    return body_;
  }
  /// The body as text (empty for a body spilled to a file).
  absl::string_view text() const noexcept;
  /// The body parsed as JSON (invalid_argument when it is not JSON).
  absl::StatusOr<google::protobuf::Value> json() const;
  /// The fields of a urlencoded or multipart/form-data body, in order.
  /// Errors: invalid_argument for another content type or a malformed body.
  absl::StatusOr<std::vector<form_field>> form() const;

private:
  std::string method_;
  std::string path_;
  std::string content_type_;
  std::vector<std::pair<std::string, std::string>> query_;
  std::vector<std::pair<std::string, std::string>> params_;
  // Non-owning view into the context's metadata would dangle in an async
  // handler: the headers are copied.
  std::map<std::string, std::string> headers_;
  payload body_;
};

/// Parses a query string or urlencoded form (`a=1&b=x+y`); invalid_argument
/// on a malformed %-escape.
absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
parse_urlencoded(absl::string_view text);

/// Parses a multipart/form-data body with `boundary` into its fields;
/// invalid_argument when malformed.
absl::StatusOr<std::vector<form_field>>
parse_multipart(absl::string_view body, absl::string_view boundary);

} // namespace weft
