//! Builds the runtime library (`flow-runtime`) for `wasm32-unknown-unknown`
//! so the code generator can embed it: every stage module is this runtime
//! with the generated functions appended (docs/abi.md).
//!
//! The nested `cargo build` uses its own target directory under `OUT_DIR`,
//! so it never waits on the lock of the outer build, and the
//! `wasm-runtime` profile of the workspace (release, `opt-level = 3`,
//! `panic = "abort"`). The resulting `flow_runtime.wasm` is copied to
//! `$OUT_DIR/flow_runtime.wasm`, which `codegen::runtime` includes.

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let runtime_dir = manifest_dir.join("..").join("stdlib").join("runtime");
    let runtime_manifest = runtime_dir.join("Cargo.toml");

    println!(
        "cargo:rerun-if-changed={}",
        runtime_dir.join("src").display()
    );
    println!("cargo:rerun-if-changed={}", runtime_manifest.display());
    println!(
        "cargo:rerun-if-changed={}",
        manifest_dir.join("..").join("Cargo.toml").display()
    );
    println!(
        "cargo:rerun-if-changed={}",
        manifest_dir.join("..").join("Cargo.lock").display()
    );

    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let target_dir = out_dir.join("runtime-target");
    let mut command = Command::new(cargo);
    command
        .arg("build")
        .arg("--manifest-path")
        .arg(&runtime_manifest)
        .arg("--target")
        .arg("wasm32-unknown-unknown")
        .arg("--profile")
        .arg("wasm-runtime")
        .arg("--target-dir")
        .arg(&target_dir);
    // The outer build's flags and wrappers are for the host target (and
    // clippy's wrapper would lint the runtime a second time): the runtime
    // build gets none of them.
    for variable in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_BUILD_RUSTFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
    ] {
        command.env_remove(variable);
    }

    let output = match command.output() {
        Ok(output) => output,
        Err(error) => panic!("cannot run cargo to build the Flow runtime for wasm32: {error}"),
    };
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        if stderr.contains("wasm32-unknown-unknown")
            && (stderr.contains("target may not be installed")
                || stderr.contains("can't find crate for `core`"))
        {
            panic!(
                "the Flow runtime is built for WebAssembly, but the wasm32 target is missing; install it with:\n\n    rustup target add wasm32-unknown-unknown\n\n{stderr}"
            );
        }
        panic!(
            "building the Flow runtime for wasm32 failed (if the target is missing: rustup target add wasm32-unknown-unknown):\n{stderr}"
        );
    }

    let built = target_dir
        .join("wasm32-unknown-unknown")
        .join("wasm-runtime")
        .join("flow_runtime.wasm");
    let embedded = out_dir.join("flow_runtime.wasm");
    if let Err(error) = std::fs::copy(&built, &embedded) {
        panic!(
            "cannot copy {} to {}: {error}",
            built.display(),
            embedded.display()
        );
    }
}
