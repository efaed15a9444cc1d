#include "gateways/http/request_reader.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>

#include <absl/strings/ascii.h>
#include <absl/strings/match.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_split.h>
#include <absl/strings/strip.h>

namespace weft::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

namespace internal {

/// Beast's parser with callbacks that fill the reader's head and body and
/// apply weft's own checks. One per request (Beast's parser cannot be
/// reset).
class beast_request_parser : public bhttp::basic_parser<true> {
public:
  explicit beast_request_parser(request_reader& reader) : reader_(reader) {
    header_limit(static_cast<std::uint32_t>(reader.limits_.max_header_bytes));
    // Never boost::none: Beast 1.74 then refuses every Content-Length body.
    // Our own per-route limit is checked in on_body_init_impl and per chunk.
    body_limit(reader.limits_.max_body_bytes);
    eager(false);
  }

  bool saw_request_line = false;
  std::size_t content_lengths = 0;
  std::size_t hosts = 0;
  /// Every Transfer-Encoding value, joined with ", ".
  std::string transfer_encoding;
  bool saw_transfer_encoding = false;

private:
  void reject(int status, std::string reason, beast::error_code& ec) {
    if (reader_.error_status_ == 0) {
      reader_.error_status_ = status;
      reader_.error_reason_ = std::move(reason);
    }
    ec = bhttp::error::bad_value;
  }

  void on_request_impl(bhttp::verb, beast::string_view method,
                       beast::string_view target, int version,
                       beast::error_code& ec) override {
    saw_request_line = true;
    if (target.size() > reader_.limits_.max_target_bytes)
      return reject(414, "request target too long", ec);
    auto& head = reader_.head_;
    head.method.assign(method.data(), method.size());
    head.target.assign(target.data(), target.size());
    head.version = version;
  }

  /// Beast 1.74 reads a request whose Transfer-Encoding does not end in
  /// chunked as having no body, so what follows would be parsed as the next
  /// request (smuggling): only "chunked" alone is accepted (RFC 9112 §6.3).
  void check_transfer_encoding(beast::error_code& ec) {
    std::vector<absl::string_view> codings;
    for (auto c : absl::StrSplit(transfer_encoding, ','))
      if (auto t = absl::StripAsciiWhitespace(c); !t.empty())
        codings.push_back(t);
    std::size_t chunked = 0;
    for (auto c : codings)
      if (absl::EqualsIgnoreCase(c, "chunked"))
        ++chunked;
    if (codings.empty() || chunked == 0
        || !absl::EqualsIgnoreCase(codings.back(), "chunked"))
      return reject(400, "chunked is not the last transfer coding", ec);
    if (chunked > 1)
      return reject(400, "chunked applied more than once", ec);
    if (codings.size() > 1)
      return reject(501, "transfer coding not implemented", ec);
  }

  void on_response_impl(int, beast::string_view, int,
                        beast::error_code& ec) override {
    ec = bhttp::error::bad_method;
  }

  void on_field_impl(bhttp::field name_id, beast::string_view name,
                     beast::string_view value,
                     beast::error_code& ec) override {
    auto& head = reader_.head_;
    if (head.headers.size() >= reader_.limits_.max_header_count)
      return reject(431, "too many header fields", ec);
    absl::string_view v{value.data(), value.size()};
    switch (name_id) {
      case bhttp::field::content_length:
        // Beast accepts "3, 3" and a repeated identical value; a request
        // with two framings is refused (smuggling).
        if (++content_lengths > 1)
          return reject(400, "more than one Content-Length", ec);
        for (char c : v)
          if (!absl::ascii_isdigit(static_cast<unsigned char>(c)))
            return reject(400, "Content-Length is not a number", ec);
        break;
      case bhttp::field::transfer_encoding:
        saw_transfer_encoding = true;
        if (head.version == 10)
          return reject(400, "Transfer-Encoding in an HTTP/1.0 request", ec);
        if (!transfer_encoding.empty())
          transfer_encoding += ", ";
        transfer_encoding.append(v.data(), v.size());
        break;
      case bhttp::field::expect:
        if (absl::EqualsIgnoreCase(v, "100-continue"))
          head.expect_continue = true;
        else
          return reject(417, "unsupported expectation", ec);
        break;
      case bhttp::field::content_type:
        head.content_type = std::string{v};
        break;
      case bhttp::field::host:
        // RFC 9112 §3.2: exactly one Host in HTTP/1.1 (checked at the end
        // of the head), never two.
        if (++hosts > 1)
          return reject(400, "more than one Host", ec);
        break;
      default:
        break;
    }
    head.headers.emplace_back(
      absl::AsciiStrToLower(absl::string_view{name.data(), name.size()}),
      std::string{v});
  }

  void on_header_impl(beast::error_code& ec) override {
    auto& head = reader_.head_;
    if (head.version == 11 && hosts == 0)
      return reject(400, "an HTTP/1.1 request without Host", ec);
    if (saw_transfer_encoding)
      check_transfer_encoding(ec);
    head.keep_alive = keep_alive();
    head.chunked = chunked();
    if (auto n = content_length())
      head.content_length = *n;
  }

