#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/error.hpp>

#include "runtime/io/channel_options.hpp"
#include "runtime/io/framer.hpp"
#include "runtime/io/unique_fd.hpp"
#include "runtime/shared_bytes.hpp"
#include "runtime/small_fifo.hpp"

namespace weft::io {

class reactor_pool;

namespace internal {
class reactor;
class reactor_inbox;
} // namespace internal

/// The shared handle of one connected socket between its reactor thread and
/// its owner actor. Held by shared_ptr because both sides hold it and either
/// may let go first: the reactor keeps it from start() until the socket is
/// closed, the owner for as long as it wants to send or read counters.
///
/// Messages to the owner (see runtime/type_ids.hpp and docs/architecture.md):
/// - `(io_read_atom, shared_bytes batch)`: whole units back to back, one
///   message per read; report them with consumed() once processed.
/// - `(io_sent_atom, std::uint64_t total_bytes_written)`: the write queue
///   fell to options().sent_low_watermark (empty by default).
/// - `(io_closed_atom, caf::error reason)`: exactly once, last; empty error
///   for a clean EOF or close(), `io_error`, `protocol_error` (framer),
///   `cancelled` (abort()) or `unavailable` (reactor pool stopped).
///
/// The public methods are callable from any thread; the private ones run on
/// the channel's reactor thread only.
class channel : public std::enable_shared_from_this<channel> {
public:
  /// Only the reactor pool makes channels.
  class passkey {
    friend class reactor_pool;
    passkey() = default;
  };

  channel(passkey, std::uint64_t id, unique_fd fd,
          std::string remote_address, std::unique_ptr<framer> cutter,
          std::shared_ptr<const channel_options> opts, internal::reactor* home,
          std::size_t home_index,
          std::shared_ptr<internal::reactor_inbox> inbox);

  channel(const channel&) = delete;
  channel& operator=(const channel&) = delete;

  /// Closes the socket if the reactor never did (a channel never started).
  ~channel();

  /// Starts reading for `owner`, which from now on receives this channel's
  /// messages; queued sends go out. The channel also aborts when `owner`
  /// terminates. Once only; later calls are ignored. Any thread.
  void start(caf::actor owner);

  /// Queues `slices` for writing without copying them and wakes the reactor
  /// if it is not already due to write. Returns false (and drops the
  /// slices) once close() or abort() was called or the channel closed.
  /// Any thread.
  bool send(std::vector<shared_bytes> slices);

  /// Reports that the owner is done with `bytes` bytes of received batches,
  /// releasing read back-pressure. Any thread.
  void consumed(std::size_t bytes);

  /// Graceful close: stops reading, writes what is queued (within
  /// options().close_timeout), then closes. Any thread; idempotent.
  void close();

  /// Closes at once with a TCP RST, dropping queued bytes. Any thread.
  void abort();

  /// The peer as "ip:port" (or "[ip6]:port"). Any thread.
  const std::string& remote_address() const noexcept {
    return remote_address_;
  }

  /// Unique among the channels and listeners of one pool. Any thread.
  std::uint64_t id() const noexcept {
    return id_;
  }

  /// The index of the reactor this channel's socket lives on,
  /// 0..reactors-1; with reactors on the scheduler's workers, the index of
  /// that worker thread. Any thread.
  std::size_t home_index() const noexcept {
    return home_index_;
  }

  /// Settings fixed at creation. Any thread.
  const channel_options& options() const noexcept {
    return *opts_;
  }

  /// Bytes read from the socket so far. Any thread.
  std::uint64_t bytes_in() const noexcept {
    return bytes_in_.load(std::memory_order_relaxed);
  }

  /// Bytes written to the socket so far. Any thread.
  std::uint64_t bytes_out() const noexcept {
    return bytes_out_.load(std::memory_order_relaxed);
  }

  /// Bytes given to send() and not yet written. Any thread.
  std::uint64_t bytes_queued() const noexcept {
    return bytes_queued_.load(std::memory_order_relaxed);
  }

  /// Bytes handed to the owner and not yet reported by consumed(). Any thread.
  std::uint64_t bytes_unconsumed() const noexcept {
    return unconsumed_.load(std::memory_order_relaxed);
  }

