#pragma once

#include <memory>
#include <utility>

#include <absl/status/status.h>
#include <caf/actor.hpp>
#include <caf/response_promise.hpp>

#include "runtime/body_codec.hpp"
#include "runtime/request.hpp"

namespace weft {

/// The answer an asynchronous handler owes: deliver a reply or fail, once.
/// Copies share one answer; if the last copy goes without an answer, the
/// client gets `handler_failed` instead of waiting for its deadline.
/// Deliver from the handler's own actor (e.g. in a callback of
/// context::ask()), where CAF expects a promise to be fulfilled.
class responder {
public:
  explicit responder(caf::response_promise promise);

  /// Answers with `rsp`; ignored after the first answer.
  void deliver(response rsp);

  /// Answers with the error `failure` (a weft code from its payload, see
  /// error_bridge.hpp); ignored after the first answer.
  void fail(const absl::Status& failure);

  /// True until the first answer.
  bool pending() const noexcept;

  /// Who gets the answer (the requester, e.g. an HTTP connection), or an
  /// invalid handle once answered.
  caf::actor requester() const;

  /// Hands the answer to `dest`: it receives (stream_open_atom) on behalf
  /// of the requester and answers it instead (runtime/http_stream.hpp);
  /// ignored after the first answer. Call from the handler's own actor.
  void delegate_stream(const caf::actor& dest);

private:
  struct state;
  // shared_ptr: every copy of a responder (kept by the callbacks of the
  // asks a handler makes) answers the same request exactly once.
  std::shared_ptr<state> state_;
};

/// A responder for replies of type Reply (a protobuf message,
/// google::protobuf::Value for JSON routes, or weft::response for raw).
template <class Reply>
class reply_to {
public:
  explicit reply_to(responder out) : out_(std::move(out)) {
  }

  void deliver(const Reply& reply) {
    auto rsp = body_codec<Reply>::encode(reply);
    if (rsp.ok())
      out_.deliver(std::move(*rsp));
    else
      out_.fail(rsp.status());
  }

  void fail(const absl::Status& failure) {
    out_.fail(failure);
  }

  bool pending() const noexcept {
    return out_.pending();
  }

private:
  responder out_;
};

} // namespace weft
