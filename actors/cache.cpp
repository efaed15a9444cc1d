#include "actors/cache.hpp"

#include <algorithm>
#include <cstdint>
#include <utility>

#include <absl/hash/hash.h>
#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "runtime/error_bridge.hpp"

namespace weft {

namespace {

/// Asks `shard` and waits for the answer, on a plain thread.
template <class T, class... Ts>
absl::StatusOr<T> ask(caf::actor_system* sys,
                      const std::vector<cache_shard_actor>& shards,
                      std::size_t index, caf::timespan timeout, Ts&&... xs) {
  if (sys == nullptr || shards.empty())
    return make_status(errc::unavailable, "cache stopped");
  caf::scoped_actor self{*sys};
  absl::StatusOr<T> result = make_status(errc::internal, "no answer");
  self->request(shards[index], timeout, std::forward<Ts>(xs)...)
    .receive([&](T& x) { result = std::move(x); },
             [&](caf::error& err) { result = to_status(err); });
  return result;
}

std::size_t share(std::size_t total, std::size_t parts) {
  return (total + parts - 1) / parts;
}

} // namespace

absl::StatusOr<cache> cache::start(caf::actor_system& sys, cache_options opts,
                                   logger log) {
  if (opts.max_entries == 0 || opts.max_bytes == 0)
    return make_status(errc::invalid_argument,
                       "cache needs positive max_entries and max_bytes");
  auto n = opts.shards;
  if (n == 0)
    n = std::max<std::size_t>(1, sys.scheduler().num_workers());
  auto per_shard = opts;
  per_shard.max_entries = share(opts.max_entries, n);
  per_shard.max_bytes = share(opts.max_bytes, n);
  std::vector<cache_shard_actor> shards;
  shards.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    shards.push_back(spawn_cache_shard(sys, per_shard, log));
  return cache{sys, std::move(shards), opts.call_timeout};
}

cache::cache(caf::actor_system& sys, std::vector<cache_shard_actor> shards,
             caf::timespan call_timeout)
  : sys_(&sys), shards_(std::move(shards)), call_timeout_(call_timeout) {}

cache::cache(cache&& other) noexcept
  : sys_(std::exchange(other.sys_, nullptr)), shards_(std::move(other.shards_)),
    call_timeout_(other.call_timeout_) {
  other.shards_.clear();
}

cache& cache::operator=(cache&& other) noexcept {
  if (this != &other) {
    stop();
    sys_ = std::exchange(other.sys_, nullptr);
    shards_ = std::move(other.shards_);
    other.shards_.clear();
    call_timeout_ = other.call_timeout_;
  }
  return *this;
}

cache::~cache() {
  stop();
}

void cache::stop() {
  for (auto& shard : shards_)
    caf::anon_send_exit(shard, caf::exit_reason::user_shutdown);
  shards_.clear();
  sys_ = nullptr;
}

std::size_t cache::shard_index(absl::string_view key) const noexcept {
  if (shards_.size() <= 1)
    return 0;
  // The high half of the hash: each shard's own hash map uses the low bits,
  // which would otherwise be the same for every key of a shard.
  auto h = static_cast<std::uint64_t>(absl::Hash<absl::string_view>{}(key));
  return static_cast<std::size_t>((h >> 32) % shards_.size());
}

absl::StatusOr<shared_bytes> cache::get(absl::string_view key) const {
  return ask<shared_bytes>(sys_, shards_, shard_index(key), call_timeout_,
                           cache_get_atom_v, std::string{key});
}

absl::Status cache::set(absl::string_view key, shared_bytes value,
                        caf::timespan ttl) const {
  return ask<ok_atom>(sys_, shards_, shard_index(key), call_timeout_,
                      cache_put_atom_v, std::string{key}, std::move(value), ttl)
    .status();
}

absl::StatusOr<bool> cache::erase(absl::string_view key) const {
  return ask<bool>(sys_, shards_, shard_index(key), call_timeout_,
                   cache_erase_atom_v, std::string{key});
}

absl::StatusOr<shared_bytes>
cache::get_or_compute(absl::string_view key, cache_compute_function compute,
                      caf::timespan ttl) const {
  cache_compute c{
    std::make_shared<const cache_compute_function>(std::move(compute))};
  return ask<shared_bytes>(sys_, shards_, shard_index(key), call_timeout_,
                           cache_compute_atom_v, std::string{key}, std::move(c),
                           ttl);
}

absl::StatusOr<cache_stats> cache::stats() const {
  cache_stats total;
  for (std::size_t i = 0; i < shards_.size(); ++i) {
    auto s
      = ask<cache_stats>(sys_, shards_, i, call_timeout_, cache_stats_atom_v);
    if (!s.ok())
      return s.status();
    total += *s;
  }
  return total;
}

} // namespace weft
