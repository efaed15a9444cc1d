#include "actors/cache_shard.hpp"

#include <algorithm>
#include <cstdint>
#include <exception>
#include <iterator>
#include <list>
#include <string>
#include <utility>
#include <vector>

#include <absl/container/btree_map.h>
#include <absl/container/flat_hash_map.h>
#include <absl/strings/string_view.h>
#include <caf/actor_clock.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/spawn_options.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "runtime/error_bridge.hpp"

namespace weft {

namespace {

using clock_time = caf::actor_clock::time_point;

constexpr clock_time never = clock_time::max();

struct cache_entry {
  std::string key;
  shared_bytes value;
  clock_time expires = never;
  /// Unique per stored entry: tells apart entries expiring at one instant.
  std::uint64_t seq = 0;
  /// What the entry is charged against max_bytes.
  std::size_t bytes = 0;
};

/// Most recently used first. std::list: entries never move, so the index
/// keys (views of entry keys) and the iterators stay valid.
using lru_list = std::list<cache_entry>;

/// One run of a compute function and the requests waiting for it.
struct flight {
  std::vector<caf::typed_response_promise<shared_bytes>> waiters;
  caf::timespan ttl{0};
  /// A put or erase of the key arrived meanwhile: hand the computed value
  /// to the waiters but do not store it over the newer state.
  bool superseded = false;
};

struct shard_state {
  logger log;
  cache_options opts;
  lru_list lru;
  /// Keys are views of the keys held in `lru`.
  absl::flat_hash_map<absl::string_view, lru_list::iterator> index;
  /// Entries with a TTL, soonest to expire first.
  absl::btree_map<std::pair<clock_time, std::uint64_t>, lru_list::iterator>
    expiry;
  absl::flat_hash_map<std::string, flight> flights;
  std::uint64_t next_seq = 0;
  std::size_t bytes = 0;
  cache_stats stats;

