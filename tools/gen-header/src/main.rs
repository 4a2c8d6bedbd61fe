//! Writes `include/xbuf.h` from the crate's sources with cbindgen, or with `--check` fails when
//! the committed header differs from what it would write.
//!
//! Usage: `xbuf-gen-header [--check] [CRATE_DIR]` (the crate directory defaults to the root of
//! this repository). Run through `cmake --build <dir> --target header` or
//! `cargo run -p xbuf-gen-header`.

mod sections;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The `version = "X.Y.Z"` of the `[package]` section of `Cargo.toml`.
fn package_version(manifest: &str) -> Option<(String, [String; 3])> {
    let mut in_package = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[package]";
            continue;
        }
        if !in_package {
            continue;
        }
        let Some(rest) = line.strip_prefix("version") else {
            continue;
        };
        let value = rest
            .trim_start()
            .strip_prefix('=')?
            .trim()
            .trim_matches('"');
        let parts: Vec<&str> = value.split('.').collect();
        if parts.len() != 3 || parts.iter().any(|p| p.parse::<u32>().is_err()) {
            return None;
        }
        let parts = [parts[0], parts[1], parts[2]].map(str::to_string);
        return Some((value.to_string(), parts));
    }
    None
}

/// The header text for the crate in `dir`.
fn generate(dir: &Path) -> Result<Vec<u8>, String> {
    let manifest = dir.join("Cargo.toml");
    let text =
        std::fs::read_to_string(&manifest).map_err(|e| format!("{}: {e}", manifest.display()))?;
    let (version, [major, minor, patch]) = package_version(&text).ok_or_else(|| {
        format!(
            "{}: no version = \"X.Y.Z\" in [package]",
            manifest.display()
        )
    })?;
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml"))
        .map_err(|e| format!("cbindgen.toml: {e}"))?;
    let after_include = format!(
        "\n#define XBUF_VERSION_MAJOR {major}\n#define XBUF_VERSION_MINOR {minor}\n#define XBUF_VERSION_PATCH {patch}\n#define XBUF_VERSION_STRING \"{version}\"\n"
    );
    // The version macros first, then cbindgen.toml's own `after_includes` (which the builder's
    // setting would otherwise replace), less the blocks it places after items.
    let (kept, moved) =
        sections::split_after_includes(&config.after_includes.clone().unwrap_or_default());
    let after_include = format!("{after_include}{kept}");
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(dir.join("src/lib.rs"))
        .with_after_include(after_include.clone())
        .generate()
        .map_err(|e| format!("cbindgen: {e}"))?;
    let mut out = Vec::new();
    bindings.write(&mut out);
    let text = String::from_utf8(out).map_err(|e| format!("cbindgen wrote non-UTF-8: {e}"))?;
    let sections = sections::read_sections(&dir.join("src/capi"))?;
    Ok(sections::arrange(&text, &after_include, &sections, &moved)?.into_bytes())
}

fn main() -> ExitCode {
    let mut check = false;
    let mut dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    for arg in std::env::args_os().skip(1) {
        if arg == "--check" {
            check = true;
        } else if arg.to_string_lossy().starts_with('-') {
            eprintln!("usage: xbuf-gen-header [--check] [CRATE_DIR]");
            return ExitCode::from(2);
        } else {
            dir = PathBuf::from(arg);
        }
    }
    let dir = dir.canonicalize().unwrap_or(dir);
    let header = match generate(&dir) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("xbuf-gen-header: {e}");
            return ExitCode::from(2);
        }
    };
    let path = dir.join("include/xbuf.h");
    let current = std::fs::read(&path).ok();
    if current.as_deref() == Some(&header[..]) {
        return ExitCode::SUCCESS;
    }
    if check {
        eprintln!(
            "{} is stale: regenerate it (cmake --build <build dir> --target header, or \
             cargo run -p xbuf-gen-header) and commit it",
            path.display()
        );
        return ExitCode::FAILURE;
    }
    // Written only when the text changed, so an unchanged header keeps its timestamp.
    if let Err(e) = std::fs::write(&path, &header) {
        eprintln!("xbuf-gen-header: {}: {e}", path.display());
        return ExitCode::from(2);
    }
    println!("wrote {}", path.display());
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::package_version;

    #[test]
    fn version_of_the_package_section_only() {
        let m = "[workspace]\nversion = \"9.9.9\"\n[package]\nname = \"x\"\nversion = \"1.22.3\"\n";
        let (v, parts) = package_version(m).unwrap();
        assert_eq!(v, "1.22.3");
        assert_eq!(parts, ["1", "22", "3"].map(String::from));
        assert!(package_version("[package]\nversion = \"1.2\"\n").is_none());
        assert!(package_version("[dependencies]\nversion = \"1.2.3\"\n").is_none());
    }
}
