//! Arranges cbindgen's output in the header's topic order.
//!
//! cbindgen writes all constants, then all types, then all functions. The header instead reads
//! by topic: one section per module of `src/capi/` (in the order `src/capi/mod.rs` declares
//! them), headed by that module's `//!` documentation, holding the module's constants, types
//! and functions in source order, so that each struct stands beside its functions. Every item
//! cbindgen writes must come from a module of `src/capi/`; an item found nowhere is an error.
//! Blocks of the configuration's `after_includes` that begin with a line
//! `/* xbuf-gen-header: after NAME */` are moved right after the item `NAME`.

use std::collections::HashMap;
use std::path::Path;

/// One section of the header: a module of `src/capi/`.
#[derive(Debug, PartialEq)]
pub struct Section {
    /// The module's `//!` documentation, one entry per line (without the `//!`).
    pub doc: Vec<String>,
    /// The names of the module's header items, in source order.
    pub items: Vec<String>,
}

/// The names a Rust line declares for the header, if it starts an exported item.
fn item_name(line: &str) -> Option<&str> {
    let rest = line
        .strip_prefix("pub const ")
        .or_else(|| line.strip_prefix("pub struct "))
        .or_else(|| line.strip_prefix("pub type "))
        .or_else(|| line.strip_prefix("pub unsafe extern \"C\" fn "))
        .or_else(|| line.strip_prefix("pub extern \"C\" fn "))?;
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    Some(&rest[..end])
}

/// The section of one module's source text.
pub fn parse_module(text: &str) -> Section {
    let mut doc = Vec::new();
    let mut items = Vec::new();
    let mut ignored = false;
    for line in text.lines() {
        if let Some(d) = line.strip_prefix("//!") {
            doc.push(d.strip_prefix(' ').unwrap_or(d).to_string());
            continue;
        }
        if line.starts_with("///") {
            ignored |= line.contains("cbindgen:ignore");
            continue;
        }
        if line.starts_with("#[") {
            continue;
        }
        if let Some(name) = item_name(line) {
            if !ignored {
                items.push(name.to_string());
            }
        }
        ignored = false;
    }
    Section { doc, items }
}

/// The modules `mod.rs` declares with `pub mod NAME;`, in order.
pub fn module_order(mod_rs: &str) -> Vec<String> {
    mod_rs
        .lines()
        .filter_map(|l| l.strip_prefix("pub mod ")?.strip_suffix(';'))
        .map(str::to_string)
        .collect()
}

/// The sections of the crate whose `src/capi/` is `dir`.
pub fn read_sections(dir: &Path) -> Result<Vec<Section>, String> {
    let read = |p: &Path| std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()));
    let order = module_order(&read(&dir.join("mod.rs"))?);
    order
        .iter()
        .map(|m| Ok(parse_module(&read(&dir.join(format!("{m}.rs")))?)))
        .collect()
}

/// The name a block of cbindgen's output declares.
fn block_name(block: &str) -> Option<String> {
    let mut in_comment = false;
    for line in block.lines() {
        let t = line.trim_start();
        if in_comment {
            in_comment = !t.contains("*/");
            continue;
        }
        if t.starts_with("/*") {
            in_comment = !t.contains("*/");
            continue;
        }
        let ident = |s: &str| -> String {
            s.chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        };
        if let Some(r) = t.strip_prefix("#define ") {
            return Some(ident(r));
        }
        if let Some(r) = t.strip_prefix("typedef struct ") {
            return Some(ident(r));
        }
        if t.starts_with("typedef ") {
            let r = &t[t.find("(*")? + 2..];
            return Some(ident(r));
        }
        // A function: the identifier before the first '('.
        let head = &t[..t.find('(')?];
        let name = head
            .rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .next()?;
        return Some(name.to_string());
    }
    None
}

const CPP_LINES: [&str; 6] = [
    "#ifdef __cplusplus",
    "extern \"C\" {",
    "#endif // __cplusplus",
    "}  // extern \"C\"",
    "#endif  // __cplusplus",
    "#endif  /* XBUF_H */",
];

