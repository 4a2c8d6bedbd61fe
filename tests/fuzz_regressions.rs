//! The inputs kept from fuzzing the view operations and the exporter answers
//! (`fuzz/regressions_view_ops/`, `fuzz/regressions_exporter/`), run through the same
//! harnesses as the fuzz targets (`fuzz/harness/`). Set `XBUF_FUZZ_CORPUS` to a directory to
//! run every input in it as well (for example a fuzzer's corpus), and see what the inputs
//! reached with `cargo test --test fuzz_regressions -- --nocapture`.

#[path = "../fuzz/harness/mod.rs"]
mod harness;

use std::path::{Path, PathBuf};

fn inputs(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

fn run_all(kept: &str, target: &str, run: fn(&[u8])) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut files = inputs(&root.join(kept));
    assert!(
        files.len() >= 10,
        "only {} inputs in fuzz/{kept}",
        files.len()
    );
    if let Ok(extra) = std::env::var("XBUF_FUZZ_CORPUS") {
        let dir = Path::new(&extra).join(target);
        if dir.is_dir() {
            files.extend(inputs(&dir));
        }
    }
    for f in &files {
        let data = std::fs::read(f).unwrap();
        let result = std::panic::catch_unwind(|| run(&data));
        if let Err(e) = result {
            eprintln!("input {} fails", f.display());
            std::panic::resume_unwind(e);
        }
    }
    println!(
        "{target}: {} inputs\n{}",
        files.len(),
        harness::stats::report()
    );
}

#[test]
fn view_ops_regressions() {
    run_all("regressions_view_ops", "view_ops", harness::view_ops::run);
}

#[test]
fn exporter_regressions() {
    run_all("regressions_exporter", "exporter", harness::exporter::run);
}
