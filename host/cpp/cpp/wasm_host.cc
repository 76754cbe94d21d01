// The C++ host's implementation; see wasm_host.hh.

#include "wasm_host.hh"

#include "bridge.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <vector>

namespace boundary_cpp {

using namespace wasmtime;

namespace {

constexpr uint8_t WASM_MAGIC[4] = {0x00, 0x61, 0x73, 0x6d};

// Keeps a result alive so that a timed loop is not optimised away.
volatile uint64_t sink = 0;

template <typename T> std::string message_of(const T &error) { return error.message(); }

// The parameter and result types of a `TypedFunc`, to type-check an export against the slot it goes into.
template <typename T> struct TypedTraits;
template <typename P, typename R> struct TypedTraits<TypedFunc<P, R>> {
  using Params = P;
  using Results = R;
};

using Clock = std::chrono::steady_clock;

uint64_t nanoseconds_since(Clock::time_point start) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count());
}

// wasmtime's default configuration with wasm GC off (the proposal, exceptions, whose objects live in the GC heap,
// and the collector): the Rust host runs exceptions with its GC heap inside the store's one budget (`profile.rs`),
// which the C API's per-memory limits cannot give.
Config default_config_without_gc() {
  Config config;
  config.wasm_gc(false);
  config.wasm_exceptions(false);
  wasmtime_config_gc_support_set(config.capi(), false);
  return config;
}

} // namespace

// The WASI stdout callback when the output is kept: appends what fits, shows everything when asked (through the
// Rust side's console, as the Rust host shows a guest's output: never straight to the terminal).
ptrdiff_t keep_stdout(void *data, const unsigned char *buf, size_t len) {
  auto *kept = static_cast<KeptOutput *>(data);
  size_t room = KeptOutput::limit - std::min(kept->bytes.size(), KeptOutput::limit);
  kept->bytes.append(reinterpret_cast<const char *>(buf), std::min(len, room));
  if (kept->echo) {
    boundary_rust_guest_output(1, buf, len);
  }
  return static_cast<ptrdiff_t>(len);
}

// The WASI stdout and stderr callbacks when the output is shown and not kept.
ptrdiff_t show_stdout(void *, const unsigned char *buf, size_t len) {
  boundary_rust_guest_output(1, buf, len);
  return static_cast<ptrdiff_t>(len);
}

ptrdiff_t show_stderr(void *, const unsigned char *buf, size_t len) {
  boundary_rust_guest_output(2, buf, len);
  return static_cast<ptrdiff_t>(len);
}

WasmHost::WasmHost()
    : engine_(default_config_without_gc()), store_(engine_), state_(std::make_unique<HostState>()), kept_(std::make_unique<KeptOutput>()) {}

