//! The README's `xbuf` session (the ```console block after `<!-- cli-example -->`), run line
//! by line in a scratch directory: each `$ command` runs in `sh` with this build's `xbuf`
//! first on `PATH`, and must print exactly the lines that follow it. The README cannot drift.

use std::path::{Path, PathBuf};
use std::process::Command;

fn session(readme: &str) -> Vec<(String, String)> {
    let start = readme
        .find("<!-- cli-example -->")
        .expect("README.md has no <!-- cli-example --> marker");
    let rest = &readme[start..];
    let open = rest
        .find("```console\n")
        .expect("no ```console block after the marker")
        + 11;
    let body = &rest[open..];
    let body = &body[..body.find("\n```").expect("unterminated block") + 1];
    let mut steps: Vec<(String, String)> = Vec::new();
    for line in body.lines() {
        if let Some(cmd) = line.strip_prefix("$ ") {
            steps.push((cmd.to_string(), String::new()));
        } else {
            let last = steps.last_mut().expect("output before the first command");
            last.1.push_str(line);
            last.1.push('\n');
        }
    }
    steps
}

#[test]
fn readme_session_prints_what_the_readme_shows() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let steps = session(&readme);
    assert!(steps.len() >= 5, "{} commands", steps.len());
    let dir = std::env::temp_dir().join(format!("xbuf-readme-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_xbuf"));
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for (cmd, want) in &steps {
        let out = Command::new("sh")
            .arg("-c")
            .arg(cmd)
            .current_dir(&dir)
            .env("PATH", &path)
            .output()
            .unwrap();
        let got = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            got,
            *want,
            "README command: {cmd}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
