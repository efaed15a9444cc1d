#include "gateways/http/route_index_cache.hpp"

namespace weft::http {

std::shared_ptr<const route_index>
route_index_cache::get(const std::shared_ptr<const route_table>& table) {
  std::lock_guard<std::mutex> guard{mutex_};
  if (last_ && last_->table() == table)
    return last_;
  auto index = std::make_shared<const route_index>(table);
  // Keep the newest: a connection still on an older table gets its own.
  if (!last_ || !last_->table()
      || (table && table->version >= last_->table()->version))
    last_ = index;
  return index;
}

} // namespace weft::http