std::unique_ptr<WasmHost> WasmHost::create(const uint8_t *wasm, size_t len, Output output, Budget budget,
                                           std::string &error) {
  std::unique_ptr<WasmHost> host(new WasmHost());
  Store &store = host->store_;
  if (budget.memory_bytes >= 0) {
    boundary_rust_set_store_budget(store.capi(), budget.memory_bytes, budget.table_elements);
  }

  bool binary = len >= sizeof(WASM_MAGIC) && std::memcmp(wasm, WASM_MAGIC, sizeof(WASM_MAGIC)) == 0;
  auto module = binary ? Module::compile(host->engine_, Span<uint8_t>(const_cast<uint8_t *>(wasm), len))
                       : Module::compile(host->engine_, std::string_view(reinterpret_cast<const char *>(wasm), len));
  if (!module) {
    error = "does not compile: " + message_of(module.err());
    return nullptr;
  }

  Linker linker(host->engine_);
  if (auto defined = linker.define_wasi(); !defined) {
    error = "cannot define WASI: " + message_of(defined.err());
    return nullptr;
  }
  // The C API, not `WasiConfig`: wasmtime.hh has no way to hand WASI a stdout callback.
  wasi_config_t *wasi = wasi_config_new();
  if (output == Output::Inherit || output == Output::KeepAndEcho) {
    wasi_config_set_stderr_custom(wasi, show_stderr, nullptr, nullptr);
  }
  if (output == Output::Inherit) {
    wasi_config_set_stdout_custom(wasi, show_stdout, nullptr, nullptr);
  } else if (output == Output::Keep || output == Output::KeepAndEcho) {
    host->kept_->echo = output == Output::KeepAndEcho;
    wasi_config_set_stdout_custom(wasi, keep_stdout, host->kept_.get(), nullptr);
  }
  if (wasmtime_error_t *set = wasmtime_context_set_wasi(store.context().capi(), wasi)) {
    error = "cannot configure WASI: " + Error(set).message();
    return nullptr;
  }

  // The closures capture the state they change: no globals, and no lookup on the callback path.
  HostState *state = host->state_.get();
  auto log_value = linker.func_wrap("env", "host_log_value", [state](int32_t value) {
    state->last_logged = value;
    state->logged = true;
    state->log_calls++;
  });
  auto get_shared = linker.func_wrap("env", "host_get_shared_value", [state]() -> int32_t {
    state->get_calls++;
    return state->shared_value;
  });
  auto set_shared = linker.func_wrap("env", "host_set_shared_value", [state](int32_t value) {
    state->set_calls++;
    state->shared_value = value;
  });
  for (auto *defined : {&log_value, &get_shared, &set_shared}) {
    if (!*defined) {
      error = "cannot define the env host functions: " + message_of(defined->err());
      return nullptr;
    }
  }

  auto instance = linker.instantiate(store, module.ok());
  if (!instance) {
    error = "cannot be instantiated: " + message_of(instance.err());
    return nullptr;
  }
  host->instance_ = instance.ok();
  Instance &inst = *host->instance_;

  auto func = [&](const char *name) -> std::optional<Func> {
    auto ext = inst.get(store, name);
    if (!ext) {
      return std::nullopt;
    }
    if (auto *f = std::get_if<Func>(&*ext)) {
      return *f;
    }
    return std::nullopt;
  };
  // Looks a required export up once and checks its signature; false (with `error` set) if it is missing or differs.
  auto typed = [&](const char *name, auto &slot) -> bool {
    using Typed = typename std::remove_reference_t<decltype(slot)>::value_type;
    auto f = func(name);
    if (!f) {
      error = std::string("lacks the export `") + name + "` (a function) that the host needs";
      return false;
    }
    auto checked = f->template typed<typename TypedTraits<Typed>::Params, typename TypedTraits<Typed>::Results>(store);
    if (!checked) {
      error = std::string("exports `") + name + "` with a signature the host does not expect";
      return false;
    }
    slot = checked.ok();
    return true;
  };

  auto memory = inst.get(store, "memory");
  if (!memory || !std::get_if<Memory>(&*memory)) {
    error = "lacks the export `memory` (a memory) that the host needs";
    return nullptr;
  }
  host->memory_ = std::get<Memory>(*memory);
  if (!typed("just_add", host->just_add_) || !typed("simple_add", host->simple_add_) ||
      !typed("trigger_host_calls", host->trigger_host_calls_) || !typed("point_add", host->point_add_) ||
      !typed("get_plugin_shared_value_ptr", host->plugin_shared_value_ptr_)) {
    return nullptr;
  }
  // Optional: a guest written as the article writes it has no such export.
  if (func("read_plugin_shared_value") && !typed("read_plugin_shared_value", host->read_plugin_shared_value_)) {
    return nullptr;
  }
  host->just_add_untyped_ = func("just_add");

  // A WASI reactor exports `_initialize`, to be called once before anything else.
  if (auto init = func("_initialize")) {
    if (auto done = init->call(store, {}); !done) {
      error = "trapped in `_initialize`: " + message_of(done.err());
      return nullptr;
    }
  }
  return host;
}

Status WasmHost::just_add(uint64_t a, uint64_t b, uint64_t &out) {
  auto result = just_add_->call(store_, {a, b});
  if (!result) {
    return "`just_add` trapped: " + message_of(result.err());
  }
  out = result.ok();
  return {};
}

Status WasmHost::simple_add(uint64_t a, uint64_t b, uint64_t &out) {
  auto result = simple_add_->call(store_, {a, b});
  if (!result) {
    return "`simple_add` trapped: " + message_of(result.err());
  }
  out = result.ok();
  return {};
}

Status WasmHost::trigger_host_calls(int32_t value) {
  auto result = trigger_host_calls_->call(store_, value);
  return result ? Status() : "`trigger_host_calls` trapped: " + message_of(result.err());
}

Status WasmHost::point_add(uint32_t out, uint32_t a, uint32_t b) {
  auto result = point_add_->call(store_, {out, a, b});
  return result ? Status() : "`point_add` trapped: " + message_of(result.err());
}

Status WasmHost::plugin_shared_value_ptr(uint32_t &out) {
  auto result = plugin_shared_value_ptr_->call(store_, {});
  if (!result) {
    return "`get_plugin_shared_value_ptr` trapped: " + message_of(result.err());
  }
  out = result.ok();
  return {};
}

