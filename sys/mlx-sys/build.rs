//! Generates the mlx-c bindings and links mlx-c, libmlx and OpenBLAS from the
//! prefix that `scripts/setup.sh` prepares (named by `SOVITS_MLX_PREFIX` and
//! `SOVITS_MLX_LIB_DIR`, which setup writes into `.cargo/config.toml`).

use std::env;
use std::path::{Path, PathBuf};

fn required_dir(var: &str) -> PathBuf {
    println!("cargo:rerun-if-env-changed={var}");
    let Some(value) = env::var_os(var) else {
        panic!(
            "{var} is not set: run scripts/setup.sh first (it builds MLX's C API into \
             ~/.cache/sovits and writes .cargo/config.toml)"
        );
    };
    let dir = PathBuf::from(value);
    if !dir.is_dir() {
        panic!("{var}={} does not exist: re-run scripts/setup.sh", dir.display());
    }
    dir
}

fn sorted_headers(include: &Path) -> Vec<PathBuf> {
    let dir = include.join("mlx/c");
    let mut headers: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list mlx-c headers in {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|ext| ext == "h"))
        .collect();
    headers.sort();
    headers
}

/// Our MLX CPU primitives (see each file's comment), compiled into one
/// static library.
const PRIMITIVES: [&str; 2] = ["native/shifted_conv1d.cpp", "native/grouped_conv1d.cpp"];

/// Compiles [`PRIMITIVES`] against the headers of the MLX wheel that provides
/// `libmlx.so` (`<lib_dir>/../include`) and mlx-c's private headers, with the
/// flags mlx-c was compiled with by `scripts/setup.sh` (but -O3, which turns
/// on GCC's loop vectorizer for the direct kernels).
fn compile_primitives(manifest: &Path, include: &Path, lib_dir: &Path) {
    let mlx_include = lib_dir.join("../include");
    if !mlx_include.join("mlx/backend/cpu/encoder.h").is_file() {
        panic!(
            "MLX's C++ headers are missing under {}: re-run scripts/setup.sh",
            mlx_include.display()
        );
    }
    println!("cargo:rerun-if-changed={}", manifest.join("native/primitive_util.h").display());
    let mut build = cc::Build::new();
    build
        .cpp(true)
        .std("c++20")
        .opt_level(3)
        .flag("-w")
        .flag("-include")
        .flag(manifest.join("native/mlxc_compat.h").display().to_string())
        .include(&mlx_include)
        .include(include)
        .include(manifest.join("native"));
    for file in PRIMITIVES {
        let source = manifest.join(file);
        println!("cargo:rerun-if-changed={}", source.display());
        build.file(source);
    }
    build.compile("sovits_primitives");
}

fn main() {
    if env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("macos") {
        panic!(
            "sovits's mlx-sys targets Linux; on macOS remove the [patch.crates-io] mlx-sys \
             entry from Cargo.toml to use the published crate (Metal)"
        );
    }
    let prefix = required_dir("SOVITS_MLX_PREFIX");
    let lib_dir = required_dir("SOVITS_MLX_LIB_DIR");
    let include = prefix.join("include");
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let prelude = manifest.join("native/bindgen_prelude.h");
    println!("cargo:rerun-if-changed={}", prelude.display());

    println!("cargo:rustc-link-search=native={}", prefix.join("lib").display());
    println!("cargo:rustc-link-lib=static=mlxc");
    println!("cargo:rustc-link-search=native={}", lib_dir.display());
    println!("cargo:rustc-link-lib=dylib=mlx");
    println!("cargo:rustc-link-lib=dylib=stdc++");
    // MLX calls cblas_sgemm; whichever library the loader finds first serves it.
    // A direct dependency on OpenBLAS (kept by src/openblas_anchor.rs despite
    // --as-needed) puts it ahead of the wheel's reference BLAS (~30x faster).
    println!("cargo:rustc-link-lib=dylib:+verbatim=libopenblas.so.0");
    println!("cargo:lib_dir={}", lib_dir.display());

    compile_primitives(&manifest, &include, &lib_dir);

    let headers = sorted_headers(&include);
    let mut builder = bindgen::Builder::default()
        .clang_arg(format!("-I{}", include.display()))
        .clang_arg("-include")
        .clang_arg(prelude.display().to_string())
        .blocklist_function("malloc")
        .blocklist_function("realloc")
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()));
    for header in &headers {
        builder = builder.header(header.display().to_string());
    }
    let bindings = builder.generate().expect("bindgen failed on the mlx-c headers");
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    bindings
        .write_to_file(out.join("bindings.rs"))
        .expect("cannot write bindings.rs");
}
