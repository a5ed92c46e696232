//! `hydra-edge`: manage a hydra-edge deployment (or any Hydra v2+) from the command line, with
//! the command shapes and flags of Hydra's own CLI (`hydra create oauth2-client --name …`).
//!
//! Host only: worker-build compiles the library alone for wasm32, never this binary.

#[cfg(not(target_arch = "wasm32"))]
mod api;
#[cfg(not(target_arch = "wasm32"))]
mod authcode;
#[cfg(not(target_arch = "wasm32"))]
mod callback_server;
#[cfg(not(target_arch = "wasm32"))]
mod cli;
#[cfg(not(target_arch = "wasm32"))]
mod clients;
#[cfg(not(target_arch = "wasm32"))]
mod consent;
#[cfg(not(target_arch = "wasm32"))]
mod error;
#[cfg(not(target_arch = "wasm32"))]
mod keys;
#[cfg(not(target_arch = "wasm32"))]
mod output;
#[cfg(not(target_arch = "wasm32"))]
mod tokens;

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    std::process::exit(cli::run());
}

#[cfg(target_arch = "wasm32")]
fn main() {}