/// A section's heading comment.
fn heading(doc: &[String]) -> String {
    let rule = "=".repeat(93);
    let mut out = format!("/* {rule}\n");
    for line in doc {
        if line.is_empty() {
            out.push_str(" *\n");
        } else {
            out.push_str(&format!(" * {line}\n"));
        }
    }
    out.push_str(&format!(" * {rule} */\n"));
    out
}

/// Marks the first line of a block's documentation as its `\brief` when it is a paragraph of
/// its own (a one-line comment, or a first line followed by an empty one).
fn add_brief(block: &str) -> String {
    if let Some(rest) = block.strip_prefix("/** ") {
        if rest.lines().next().is_some_and(|l| l.ends_with(" */")) {
            return format!("/** \\brief {rest}");
        }
    }
    if let Some(rest) = block.strip_prefix("/**\n * ") {
        let mut lines = rest.lines();
        lines.next();
        if matches!(lines.next().map(str::trim_end), Some(" *" | " */")) {
            return format!("/**\n * \\brief {rest}");
        }
    }
    block.to_string()
}

/// Splits `after_includes` into the part kept at the top and the blocks to place after an item.
pub fn split_after_includes(text: &str) -> (String, Vec<(String, String)>) {
    const MARK: &str = "/* xbuf-gen-header: after ";
    let mut top = String::new();
    let mut moved: Vec<(String, String)> = Vec::new();
    for line in text.split_inclusive('\n') {
        if let Some(rest) = line.trim_end().strip_prefix(MARK) {
            let name = rest.trim_end_matches("*/").trim().to_string();
            moved.push((name, String::new()));
        } else if let Some((_, block)) = moved.last_mut() {
            block.push_str(line);
        } else {
            top.push_str(line);
        }
    }
    for (_, block) in &mut moved {
        *block = block.trim_matches('\n').to_string();
    }
    (top, moved)
}

