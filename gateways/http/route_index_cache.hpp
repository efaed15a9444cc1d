#pragma once

#include <memory>
#include <mutex>

#include "gateways/http/route_index.hpp"
#include "runtime/route_table.hpp"

namespace weft::http {

/// Builds each table's index once for all connections of a gateway. Any
/// thread (a mutex guards the last index; taken only when a connection
/// opens or sees a new table).
class route_index_cache {
public:
  /// The index of `table`: the cached one when it is the last table asked
  /// for, else a new one (kept when `table` is the newest seen).
  std::shared_ptr<const route_index>
  get(const std::shared_ptr<const route_table>& table);

private:
  std::mutex mutex_;
  std::shared_ptr<const route_index> last_; // guarded by mutex_
};

} // namespace weft::http
