#include "runtime/route_table.hpp"

namespace weft {

pool_load::pool_load(std::size_t workers, std::size_t max_queue)
  : per_worker_(std::make_unique<std::atomic<std::int64_t>[]>(
    std::max<std::size_t>(1, workers))),
    size_(std::max<std::size_t>(1, workers)),
    max_queue_(static_cast<std::int64_t>(max_queue)) {
}

bool pool_load::try_acquire(std::size_t worker) noexcept {
  if (total_.fetch_add(1, std::memory_order_relaxed) >= max_queue_) {
    total_.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  // A pool of one counts in total_ alone: one shared atomic less to
  // bounce between cores per request.
  if (size_ > 1)
    per_worker_[worker].fetch_add(1, std::memory_order_relaxed);
  return true;
}

void pool_load::release(std::size_t worker) noexcept {
  adjust(worker, -1);
}

void pool_load::adjust(std::size_t worker, std::int64_t n) noexcept {
  if (size_ > 1)
    per_worker_[worker].fetch_add(n, std::memory_order_relaxed);
  total_.fetch_add(n, std::memory_order_relaxed);
}

std::size_t pool_load::least_loaded(std::size_t extra_worker,
                                    std::int64_t extra) const noexcept {
  auto load_of = [&](std::size_t i) {
    return per_worker_[i].load(std::memory_order_relaxed)
           + (i == extra_worker ? extra : 0);
  };
  std::size_t best = 0;
  auto best_load = load_of(0);
  for (std::size_t i = 1; i < size_; ++i) {
    auto load = load_of(i);
    if (load < best_load) {
      best = i;
      best_load = load;
    }
  }
  return best;
}

std::size_t pool_load::next() noexcept {
  return static_cast<std::size_t>(next_.fetch_add(1, std::memory_order_relaxed)
                                  % size_);
}

} // namespace weft