/// Rearranges `header`, whose items follow the text `top` (the configuration's kept
/// `after_includes`), into `sections`, placing each `moved` block after its item.
pub fn arrange(
    header: &str,
    top: &str,
    sections: &[Section],
    moved: &[(String, String)],
) -> Result<String, String> {
    let top = top.trim_end_matches('\n');
    let at = header
        .find(top)
        .ok_or("the after_includes text is missing from cbindgen's output")?
        + top.len();
    let (prelude, body) = header.split_at(at);
    let body: String = body
        .lines()
        .filter(|l| !CPP_LINES.contains(&l.trim_end()))
        .map(|l| format!("{l}\n"))
        .collect();
    let mut blocks: HashMap<String, String> = HashMap::new();
    for block in body.split("\n\n") {
        let block = block.trim_matches('\n');
        if block.is_empty() {
            continue;
        }
        let name = block_name(block).ok_or_else(|| format!("no name in block:\n{block}"))?;
        if blocks.insert(name.clone(), add_brief(block)).is_some() {
            return Err(format!("{name} is declared twice"));
        }
    }
    for (name, block) in moved {
        let b = blocks.get_mut(name).ok_or_else(|| {
            format!("after_includes places a block after {name}, which is not in the header")
        })?;
        b.push_str("\n\n");
        b.push_str(block);
    }
    let mut out = String::from(prelude.trim_end_matches('\n'));
    out.push_str("\n\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n");
    for s in sections {
        let present: Vec<&String> = s.items.iter().filter(|n| blocks.contains_key(*n)).collect();
        if present.is_empty() {
            continue;
        }
        out.push('\n');
        out.push_str(&heading(&s.doc));
        for name in present {
            out.push('\n');
            out.push_str(&blocks.remove(name).unwrap_or_default());
            out.push('\n');
        }
    }
    if !blocks.is_empty() {
        let mut names: Vec<_> = blocks.into_keys().collect();
        names.sort();
        return Err(format!(
            "items in the header but in no module of src/capi/: {}",
            names.join(", ")
        ));
    }
    out.push_str("\n#ifdef __cplusplus\n}  /* extern \"C\" */\n#endif\n\n#endif  /* XBUF_H */\n");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_module_s_items_in_source_order_without_ignored_ones() {
        let src = "//! Errors.\n//!\n//! More.\n\nuse x;\n\n/// A.\npub const XBUF_A: c_int = 1;\n\
                   /// Not in C.\n/// cbindgen:ignore\npub const XBUF_B: c_int = 2;\n\
                   #[no_mangle]\npub unsafe extern \"C\" fn xbuf_f(a: c_int) -> c_int {\n}\n\
                   #[repr(C)]\npub struct xbuf_s {\n}\npub(crate) fn helper() {}\n\
                   pub type xbuf_t = Option<()>;\n";
        let s = parse_module(src);
        assert_eq!(s.doc, ["Errors.", "", "More."]);
        assert_eq!(s.items, ["XBUF_A", "xbuf_f", "xbuf_s", "xbuf_t"]);
        assert_eq!(
            module_order("pub mod b;\nmod c;\npub mod a;\npub use a::*;\n"),
            ["b", "a"]
        );
    }

    #[test]
    fn blocks_are_named_by_what_they_declare() {
        assert_eq!(
            block_name("/** A. */\n#define XBUF_A 1").as_deref(),
            Some("XBUF_A")
        );
        assert_eq!(
            block_name("/**\n * S.\n */\ntypedef struct xbuf_s {\n    int a;\n} xbuf_s;")
                .as_deref(),
            Some("xbuf_s")
        );
        assert_eq!(
            block_name("typedef int (*xbuf_p)(struct xbuf_object *obj);").as_deref(),
            Some("xbuf_p")
        );
        assert_eq!(
            block_name("/** F. */\nconst char *xbuf_f(int a, int (*cb)(void));").as_deref(),
            Some("xbuf_f")
        );
    }

    #[test]
    fn items_go_to_their_sections_and_moved_blocks_follow_their_item() {
        let top = "#define XBUF_V 1\n/* xbuf-gen-header: after xbuf_s */\n#define XBUF_M 2\n";
        let (kept, moved) = split_after_includes(top);
        assert_eq!(kept, "#define XBUF_V 1\n");
        assert_eq!(
            moved,
            [("xbuf_s".to_string(), "#define XBUF_M 2".to_string())]
        );
        let header = "#ifndef XBUF_H\n#define XBUF_V 1\n\n#define XBUF_A 1\n\n\
                      typedef struct xbuf_s {\n    int a;\n} xbuf_s;\n\n\
                      #ifdef __cplusplus\nextern \"C\" {\n#endif // __cplusplus\n\n\
                      int xbuf_f(void);\n\nint xbuf_g(void);\n\n\
                      #ifdef __cplusplus\n}  // extern \"C\"\n#endif  // __cplusplus\n\n\
                      #endif  /* XBUF_H */\n";
        let sections = [
            Section {
                doc: vec!["First.".into()],
                items: vec!["xbuf_g".into(), "XBUF_A".into()],
            },
            Section {
                doc: vec!["Second.".into()],
                items: vec!["xbuf_s".into(), "xbuf_f".into()],
            },
        ];
        let out = arrange(header, &kept, &sections, &moved).unwrap();
        let order: Vec<usize> = [
            "First.", "xbuf_g", "XBUF_A", "Second.", "xbuf_s {", "XBUF_M", "xbuf_f",
        ]
        .iter()
        .map(|s| out.find(s).unwrap())
        .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{out}");
        assert!(out.ends_with("#endif  /* XBUF_H */\n"));
        assert_eq!(
            add_brief("/** One. */\n#define XBUF_A 1"),
            "/** \\brief One. */\n#define XBUF_A 1"
        );
        assert_eq!(
            add_brief("/**\n * One.\n *\n * More.\n */\nint xbuf_f(void);"),
            "/**\n * \\brief One.\n *\n * More.\n */\nint xbuf_f(void);"
        );
        assert_eq!(
            add_brief("/**\n * One.\n */\n#define XBUF_A 1"),
            "/**\n * \\brief One.\n */\n#define XBUF_A 1"
        );
        let long = "/**\n * One\n * two.\n */\nint xbuf_f(void);";
        assert_eq!(add_brief(long), long);
        let lost = Section {
            doc: vec![],
            items: vec!["xbuf_g".into()],
        };
        let e = arrange(header, &kept, &[lost], &moved).unwrap_err();
        assert!(e.contains("XBUF_A, xbuf_f, xbuf_s"), "{e}");
    }
}
