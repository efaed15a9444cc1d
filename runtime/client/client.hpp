#pragma once

#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <string>

#include <absl/status/statusor.h>
#include <absl/time/time.h>
#include <google/protobuf/message.h>
#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "runtime/io/reactor_pool.hpp"
#include "runtime/error_bridge.hpp"
#include "runtime/payload.hpp"
#include "runtime/push_message.hpp"
#include "runtime/protocol/session.hpp"

namespace weft {

/// Settings of a client connection.
struct client_options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 7700;
  absl::Duration connect_timeout = absl::Seconds(5);
  /// Limits we announce for what the server sends us (replies, pushes).
  protocol::session_options session;
  /// Reconnect after a lost connection, with jittered exponential backoff
  /// between `backoff_initial` and `backoff_max`. Calls made while
  /// disconnected wait for the connection (within their timeout).
  bool reconnect = true;
  absl::Duration backoff_initial = absl::Milliseconds(100);
  absl::Duration backoff_max = absl::Seconds(10);
  /// Reactor threads when the client makes its own actor system.
  std::size_t io_threads = 1;
  /// Back-pressure: calls past either bound fail at once with `overloaded`
  /// instead of queueing without limit (bodies of pending calls count
  /// toward `max_pending_bytes`; file bodies count by their size).
  std::size_t max_pending_calls = 65536;
  std::uint64_t max_pending_bytes = 1ull << 30;
  /// The client id to claim (route weft.hello) when connecting and again
  /// after every reconnect; "" keeps the id the server assigns.
  std::string client_id;
  /// Called with every push the server sends, on the client's own thread
  /// (keep it short; from an actor, send yourself a message from it).
  std::function<void(push_message)> on_push;
};

/// Per-call settings.
struct call_options {
  /// URGENT 0, HIGH 1, NORMAL 2, BULK 3 (docs/protocol.md §5).
  weft::wire::Priority priority = weft::wire::PRIORITY_NORMAL;
  /// Deadline, sent to the server too; zero means none.
  absl::Duration timeout = absl::ZeroDuration();
  std::string content_type = "application/octet-stream";
  std::string schema;
  std::map<std::string, std::string> metadata;
  /// Called with (bytes received, total) while a large reply arrives, on
  /// the client's own thread: keep it short.
  std::function<void(std::uint64_t, std::uint64_t)> on_progress;
};

/// A successful reply.
struct reply {
  payload body;
  std::string content_type;
  std::string schema;
  std::map<std::string, std::string> metadata;
};

/// What a call returns: the reply, or the server's error (its code is the
/// weft::errc carried as the absl payload, see error_bridge.hpp), or a
/// local error (unavailable when the connection died, deadline_exceeded,
/// cancelled).
using call_result = absl::StatusOr<reply>;

/// A call in flight: `token` cancels it, `result` delivers it.
struct pending_call {
  std::uint64_t token = 0;
  std::future<call_result> result;
};

/// The C++ client of weft's binary protocol: many concurrent calls over one
/// connection, with priorities, deadlines, cancel, file bodies and
/// automatic reconnect. All methods are thread-safe and never block on the
/// network except connect() and the *_sync helpers. Behind it, a detached
/// CAF actor owns the protocol session; the socket lives on a reactor.
class client {
public:
  /// Connects with an actor system and reactor of its own (for plain
  /// programs and tools). Blocks up to options.connect_timeout.
  static absl::StatusOr<std::unique_ptr<client>> connect(client_options opts);

  /// Connects using an existing actor system and reactor pool (inside a
  /// node, or a test); both must outlive the client.
  static absl::StatusOr<std::unique_ptr<client>>
  connect(caf::actor_system& sys, io::reactor_pool& pool, client_options opts);

  client(const client&) = delete;
  client& operator=(const client&) = delete;

  /// Closes the connection; calls still pending fail with `cancelled`.
  ~client();

  /// Sends a request to `route`; the future gets the reply or an error.
  pending_call call(const std::string& route, payload body,
                    call_options opts = {});

  /// Sends a request; `done` runs once, on the client's thread (from an
  /// actor, send yourself a message from it). Returns the cancel token.
  std::uint64_t call(const std::string& route, payload body,
                     call_options opts,
                     std::function<void(call_result)> done);

  /// Blocking convenience: call(...).result.get().
  call_result call_sync(const std::string& route, payload body,
                        call_options opts = {});

  /// Calls a protobuf route: sends `req` as application/x-protobuf and
  /// parses the reply as Reply (invalid_argument if it is not one).
  /// Blocks like call_sync.
  template <class Reply>
  absl::StatusOr<Reply> call_message(const std::string& route,
                                     const google::protobuf::Message& req,
                                     call_options opts = {}) {
    opts.content_type = "application/x-protobuf";
    opts.schema = req.GetDescriptor()->full_name();
    auto size = req.ByteSizeLong();
    auto body = shared_bytes::allocate(size, [&](auto out) {
      req.SerializeWithCachedSizesToArray(out.data());
    });
    auto r = call_sync(route, payload{std::move(body)}, std::move(opts));
    if (!r.ok())
      return r.status();
    Reply out;
    auto bytes = r->body.read_all(std::uint64_t{1} << 31);
    if (!bytes.ok())
      return bytes.status();
    if (!out.ParseFromArray(bytes->data(), static_cast<int>(bytes->size())))
      return make_status(errc::invalid_argument,
                         "the reply is not a valid "
                           + Reply::descriptor()->full_name());
    return out;
  }

  /// Cancels a pending call: the server is told to drop it, and its result
  /// becomes `cancelled`. Unknown or finished tokens are ignored.
  void cancel(std::uint64_t token);

  /// Follows `topic` (route weft.subscribe): its pushes reach on_push. The
  /// subscription is renewed after every reconnect. Blocks for the answer.
  absl::Status subscribe(const std::string& topic);

  /// Stops following `topic`.
  absl::Status unsubscribe(const std::string& topic);

  /// Sends a PING and waits for its answer: the round-trip time.
  absl::StatusOr<absl::Duration> ping(absl::Duration timeout);

  /// True while connected (the server's SETTINGS arrived).
  bool connected() const;

  /// Number of calls waiting for a reply or for the connection.
  std::size_t pending() const;

  /// Only connect() makes clients.
  class passkey {
    friend class client;
    passkey() = default;
  };

  struct shared;
  client(passkey, std::shared_ptr<shared> state);

private:
  // shared_ptr: the state is used by this object (any thread) and by the
  // client actor (its own thread) and must outlive whichever ends last.
  std::shared_ptr<shared> state_;
};

} // namespace weft
