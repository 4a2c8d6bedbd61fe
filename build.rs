//! Generates include/xbuf.h from the Rust sources with cbindgen, and gives the shared library
//! its SONAME. The header is committed; CI checks that it equals what this script writes.

use std::env;
use std::path::PathBuf;

fn main() {
    let dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=build.rs");

    let major = env::var("CARGO_PKG_VERSION_MAJOR").unwrap();
    if env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libxbuf.so.{major}");
    }

    let config =
        cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("read cbindgen.toml");
    let version = format!(
        "\n#define XBUF_VERSION_MAJOR {}\n#define XBUF_VERSION_MINOR {}\n#define XBUF_VERSION_PATCH {}\n#define XBUF_VERSION_STRING \"{}\"\n",
        major,
        env::var("CARGO_PKG_VERSION_MINOR").unwrap(),
        env::var("CARGO_PKG_VERSION_PATCH").unwrap(),
        env::var("CARGO_PKG_VERSION").unwrap(),
    );
    // The version macros first, then cbindgen.toml's own `after_includes`.
    let after = format!(
        "{version}{}",
        config.after_includes.clone().unwrap_or_default()
    );
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(dir.join("src/lib.rs"))
        .with_after_include(after)
        .generate()
        .expect("generate include/xbuf.h");
    // Writes only when the text changed, so an unchanged header keeps its timestamp.
    bindings.write_to_file(dir.join("include/xbuf.h"));
}
