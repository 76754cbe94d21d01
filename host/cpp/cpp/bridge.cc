// The C bridge of bridge.h over the C++ host of wasm_host.hh.

#include "bridge.h"
#include "wasm_host.hh"

#include <algorithm>
#include <cstring>
#include <string>

struct boundary_cpp_host {
  std::unique_ptr<boundary_cpp::WasmHost> host;
  std::string error;
};

namespace {

// 0 for an empty status, else 1 with the status kept as the host's last error.
int report(boundary_cpp_host *h, boundary_cpp::Status status) {
  if (status.empty()) {
    return 0;
  }
  h->error = std::move(status);
  return 1;
}

} // namespace

extern "C" {

boundary_cpp_host *boundary_cpp_host_new(const uint8_t *wasm, size_t len, int output, int64_t memory_bytes,
                                         int64_t table_elements, char *error, size_t error_len) {
  std::string why;
  std::unique_ptr<boundary_cpp::WasmHost> host;
  if (output < BOUNDARY_CPP_OUTPUT_DISCARD || output > BOUNDARY_CPP_OUTPUT_KEEP_AND_ECHO) {
    why = "unknown output mode " + std::to_string(output);
  } else {
    boundary_cpp::Budget budget{memory_bytes, table_elements};
    host = boundary_cpp::WasmHost::create(wasm, len, static_cast<boundary_cpp::Output>(output), budget, why);
  }
  if (!host) {
    if (error_len > 0) {
      size_t n = std::min(why.size(), error_len - 1);
      std::memcpy(error, why.data(), n);
      error[n] = '\0';
    }
    return nullptr;
  }
  return new boundary_cpp_host{std::move(host), {}};
}

void boundary_cpp_host_free(boundary_cpp_host *host) { delete host; }

const char *boundary_cpp_last_error(const boundary_cpp_host *host) { return host->error.c_str(); }

int boundary_cpp_just_add(boundary_cpp_host *h, uint64_t a, uint64_t b, uint64_t *out) {
  return report(h, h->host->just_add(a, b, *out));
}

int boundary_cpp_simple_add(boundary_cpp_host *h, uint64_t a, uint64_t b, uint64_t *out) {
  return report(h, h->host->simple_add(a, b, *out));
}

int boundary_cpp_trigger_host_calls(boundary_cpp_host *h, int32_t value) {
  return report(h, h->host->trigger_host_calls(value));
}

int boundary_cpp_point_add(boundary_cpp_host *h, uint32_t out, uint32_t a, uint32_t b) {
  return report(h, h->host->point_add(out, a, b));
}

int boundary_cpp_plugin_shared_value_ptr(boundary_cpp_host *h, uint32_t *out) {
  return report(h, h->host->plugin_shared_value_ptr(*out));
}

int boundary_cpp_read_plugin_shared_value(boundary_cpp_host *h, int32_t *out) {
  return report(h, h->host->read_plugin_shared_value(*out));
}

int boundary_cpp_has_read_plugin_shared_value(const boundary_cpp_host *h) {
  return h->host->has_read_plugin_shared_value() ? 1 : 0;
}

size_t boundary_cpp_take_output(boundary_cpp_host *h, uint8_t *dest, size_t len) {
  std::string kept = h->host->take_output();
  size_t n = std::min(kept.size(), len);
  std::memcpy(dest, kept.data(), n);
  return n;
}

int boundary_cpp_grow(boundary_cpp_host *h, uint64_t pages, uint64_t *old_pages) {
  return report(h, h->host->grow(pages, *old_pages));
}

int boundary_cpp_read(boundary_cpp_host *h, size_t offset, uint8_t *dest, size_t len) {
  return h->host->read(offset, dest, len) ? 0 : 1;
}

int boundary_cpp_write(boundary_cpp_host *h, size_t offset, const uint8_t *src, size_t len) {
  return h->host->write(offset, src, len) ? 0 : 1;
}

size_t boundary_cpp_memory_size(boundary_cpp_host *h) { return h->host->memory_size(); }

void boundary_cpp_get_state(boundary_cpp_host *h, boundary_cpp_state *out) {
  const auto &s = h->host->state();
  *out = boundary_cpp_state{s.shared_value, s.last_logged, s.logged ? 1 : 0, s.log_calls, s.get_calls, s.set_calls};
}

void boundary_cpp_set_state(boundary_cpp_host *h, const boundary_cpp_state *state) {
  auto &s = h->host->state();
  s.shared_value = state->shared_value;
  s.last_logged = state->last_logged;
  s.logged = state->logged != 0;
  s.log_calls = state->log_calls;
  s.get_calls = state->get_calls;
  s.set_calls = state->set_calls;
}

int boundary_cpp_time(boundary_cpp_host *h, int loop, uint64_t iterations, uint32_t base, uint64_t *nanoseconds) {
  std::optional<uint64_t> took;
  switch (loop) {
  case BOUNDARY_CPP_TYPED_CALL:
    took = h->host->time_typed_call(iterations);
    break;
  case BOUNDARY_CPP_UNTYPED_CALL:
    took = h->host->time_untyped_call(iterations);
    break;
  case BOUNDARY_CPP_LOOKUP_PER_CALL:
    took = h->host->time_lookup_per_call(iterations);
    break;
  case BOUNDARY_CPP_TRIGGER_HOST_CALLS:
    took = h->host->time_trigger_host_calls(iterations);
    break;
  case BOUNDARY_CPP_POINT_ADD:
    took = h->host->time_point_add(iterations, base);
    break;
  default:
    h->error = "unknown timed loop " + std::to_string(loop);
    return 1;
  }
  if (!took) {
    h->error = "an operation of timed loop " + std::to_string(loop) + " failed";
    return 1;
  }
  *nanoseconds = *took;
  return 0;
}

} // extern "C"
