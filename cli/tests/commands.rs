//! Runs the `xbuf` binary on files the tests write, and checks what it prints.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const RECORD: &str = "T{<I:id:(3)<f:pos:4s:tag:}";

/// A scratch directory of this test process, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
    fn to_str(&self) -> Option<&str> {
        self.0.to_str()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch(name: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("xbuf-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    Scratch(dir)
}

fn xbuf(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xbuf"))
        .args(args)
        .output()
        .expect("run xbuf")
}

fn ok(args: &[&str]) -> String {
    let out = xbuf(args);
    assert!(
        out.status.success(),
        "xbuf {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Records `<I 3f 4s`: id, position, tag.
fn records() -> Vec<(u32, [f32; 3], &'static [u8])> {
    vec![
        (1, [0.5, 1.5, -2.0], b"ab"),
        (2, [3.25, 0.1, 1e10], b"cdef"),
        (3, [-1.0, 2.5, f32::NAN], b""),
        (40, [7.0, 8.0, 9.0], b"xyz"),
    ]
}

fn write_records(path: &Path) {
    let mut bytes = Vec::new();
    for (id, pos, tag) in records() {
        bytes.extend(id.to_le_bytes());
        for p in pos {
            bytes.extend(p.to_le_bytes());
        }
        let mut t = [0u8; 4];
        t[..tag.len()].copy_from_slice(tag);
        bytes.extend(t);
    }
    std::fs::write(path, bytes).unwrap();
}

/// A float as Python's repr writes it, for the values these tests use.
fn py(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    let s = format!("{f:?}");
    s
}

#[test]
fn show_json_is_the_records_values() {
    let dir = scratch("json");
    let file = dir.join("points.bin");
    write_records(&file);
    let got = ok(&["show", file.to_str().unwrap(), "--format", RECORD, "--json"]);
    let items: Vec<String> = records()
        .iter()
        .map(|(id, pos, tag)| {
            let pos: Vec<String> = pos.iter().map(|&p| py(p as f64)).collect();
            format!(
                r#"{{"id": {id}, "pos": [{}], "tag": "{}"}}"#,
                pos.join(", "),
                std::str::from_utf8(tag).unwrap()
            )
        })
        .collect();
    assert_eq!(got, format!("[{}]\n", items.join(", ")));
    // 0.1f32 widened to double, as struct.unpack('<f') gives it.
    assert!(got.contains("0.10000000149011612"), "{got}");
}

#[test]
fn show_json_matches_python_struct_and_json() {
    let Ok(probe) = Command::new("python3")
        .arg("-c")
        .arg("import struct, json")
        .output()
    else {
        eprintln!("python3 not found: the comparison with struct and json.dumps is skipped");
        return;
    };
    assert!(probe.status.success());
    let dir = scratch("python");
    let file = dir.join("grid.bin");
    // A 3x4 grid of doubles, some of them awkward to print.
    let values = [
        0.1,
        -0.0,
        1e16,
        1.5e-7,
        123456789.125,
        f64::INFINITY,
        -2.5,
        1e-300,
        3.0,
        0.3,
        2e22,
        -1e-5,
    ];
    let bytes: Vec<u8> = values.iter().flat_map(|v: &f64| v.to_le_bytes()).collect();
    std::fs::write(&file, bytes).unwrap();
    let script = "import json, struct, sys\n\
                  data = open(sys.argv[1], 'rb').read()\n\
                  v = [x for (x,) in struct.iter_unpack('<d', data)]\n\
                  print(json.dumps([v[0:4], v[4:8], v[8:12]]))\n\
                  print(json.dumps([[v[r * 4 + c] for r in range(3)] for c in range(4)]))";
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want = String::from_utf8(out.stdout).unwrap();
    let mut want = want.lines();
    let f = file.to_str().unwrap();
    assert_eq!(
        ok(&["show", f, "--format", "<d", "--shape", "3,4", "--json"]).trim_end(),
        want.next().unwrap()
    );
    // The same bytes read column-major as 4x3: element [r][c] of the 3x4 C grid is [c][r].
    assert_eq!(
        ok(&["show", f, "--format", "<d", "--shape", "4,3", "--order", "F", "--json"]).trim_end(),
        want.next().unwrap()
    );
}

#[test]
fn show_table_and_slices() {
    let dir = scratch("table");
    let file = dir.join("points.bin");
    write_records(&file);
    let f = file.to_str().unwrap();
    assert_eq!(
        ok(&["show", f, "--format", RECORD]),
        concat!(
            "#  id  pos                                         tag\n",
            "0   1  [0.5, 1.5, -2.0]                            \"ab\"\n",
            "1   2  [3.25, 0.10000000149011612, 10000000000.0]  \"cdef\"\n",
            "2   3  [-1.0, 2.5, NaN]                            \"\"\n",
            "3  40  [7.0, 8.0, 9.0]                             \"xyz\"\n",
        )
    );
    // A negative step: the first column keeps the file's indices.
    assert_eq!(
        ok(&[
            "show",
            f,
            "--format",
            "<I",
            "--shape",
            "4,5",
            "--slice",
            "::-2, 0:1"
        ]),
        "#  [0]\n3   40\n1    2\n"
    );
    // The 20 words of the file as a 4x5 grid of <f: rows 1 and 3, columns 1 and 2.
    assert_eq!(
        ok(&["show", f, "--format", "<f", "--shape", "4,5", "--slice", "1::2, 1:3"]),
        "#   [1]                  [2]\n1  3.25  0.10000000149011612\n3   7.0                  8.0\n"
    );
}

#[test]
fn show_head_hex_and_offset() {
    let dir = scratch("head");
    let file = dir.join("counts.bin");
    let bytes: Vec<u8> = (0u16..100).flat_map(|v| v.to_be_bytes()).collect();
    std::fs::write(&file, &bytes).unwrap();
    let f = file.to_str().unwrap();
    // Large inputs show their first 20 entries and the total.
    let out = ok(&["show", f, "--format", ">H"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 22, "{out}");
    assert_eq!(lines[1], " 0      0");
    assert_eq!(lines[20], "19     19");
    assert_eq!(
        lines[21],
        "(20 of 100 entries shown; --head N or --all for more)"
    );
    assert_eq!(
        ok(&["show", f, "--format", ">H", "--all"]).lines().count(),
        101
    );
    assert_eq!(
        ok(&["show", f, "--format", ">H", "--head", "2"]),
        "#  value\n0      0\n1      1\n(2 of 100 entries shown; --head N or --all for more)\n"
    );
    // JSON keeps stdout parseable: the note goes to stderr.
    let out = xbuf(&["show", f, "--format", ">H", "--json", "--head", "3"]);
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "[0, 1, 2]\n");
    assert!(String::from_utf8(out.stderr)
        .unwrap()
        .contains("3 of 100 entries shown"));
    // An offset skips a header; hex shows the items' bytes.
    assert_eq!(
        ok(&["show", f, "--format", ">H", "--offset", "190", "--hex"]),
        "00000000  00 5f 00 60 00 61 00 62  00 63                    |._.`.a.b.c|\n"
    );
    assert_eq!(
        ok(&["show", f, "--format", ">H", "--offset", "196", "--json"]),
        "[98, 99]\n"
    );
}

#[test]
fn stat_summarises_numeric_fields() {
    let dir = scratch("stat");
    let file = dir.join("points.bin");
    write_records(&file);
    let f = file.to_str().unwrap();
    let out = ok(&["stat", f, "--format", RECORD]);
    let mut lines = out.lines();
    assert_eq!(
        lines.next().unwrap(),
        format!("{f}: 4 items of '{RECORD}' (20 bytes each), shape [4], 80 of 80 bytes")
    );
    let rows: Vec<Vec<String>> = lines
        .map(|l| l.split_whitespace().map(String::from).collect())
        .collect();
    let row = |name: &str| {
        rows.iter()
            .find(|r| r[0] == name)
            .unwrap_or_else(|| panic!("{name}: {out}"))
            .clone()
    };
    assert_eq!(rows[0], ["field", "min", "max", "mean", "NaN"]);
    assert_eq!(row("id"), ["id", "1", "40", "11.5", "-"]);
    // Computed here from the same values, widened to f64 as the command reads them.
    let pos = |k: usize| -> Vec<f64> { records().iter().map(|r| r.1[k] as f64).collect() };
    for k in 0..3 {
        let v: Vec<f64> = pos(k).into_iter().filter(|x| !x.is_nan()).collect();
        let min = v.iter().cloned().fold(f64::INFINITY, f64::min);
        let max = v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let nan = 4 - v.len();
        let r = row(&format!("pos[{k}]"));
        assert_eq!(r[1].parse::<f64>().unwrap(), min);
        assert_eq!(r[2].parse::<f64>().unwrap(), max);
        assert_eq!(r[3].parse::<f64>().unwrap(), mean, "pos[{k}]");
        assert_eq!(r[4], nan.to_string());
    }
    assert!(
        rows.iter().all(|r| r[0] != "tag"),
        "tag is not numeric: {out}"
    );
    // Nothing numeric.
    assert!(ok(&["stat", f, "--format", "20s"]).ends_with("no numeric fields\n"));
}

#[test]
fn format_shows_the_layout() {
    assert_eq!(
        ok(&["format", RECORD]),
        concat!(
            "offset  size  field  type  shape  byte order\n",
            "     0     4  id     I            little\n",
            "     4    12  pos    f     (3)    little\n",
            "    16     4  tag    4s           little\n",
            "itemsize 20, alignment 1, padding 0, byte order mixed, canonical '<I3f4s'\n",
        )
    );
    let out = ok(&["format", "T{b:a:i:b:(2,2)h:m:}"]);
    assert!(out.contains("     1     3  (padding)\n"), "{out}");
    assert!(
        out.contains("     8     8  m          h     (2,2)  native (aligned)\n"),
        "{out}"
    );
    assert!(out.ends_with("itemsize 16, alignment 4, padding 3, byte order native (aligned), canonical '<b3xi4h'\n"), "{out}");
}

/// Every bad input: exit status 2, nothing on stdout, one line on stderr that names what was
/// asked and what was found.
#[test]
fn bad_input_is_one_line_and_status_2() {
    let dir = scratch("bad");
    let file = dir.join("points.bin");
    write_records(&file);
    let f = file.to_str().unwrap();
    let missing = dir.join("missing.bin");
    let m = missing.to_str().unwrap();
    let d = dir.to_str().unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["show", f, "--format", "T{<I"], "format 'T{<I'"),
        (vec!["show", f, "--format", "Y"], "format 'Y'"),
        (
            vec!["show", f, "--format", "3i"],
            "the item size 12 of format '3i' does not divide the 80 bytes",
        ),
        (
            vec!["show", f, "--format", "<d", "--shape", "3,4"],
            "shape '3,4' needs 12 items, the file holds 10",
        ),
        (
            vec!["show", f, "--format", "<d", "--shape", "3,x"],
            "'x' is not an extent",
        ),
        (
            vec![
                "show",
                f,
                "--format",
                "<d",
                "--shape",
                "99999999999,99999999999",
            ],
            "overflows",
        ),
        (
            vec!["show", f, "--format", "<f", "--slice", "5:30"],
            "bound 30 is out of range for dimension 0, which has 20 entries",
        ),
        (
            vec!["show", f, "--format", "<f", "--slice", "1:2, 3:4"],
            "has 2 dimensions, the items have 1",
        ),
        (
            vec!["show", f, "--format", "<f", "--slice", "1:2:0"],
            "the step must not be zero",
        ),
        (
            vec!["show", f, "--format", "<f", "--slice", "a"],
            "expected start:stop",
        ),
        (
            vec!["show", f, "--format", "<f", "--offset", "81"],
            "offset 81 is past the end",
        ),
        (
            vec!["show", f, "--format", "<f", "--shape", "2,2,5", "--table"],
            "a table shows up to 2 dimensions",
        ),
        (vec!["show", f, "--format", "0i"], "items of 0 bytes"),
        (vec!["show", m, "--format", "<f"], "No such file"),
        (vec!["show", d, "--format", "<f"], "not a regular file"),
        (vec!["stat", m, "--format", "<f"], "No such file"),
        (vec!["format", "(((("], "format '(((('"),
        (
            vec!["show", f, "--format", "<f", "--order", "X"],
            "invalid value 'X'",
        ),
        (vec!["show", f], "--format"),
        (vec!["frobnicate"], "frobnicate"),
    ];
    for (args, want) in cases {
        let out = xbuf(&args);
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            out.stdout.is_empty(),
            "{args:?} printed {:?}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(
            err.starts_with("xbuf: ") && err.ends_with('\n') && err.lines().count() == 1,
            "{args:?}: {err:?}"
        );
        assert!(
            err.contains(want),
            "{args:?}: {err:?} does not contain {want:?}"
        );
    }
    // An empty file has no items, and that is not an error.
    let empty = dir.join("empty.bin");
    std::fs::write(&empty, b"").unwrap();
    assert_eq!(
        ok(&["show", empty.to_str().unwrap(), "--format", "<d", "--json"]),
        "[]\n"
    );
}