  void on_body_init_impl(const boost::optional<std::uint64_t>& length,
                         beast::error_code& ec) override {
    if (length && *length > reader_.max_body_)
      reject(413, "request body too large", ec);
  }

  std::size_t on_body_impl(beast::string_view s,
                           beast::error_code& ec) override {
    return append(s, ec);
  }

  void on_chunk_header_impl(std::uint64_t size, beast::string_view,
                            beast::error_code& ec) override {
    if (size > reader_.max_body_ - reader_.body_.size())
      reject(413, "request body too large", ec);
  }

  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view s,
                                 beast::error_code& ec) override {
    return append(s, ec);
  }

  void on_finish_impl(beast::error_code&) override {}

  std::size_t append(beast::string_view s, beast::error_code& ec) {
    auto& body = reader_.body_;
    if (s.size() > reader_.max_body_ - body.size()) {
      reject(413, "request body too large", ec);
      return 0;
    }
    body.append(s.data(), s.size());
    return s.size();
  }

  request_reader& reader_;
};

} // namespace internal

namespace {

/// A header line that starts with SP or HTAB continues the previous one
/// (obs-fold, RFC 9112 §5.2): Beast folds it in silently; we refuse it.
bool has_obs_fold(absl::string_view head) {
  for (auto at = head.find('\n'); at != absl::string_view::npos;
       at = head.find('\n', at + 1)) {
    if (at + 1 < head.size() && (head[at + 1] == ' ' || head[at + 1] == '\t'))
      return true;
  }
  return false;
}

} // namespace

request_reader::request_reader(const http_limits& limits) : limits_(limits) {
  next();
}

request_reader::~request_reader() = default;

void request_reader::next() {
  parser_ = std::make_unique<internal::beast_request_parser>(*this);
  state_ = state::need_more;
  started_ = false;
  // Cleared, not replaced: the strings and the header list keep their
  // capacity for the connection's next request.
  head_.method.clear();
  head_.target.clear();
  head_.version = 11;
  head_.headers.clear();
  head_.keep_alive = true;
  head_.expect_continue = false;
  head_.chunked = false;
  head_.content_length.reset();
  head_.content_type.clear();
  body_.clear();
  max_body_ = limits_.max_body_bytes;
  error_status_ = 0;
  error_reason_.clear();
}

void request_reader::fail(int status, std::string reason) {
  state_ = state::failed;
  error_status_ = status;
  error_reason_ = std::move(reason);
}

void request_reader::fail_from_parser(int beast_error) {
  state_ = state::failed;
  if (error_status_ != 0)
    return; // one of our checks, with its own status
  switch (static_cast<bhttp::error>(beast_error)) {
    case bhttp::error::header_limit:
      error_status_ = parser_->saw_request_line ? 431 : 414;
      error_reason_ = parser_->saw_request_line ? "request head too large"
                                                : "request line too long";
      return;
    case bhttp::error::body_limit:
      error_status_ = 413;
      error_reason_ = "request body too large";
      return;
    default:
      error_status_ = 400;
      error_reason_ = absl::StrCat(
        "malformed request: ",
        bhttp::make_error_code(static_cast<bhttp::error>(beast_error))
          .message());
      return;
  }
}

std::size_t request_reader::feed(absl::string_view in) {
  if (state_ == state::failed || state_ == state::complete
      || state_ == state::head)
    return 0;
  if (!in.empty())
    started_ = true;
  std::size_t used_total = 0;
  // Beast stops after the head (eager off) and may stop within a body:
  // loop until it needs more bytes or is done.
  for (int rounds = 0; rounds < 64; ++rounds) {
    auto rest = in.substr(used_total);
    if (rest.empty())
      break;
    beast::error_code ec;
    bool had_head = parser_->is_header_done();
    auto used
      = parser_->put(boost::asio::const_buffer{rest.data(), rest.size()}, ec);
    if (ec == bhttp::error::need_more) {
      // An incomplete head that cannot fit any more is over the limit; an
      // incomplete request line the same.
      if (!parser_->is_header_done()
          && rest.size() >= limits_.max_header_bytes)
        fail_from_parser(static_cast<int>(bhttp::error::header_limit));
      used_total += used;
      return used_total;
    }
    if (ec) {
      fail_from_parser(ec.value());
      return used_total + used;
    }
    if (!had_head && parser_->is_header_done()) {
      if (has_obs_fold(rest.substr(0, used))) {
        fail(400, "obs-fold in a header");
        return used_total + used;
      }
      if (parser_->saw_transfer_encoding && head_.version == 10) {
        fail(400, "Transfer-Encoding in an HTTP/1.0 request");
        return used_total + used;
      }
      state_ = state::head;
      return used_total + used;
    }
    used_total += used;
    if (parser_->is_done()) {
      state_ = state::complete;
      return used_total;
    }
    if (used == 0)
      break;
  }
  return used_total;
}

void request_reader::read_body(std::uint64_t max_body) {
  if (state_ != state::head)
    return;
  max_body_ = max_body;
  if (head_.content_length && *head_.content_length > max_body_) {
    fail(413, "request body too large");
    return;
  }
  parser_->eager(true);
  state_ = parser_->is_done() ? state::complete : state::need_more;
}

} // namespace weft::http
