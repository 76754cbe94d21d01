//! The C++ host's test suite (`cargo test --release -p boundary-cpp-host`, in a build with cmake and a C++
//! compiler).

#[path = "../../../tests/support/mod.rs"]
mod support;

mod cpp_host;