Status WasmHost::read_plugin_shared_value(int32_t &out) {
  if (!read_plugin_shared_value_) {
    return "the module lacks the export `read_plugin_shared_value`";
  }
  auto result = read_plugin_shared_value_->call(store_, {});
  if (!result) {
    return "`read_plugin_shared_value` trapped: " + message_of(result.err());
  }
  out = result.ok();
  return {};
}

size_t WasmHost::memory_size() { return memory_->data(store_).size(); }

bool WasmHost::read(size_t offset, void *dest, size_t len) {
  auto data = memory_->data(store_);
  // `offset + len` is never computed: it could wrap.
  if (offset > data.size() || len > data.size() - offset) {
    return false;
  }
  std::memcpy(dest, data.data() + offset, len);
  return true;
}

bool WasmHost::write(size_t offset, const void *src, size_t len) {
  auto data = memory_->data(store_);
  if (offset > data.size() || len > data.size() - offset) {
    return false;
  }
  std::memcpy(data.data() + offset, src, len);
  return true;
}

Status WasmHost::grow(uint64_t pages, uint64_t &old_pages) {
  auto result = memory_->grow(store_, pages);
  if (!result) {
    return "cannot grow linear memory: " + message_of(result.err());
  }
  old_pages = result.ok();
  return {};
}

std::optional<uint64_t> WasmHost::time_typed_call(uint64_t iterations) {
  uint64_t total = 0;
  auto start = Clock::now();
  for (uint64_t i = 0; i < iterations; i++) {
    auto result = just_add_->call(store_, {15, 27});
    if (!result) {
      return std::nullopt;
    }
    total += result.ok();
  }
  auto elapsed = nanoseconds_since(start);
  sink = total;
  return elapsed;
}

std::optional<uint64_t> WasmHost::time_untyped_call(uint64_t iterations) {
  uint64_t total = 0;
  auto start = Clock::now();
  for (uint64_t i = 0; i < iterations; i++) {
    auto result = just_add_untyped_->call(store_, {Val(int64_t(15)), Val(int64_t(27))});
    if (!result) {
      return std::nullopt;
    }
    total += static_cast<uint64_t>(result.ok()[0].i64());
  }
  auto elapsed = nanoseconds_since(start);
  sink = total;
  return elapsed;
}

std::optional<uint64_t> WasmHost::time_lookup_per_call(uint64_t iterations) {
  uint64_t total = 0;
  auto start = Clock::now();
  for (uint64_t i = 0; i < iterations; i++) {
    // The article's habit: find the export by name on every call, then call it untyped.
    auto ext = instance_->get(store_, "just_add");
    if (!ext || !std::get_if<Func>(&*ext)) {
      return std::nullopt;
    }
    auto result = std::get<Func>(*ext).call(store_, {Val(int64_t(15)), Val(int64_t(27))});
    if (!result) {
      return std::nullopt;
    }
    total += static_cast<uint64_t>(result.ok()[0].i64());
  }
  auto elapsed = nanoseconds_since(start);
  sink = total;
  return elapsed;
}

std::optional<uint64_t> WasmHost::time_trigger_host_calls(uint64_t iterations) {
  auto start = Clock::now();
  for (uint64_t i = 0; i < iterations; i++) {
    if (!trigger_host_calls_->call(store_, 7)) {
      return std::nullopt;
    }
  }
  auto elapsed = nanoseconds_since(start);
  sink = static_cast<uint64_t>(state_->shared_value);
  return elapsed;
}

std::optional<uint64_t> WasmHost::time_point_add(uint64_t iterations, uint32_t base) {
  const Point a{100, 200};
  const Point b{30, 70};
  const uint32_t a_at = base;
  const uint32_t b_at = base + 8;
  const uint32_t out_at = base + 16;
  int64_t total = 0;
  auto start = Clock::now();
  for (uint64_t i = 0; i < iterations; i++) {
    Point out{};
    if (!write(a_at, &a, sizeof a) || !write(b_at, &b, sizeof b) || !point_add_->call(store_, {out_at, a_at, b_at}) ||
        !read(out_at, &out, sizeof out)) {
      return std::nullopt;
    }
    total += out.x + out.y;
  }
  auto elapsed = nanoseconds_since(start);
  sink = static_cast<uint64_t>(total);
  return elapsed;
}

} // namespace boundary_cpp