  static inline const char* name = "weft.cache_shard";
};

using shard_self = cache_shard_actor::stateful_pointer<shard_state>;

void remove(shard_state& st, lru_list::iterator it) {
  st.index.erase(absl::string_view{it->key});
  if (it->expires != never)
    st.expiry.erase({it->expires, it->seq});
  st.bytes -= it->bytes;
  st.lru.erase(it);
}

/// The live entry of `key` (now the most recently used), or lru.end().
/// An expired entry found here is removed: no read ever returns one.
lru_list::iterator lookup(shard_state& st, absl::string_view key,
                          clock_time now) {
  auto i = st.index.find(key);
  if (i == st.index.end())
    return st.lru.end();
  auto it = i->second;
  if (it->expires <= now) {
    remove(st, it);
    ++st.stats.expirations;
    return st.lru.end();
  }
  st.lru.splice(st.lru.begin(), st.lru, it);
  return it;
}

/// Removes entries until the shard is within its bounds: expired entries
/// first, then the least recently used.
void make_room(shard_state& st, clock_time now) {
  while (st.lru.size() > st.opts.max_entries || st.bytes > st.opts.max_bytes) {
    if (!st.expiry.empty() && st.expiry.begin()->first.first <= now) {
      remove(st, st.expiry.begin()->second);
      ++st.stats.expirations;
    } else {
      remove(st, std::prev(st.lru.end()));
      ++st.stats.evictions;
    }
  }
}

caf::error store(shard_state& st, std::string key, shared_bytes value,
                 caf::timespan ttl, clock_time now) {
  auto bytes = key.size() + value.capacity_held();
  if (bytes > st.opts.max_bytes)
    return make_weft_error(errc::limit_exceeded,
                           "cache entry larger than the shard's max_bytes");
  if (auto i = st.index.find(key); i != st.index.end())
    remove(st, i->second);
  cache_entry e;
  e.key = std::move(key);
  e.value = std::move(value);
  e.expires = ttl > caf::timespan{0} ? now + ttl : never;
  e.seq = st.next_seq++;
  e.bytes = bytes;
  st.lru.push_front(std::move(e));
  auto it = st.lru.begin();
  st.index.emplace(absl::string_view{it->key}, it);
  if (it->expires != never)
    st.expiry.emplace(std::make_pair(it->expires, it->seq), it);
  st.bytes += bytes;
  make_room(st, now);
  return caf::error{};
}

void supersede(shard_state& st, const std::string& key) {
  if (auto i = st.flights.find(key); i != st.flights.end())
    i->second.superseded = true;
}

/// Runs one compute function when asked, answers its result and quits.
caf::behavior compute_worker(caf::event_based_actor* self, cache_compute c) {
  return {
    [self, c](cache_compute_atom) -> caf::result<shared_bytes> {
      self->quit();
      try {
        auto r = (*c.fn)();
        if (r.ok())
          return *std::move(r);
        return to_error(r.status());
      } catch (const std::exception& e) {
        return make_weft_error(errc::handler_failed, e.what());
      } catch (...) {
        return make_weft_error(errc::handler_failed, "unknown exception");
      }
    },
  };
}

/// Ends the flight of `key`: stores a value (unless superseded) and answers
/// every waiter.
void land(shard_self self, const std::string& key,
          caf::expected<shared_bytes> result) {
  auto& st = self->state;
  auto i = st.flights.find(key);
  if (i == st.flights.end())
    return;
  auto f = std::move(i->second);
  st.flights.erase(i);
  if (!result) {
    st.log.debug("cache.compute_failed",
                 {{"key", key}, {"error", message_of(result.error())}});
    for (auto& w : f.waiters)
      w.deliver(result.error());
    return;
  }
  if (!f.superseded) {
    if (auto err = store(st, key, *result, f.ttl, self->clock().now()))
      st.log.debug("cache.compute_not_stored",
                   {{"key", key}, {"error", message_of(err)}});
  }
  for (auto& w : f.waiters)
    w.deliver(*result);
}

caf::result<shared_bytes> on_compute(shard_self self, std::string& key,
                                     const cache_compute& c,
                                     caf::timespan ttl) {
  auto& st = self->state;
  auto it = lookup(st, key, self->clock().now());
  if (it != st.lru.end()) {
    ++st.stats.hits;
    return it->value;
  }
  ++st.stats.misses;
  if (auto i = st.flights.find(key); i != st.flights.end()) {
    auto promise = self->make_response_promise<shared_bytes>();
    i->second.waiters.push_back(promise);
    return promise;
  }
  // Checked before the promise is made: making one takes over the reply.
  if (!c.fn || !*c.fn)
    return make_weft_error(errc::invalid_argument, "no compute function");
  auto promise = self->make_response_promise<shared_bytes>();
  auto& f = st.flights[key];
  f.waiters.push_back(promise);
  f.ttl = ttl;
  ++st.stats.computes;
  auto worker = st.opts.detached_compute
                  ? self->system().spawn<caf::detached>(compute_worker, c)
                  : self->system().spawn(compute_worker, c);
  auto timeout = st.opts.compute_timeout > caf::timespan{0}
                   ? caf::duration{st.opts.compute_timeout}
                   : caf::duration{caf::infinite};
  self->request(worker, timeout, cache_compute_atom_v)
    .then([self, key](shared_bytes& value) { land(self, key, value); },
          [self, key](caf::error& err) {
            if (err == caf::sec::request_timeout)
              err = make_weft_error(errc::deadline_exceeded,
                                    "compute function timed out");
            land(self, key, std::move(err));
          });
  return promise;
}

void on_sweep(shard_self self) {
  auto& st = self->state;
  auto now = self->clock().now();
  std::size_t removed = 0;
  while (!st.expiry.empty() && st.expiry.begin()->first.first <= now
         && removed < st.opts.sweep_batch) {
    remove(st, st.expiry.begin()->second);
    ++removed;
  }
  st.stats.expirations += removed;
  auto me = caf::actor_cast<cache_shard_actor>(self);
  if (!st.expiry.empty() && st.expiry.begin()->first.first <= now)
    self->send(me, sweep_atom_v); // more: after what waits in the mailbox
  else if (st.opts.sweep_interval > caf::timespan{0})
    self->delayed_send(me, st.opts.sweep_interval, sweep_atom_v);
}

cache_shard_actor::behavior_type cache_shard(shard_self self,
                                             cache_options opts, logger log) {
  auto& st = self->state;
  st.log = std::move(log);
  opts.max_entries = std::max<std::size_t>(1, opts.max_entries);
  opts.max_bytes = std::max<std::size_t>(1, opts.max_bytes);
  opts.sweep_batch = std::max<std::size_t>(1, opts.sweep_batch);
  st.opts = opts;
  if (opts.sweep_interval > caf::timespan{0})
    self->delayed_send(caf::actor_cast<cache_shard_actor>(self),
                       opts.sweep_interval, sweep_atom_v);
  return {
    [self](cache_get_atom,
           const std::string& key) -> caf::result<shared_bytes> {
      auto& s = self->state;
      auto it = lookup(s, key, self->clock().now());
      if (it == s.lru.end()) {
        ++s.stats.misses;
        return make_weft_error(errc::not_found, "no such cache key");
      }
      ++s.stats.hits;
      return it->value;
    },
    [self](cache_put_atom, std::string& key, shared_bytes& value,
           caf::timespan ttl) -> caf::result<ok_atom> {
      auto& s = self->state;
      supersede(s, key);
      if (auto err = store(s, std::move(key), std::move(value), ttl,
                           self->clock().now()))
        return err;
      return ok_atom_v;
    },
    [self](cache_erase_atom, const std::string& key) {
      auto& s = self->state;
      supersede(s, key);
      auto i = s.index.find(key);
      if (i == s.index.end())
        return false;
      auto live = i->second->expires > self->clock().now();
      if (!live)
        ++s.stats.expirations;
      remove(s, i->second);
      return live;
    },
    [self](cache_compute_atom, std::string& key, const cache_compute& c,
           caf::timespan ttl) { return on_compute(self, key, c, ttl); },
    [self](cache_stats_atom) {
      auto stats = self->state.stats;
      stats.entries = self->state.lru.size();
      stats.bytes = self->state.bytes;
      return stats;
    },
    [self](sweep_atom) { on_sweep(self); },
  };
}

} // namespace

cache_shard_actor spawn_cache_shard(caf::actor_system& sys,
                                    const cache_options& opts, logger log) {
  return sys.spawn(cache_shard, opts, std::move(log));
}

} // namespace weft