  /// True while reading is paused by back-pressure. Any thread.
  bool reading_paused() const noexcept {
    return read_paused_.load();
  }

private:
  friend class internal::reactor;

  // -- reactor thread only ---------------------------------------------------

  void on_start(caf::actor owner);
  void on_events(std::uint32_t events);
  void on_flush();
  void on_resume_read();
  void on_close_request();
  void on_abort();
  void on_timer();
  void on_reactor_stop();

  /// True once the socket is closed; the reactor then forgets the channel.
  bool finished() const noexcept {
    return finished_;
  }

  void read_some();
  /// Makes the tail buffer hold exactly `capacity` bytes, keeping its
  /// contents.
  void reserve_tail(std::size_t capacity);
  /// Replaces the tail with a copy of `n` bytes (the start of an incomplete
  /// unit), sized to the unit when its size is known; false (and `failure`)
  /// if a unit of unknown size reached max_unit_bytes.
  bool keep_tail(const std::uint8_t* bytes, std::size_t n, caf::error& failure);
  /// Runs the framer over `size` bytes starting at a unit boundary: `units`
  /// bytes of whole units, need_ for the rest.
  bool cut_region(const std::uint8_t* data, std::size_t size,
                  std::size_t& units, caf::error& failure);
  /// Hands the whole units of the tail and of `in_scratch` bytes read into
  /// `scratch` (right after the tail's bytes) to the owner, keeps the rest.
  bool cut_units(const std::uint8_t* scratch, std::size_t in_scratch,
                 caf::error& failure);
  void take_queued();
  void write_some();
  void begin_linger();
  bool update_interest();
  void finish(caf::error reason, bool reset);
  void pause_if_needed();

  // -- immutable -------------------------------------------------------------

  const std::uint64_t id_;
  const std::string remote_address_;
  // Shared with the listener's other connections (never null).
  const std::shared_ptr<const channel_options> opts_;
  // Non-owning: the reactor outlives every call made on its thread, and only
  // the reactor thread dereferences it.
  internal::reactor* const home_;
  // shared_ptr: the inbox must outlive the reactor for channel handles the
  // owner keeps after the pool stopped (posts then fail harmlessly).
  const std::shared_ptr<internal::reactor_inbox> inbox_;

  // -- any thread ------------------------------------------------------------

  std::atomic<std::uint64_t> bytes_in_{0};
  std::atomic<std::uint64_t> bytes_out_{0};
  std::atomic<std::uint64_t> bytes_queued_{0};
  std::atomic<std::uint64_t> unconsumed_{0};
  std::atomic<bool> read_paused_{false};
  std::atomic<bool> start_called_{false};
  // Immutable; here it takes what the two flags leave of a word.
  const std::uint32_t home_index_;

  std::mutex out_mutex_;
  std::vector<shared_bytes> outbox_; // guarded by out_mutex_
  bool flush_posted_ = false;        // guarded by out_mutex_
  bool closing_ = false;             // guarded by out_mutex_

  // -- reactor thread only (before start: whoever holds the channel) --------

  unique_fd fd_;
  std::unique_ptr<framer> framer_;
  caf::actor owner_;
  bool started_ = false;
  bool finished_ = false;
  bool close_requested_ = false;
  bool lingering_ = false;
  // half_close: the peer sent its EOF; nothing more is read.
  bool peer_eof_ = false;
  bool registered_ = false;
  std::uint32_t interest_ = 0;
  // The start of an incomplete unit, left over from earlier reads. Reads
  // go to the reactor's scratch buffer; only this tail is kept per
  // connection, sized exactly to the unit once its size (need_) is known,
  // so that the rest of the unit is read straight into it. shared_ptr: a
  // completed unit is handed over as shared_bytes without a copy.
  std::shared_ptr<std::uint8_t[]> tail_;
  std::size_t tail_capacity_ = 0;
  std::size_t tail_filled_ = 0;
  // Bytes the unit at the tail's start needs in total (0: unknown yet).
  std::size_t need_ = 0;
  small_fifo<shared_bytes> write_queue_;
  std::size_t write_offset_ = 0;
  caf::error pending_close_reason_;
};

} // namespace weft::io
