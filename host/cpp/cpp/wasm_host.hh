// The C++ host: the article's `WasmHost` design (engine, store, linker, WASI with inherited stdout, the three `env`
// host functions, call helpers, bounds-checked memory access, the plugin pointer) on Wasmtime's C++ API
// (`wasmtime.hh`), done the way the Rust host core does it: every export looked up and type-checked once, host
// state owned by the host object rather than kept in globals, and every guest offset bounds-checked.
//
// Rust reaches it through the C functions of `bridge.h`; `host/cpp/src/lib.rs` wraps those.

#ifndef BOUNDARY_CPP_WASM_HOST_HH
#define BOUNDARY_CPP_WASM_HOST_HH

#include <wasmtime.hh>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <variant>

namespace boundary_cpp {

// The struct passed through linear memory: 8 bytes, little-endian, like the guest's `#[repr(C)] Point`.
struct Point {
  int32_t x;
  int32_t y;
};
static_assert(sizeof(Point) == 8, "Point must match the guest's layout");

// What the three `env` host functions read and change. Owned by one WasmHost; the functions reach it through the
// pointer their closures capture.
struct HostState {
  int32_t shared_value = 42;
  int32_t last_logged = 0;
  bool logged = false;
  uint64_t log_calls = 0;
  uint64_t get_calls = 0;
  uint64_t set_calls = 0;
};

// Where the guest's stdout goes (the `BOUNDARY_CPP_OUTPUT_*` values of bridge.h).
enum class Output { Discard = 0, Inherit = 1, Keep = 2, KeepAndEcho = 3 };

// The guest's stdout as kept for `WasmHost::take_output`: at most `limit` bytes since the last take.
struct KeptOutput {
  static constexpr size_t limit = 64 * 1024;
  std::string bytes;
  bool echo = false;
};

// The store's memory budget: the most bytes its linear memory and the most elements each of its tables may grow
// to, growth past either trapping; no budget when `memory_bytes` is negative.
struct Budget {
  int64_t memory_bytes;
  int64_t table_elements;
};

// Why a call or an access did not succeed: empty when it did.
using Status = std::string;

class WasmHost {
public:
  // Compiles `wasm` (binary, or WAT text), links WASI and the `env` functions, instantiates, calls `_initialize`
  // if the module has it, and looks every export up once. On failure returns null and says why in `error`.
  static std::unique_ptr<WasmHost> create(const uint8_t *wasm, size_t len, Output output, Budget budget,
                                          std::string &error);

  WasmHost(const WasmHost &) = delete;
  WasmHost &operator=(const WasmHost &) = delete;

  Status just_add(uint64_t a, uint64_t b, uint64_t &out);
  Status simple_add(uint64_t a, uint64_t b, uint64_t &out);
  Status trigger_host_calls(int32_t value);
  Status point_add(uint32_t out, uint32_t a, uint32_t b);
  Status plugin_shared_value_ptr(uint32_t &out);
  // The guest's own reading of its static; an error for a guest without the (optional) export.
  Status read_plugin_shared_value(int32_t &out);
  bool has_read_plugin_shared_value() const { return read_plugin_shared_value_.has_value(); }
  // What the guest wrote to stdout since the last take, when the output is kept.
  std::string take_output() { return std::exchange(kept_->bytes, std::string()); }

  // Bounds-checked copies between host buffers and linear memory. False when `offset .. offset + len` does not lie
  // inside memory (computed without overflow); nothing is copied then.
  bool read(size_t offset, void *dest, size_t len);
  bool write(size_t offset, const void *src, size_t len);
  size_t memory_size();
  Status grow(uint64_t pages, uint64_t &old_pages);

  HostState &state() { return *state_; }

  // Timed loops for the benches: each runs one operation `iterations` times and returns the nanoseconds the loop
  // took, or nothing if an operation failed.
  std::optional<uint64_t> time_typed_call(uint64_t iterations);
  std::optional<uint64_t> time_untyped_call(uint64_t iterations);
  std::optional<uint64_t> time_lookup_per_call(uint64_t iterations);
  std::optional<uint64_t> time_trigger_host_calls(uint64_t iterations);
  std::optional<uint64_t> time_point_add(uint64_t iterations, uint32_t base);

private:
  WasmHost();

  wasmtime::Engine engine_;
  wasmtime::Store store_;
  std::unique_ptr<HostState> state_;
  std::unique_ptr<KeptOutput> kept_;
  std::optional<wasmtime::Instance> instance_;
  std::optional<wasmtime::Memory> memory_;
  std::optional<wasmtime::Func> just_add_untyped_;
  std::optional<wasmtime::TypedFunc<std::tuple<uint64_t, uint64_t>, uint64_t>> just_add_;
  std::optional<wasmtime::TypedFunc<std::tuple<uint64_t, uint64_t>, uint64_t>> simple_add_;
  std::optional<wasmtime::TypedFunc<int32_t, std::monostate>> trigger_host_calls_;
  std::optional<wasmtime::TypedFunc<std::tuple<uint32_t, uint32_t, uint32_t>, std::monostate>> point_add_;
  std::optional<wasmtime::TypedFunc<std::tuple<>, uint32_t>> plugin_shared_value_ptr_;
  std::optional<wasmtime::TypedFunc<std::tuple<>, int32_t>> read_plugin_shared_value_;
};

} // namespace boundary_cpp

#endif // BOUNDARY_CPP_WASM_HOST_HH
