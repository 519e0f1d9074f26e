//! Assembles WebAssembly text into a binary module:
//! `cargo run -p flow-compiler --example wat2wasm -- IN.wat OUT.wasm`.
//!
//! The `extern fn` tools of the conformance tests are written in WAT and
//! checked in with their `.wasm`; `tests/conformance/generate.py` runs this
//! to rebuild them, and a unit test of `codegen::tool` checks that every
//! checked-in `.wasm` is its `.wat` assembled.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output] = args.as_slice() else {
        eprintln!("usage: wat2wasm IN.wat OUT.wasm");
        return ExitCode::from(2);
    };
    let bytes = match wat::parse_file(input) {
        Ok(bytes) => bytes,
        Err(error) => {
            eprintln!("{input}: {error}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(error) = std::fs::write(output, bytes) {
        eprintln!("{output}: {error}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
