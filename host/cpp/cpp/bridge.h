/* The C functions through which Rust drives the C++ host (`host/cpp/src/lib.rs` declares the same). Every function
 * that can fail returns 0 on success and 1 on failure, with the reason in `boundary_cpp_last_error`. */

#ifndef BOUNDARY_CPP_BRIDGE_H
#define BOUNDARY_CPP_BRIDGE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct boundary_cpp_host boundary_cpp_host;

typedef struct boundary_cpp_state {
  int32_t shared_value;
  int32_t last_logged;
  int32_t logged;
  uint64_t log_calls;
  uint64_t get_calls;
  uint64_t set_calls;
} boundary_cpp_state;

/* Where the guest's stdout goes: nowhere, the process's stdout (and stderr), kept for `boundary_cpp_take_output`, or
 * kept and also written to the process's stdout (with stderr inherited). */
enum {
  BOUNDARY_CPP_OUTPUT_DISCARD = 0,
  BOUNDARY_CPP_OUTPUT_INHERIT = 1,
  BOUNDARY_CPP_OUTPUT_KEEP = 2,
  BOUNDARY_CPP_OUTPUT_KEEP_AND_ECHO = 3,
};

/* The benches' timed loops (see `boundary_cpp_time`). */
enum {
  BOUNDARY_CPP_TYPED_CALL = 0,
  BOUNDARY_CPP_UNTYPED_CALL = 1,
  BOUNDARY_CPP_LOOKUP_PER_CALL = 2,
  BOUNDARY_CPP_TRIGGER_HOST_CALLS = 3,
  BOUNDARY_CPP_POINT_ADD = 4,
};

/* A new host for the module in `wasm[0..len]`, or null with the reason copied (NUL-terminated, cut to fit) into
 * `error[0..error_len]`. Its store's linear memory may grow to `memory_bytes` and each of its tables to
 * `table_elements`, growth past either trapping; a negative `memory_bytes` sets no budget. */
boundary_cpp_host *boundary_cpp_host_new(const uint8_t *wasm, size_t len, int output, int64_t memory_bytes,
                                         int64_t table_elements, char *error, size_t error_len);

/* Defined by the Rust side (`host/cpp/src/lib.rs`): installs the store's limiter with these caps, set to trap on a
 * growth past them (the C API's own `wasmtime_store_limiter` cannot make growth trap). */
struct wasmtime_store;
void boundary_rust_set_store_budget(struct wasmtime_store *store, int64_t memory_bytes, int64_t table_elements);
/* Defined by the Rust side: shows `len` bytes the guest wrote to its stdout (`stream` 1) or stderr (2) as the Rust
 * host shows a guest's output (`boundary_host::console`: marked line by line, escaped, capped per process). */
void boundary_rust_guest_output(int stream, const uint8_t *bytes, size_t len);
void boundary_cpp_host_free(boundary_cpp_host *host);
/* The reason the last failing call on `host` failed; valid until the next call on `host`. */
const char *boundary_cpp_last_error(const boundary_cpp_host *host);

int boundary_cpp_just_add(boundary_cpp_host *host, uint64_t a, uint64_t b, uint64_t *out);
int boundary_cpp_simple_add(boundary_cpp_host *host, uint64_t a, uint64_t b, uint64_t *out);
int boundary_cpp_trigger_host_calls(boundary_cpp_host *host, int32_t value);
int boundary_cpp_point_add(boundary_cpp_host *host, uint32_t out, uint32_t a, uint32_t b);
int boundary_cpp_plugin_shared_value_ptr(boundary_cpp_host *host, uint32_t *out);
int boundary_cpp_read_plugin_shared_value(boundary_cpp_host *host, int32_t *out);
/* 1 if the module exports `read_plugin_shared_value` (optional in the ABI), else 0. */
int boundary_cpp_has_read_plugin_shared_value(const boundary_cpp_host *host);
/* Copies what the guest wrote to stdout since the last take (at most `len` bytes; the rest of it is dropped) into
 * `dest` and returns how many bytes it copied; 0 when the output is not kept. */
size_t boundary_cpp_take_output(boundary_cpp_host *host, uint8_t *dest, size_t len);
int boundary_cpp_grow(boundary_cpp_host *host, uint64_t pages, uint64_t *old_pages);

/* Bounds-checked copies; 1 (and nothing copied) when `offset .. offset + len` is not inside linear memory. */
int boundary_cpp_read(boundary_cpp_host *host, size_t offset, uint8_t *dest, size_t len);
int boundary_cpp_write(boundary_cpp_host *host, size_t offset, const uint8_t *src, size_t len);
size_t boundary_cpp_memory_size(boundary_cpp_host *host);

void boundary_cpp_get_state(boundary_cpp_host *host, boundary_cpp_state *out);
void boundary_cpp_set_state(boundary_cpp_host *host, const boundary_cpp_state *state);

/* Runs one of the timed loops `iterations` times and stores the nanoseconds it took in `*nanoseconds`. The Point
 * round trip uses 24 bytes at guest offset `base`. */
int boundary_cpp_time(boundary_cpp_host *host, int loop, uint64_t iterations, uint32_t base, uint64_t *nanoseconds);

#ifdef __cplusplus
}
#endif

#endif /* BOUNDARY_CPP_BRIDGE_H */
