// Picks the per-message checksum (docs/protocol.md §4.3): ISA-L's CRC-64
// and CRC32C against xxHash's XXH3-64, over the message sizes weft sees.
// Google Benchmark program: build/bench/weft_checksum_bench. Not run by CTest.

#include <cstdint>
#include <random>
#include <vector>

#include <benchmark/benchmark.h>
#include <isa-l/crc.h>
#include <isa-l/crc64.h>
#include <xxhash.h>

namespace {

std::vector<std::uint8_t> random_data(std::size_t n) {
  std::vector<std::uint8_t> data(n);
  std::mt19937_64 rng{42};
  for (auto& b : data)
    b = static_cast<std::uint8_t>(rng());
  return data;
}

template <class Hash>
void run(benchmark::State& state, Hash hash) {
  auto data = random_data(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state)
    benchmark::DoNotOptimize(hash(data));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations())
                          * state.range(0));
}

void BM_Xxh3(benchmark::State& state) {
  run(state, [](const std::vector<std::uint8_t>& d) {
    return XXH3_64bits(d.data(), d.size());
  });
}

void BM_IsalCrc32c(benchmark::State& state) {
  run(state, [](const std::vector<std::uint8_t>& d) {
    return crc32_iscsi(const_cast<std::uint8_t*>(d.data()),
                       static_cast<int>(d.size()), 0);
  });
}

void BM_IsalCrc64(benchmark::State& state) {
  run(state, [](const std::vector<std::uint8_t>& d) {
    return crc64_ecma_refl(0, d.data(), d.size());
  });
}

} // namespace

BENCHMARK(BM_Xxh3)->Arg(16)->Arg(1024)->Arg(64 * 1024)->Arg(1 << 20);
BENCHMARK(BM_IsalCrc32c)->Arg(16)->Arg(1024)->Arg(64 * 1024)->Arg(1 << 20);
BENCHMARK(BM_IsalCrc64)->Arg(16)->Arg(1024)->Arg(64 * 1024)->Arg(1 << 20);

BENCHMARK_MAIN();
