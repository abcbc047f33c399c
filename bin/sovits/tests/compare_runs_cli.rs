//! `sovits compare-runs` on hand-made metrics files whose window means,
//! gaps and spreads are known in closed form, plus its overlay PNG.

use std::path::Path;
use std::process::Command;

/// Writes `metrics.jsonl` into `dir` with `mel(step)` and a constant `d/total`.
fn write_run(dir: &Path, steps: u64, mel: impl Fn(u64) -> f64, d_total: f64) {
    std::fs::create_dir_all(dir).expect("run dir");
    let lines: Vec<String> = (1..=steps)
        .map(|s| format!(r#"{{"step":{s},"epoch":0,"lr":0.0001,"g/mel-l1":{},"d/total":{d_total},"seconds":1.0,"items":["a","b"]}}"#, mel(s)))
        .collect();
    std::fs::write(dir.join("metrics.jsonl"), lines.join("\n") + "\n").expect("metrics");
}

fn compare(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_sovits")).arg("compare-runs").args(args).output().expect("run sovits");
    assert!(out.status.success(), "compare-runs failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn window_means_gaps_spread_and_plot() {
    let tmp = tempfile::tempdir().expect("tmp");
    let p = |n: &str| tmp.path().join(n);
    // side A: mel 2.0 and 2.2 over the window; side B: 2.0 and 3.0 (B ends later: the window is the common end)
    write_run(&p("a1"), 40, |s| if s > 20 { 2.0 } else { 9.0 }, 1.0);
    write_run(&p("a2"), 40, |s| if s > 20 { 2.2 } else { 9.0 }, 1.0);
    write_run(&p("b1"), 40, |s| if s > 20 { 2.0 } else { 5.0 }, 2.0);
    write_run(&p("b2"), 50, |s| if s > 20 { 3.0 } else { 5.0 }, 2.0);
    let png = p("overlay.png");
    let s = |x: &Path| x.to_str().expect("utf-8 path").to_string();
    let text = compare(&[
        &s(&p("a1")), &s(&p("a2")), "--vs", &s(&p("b1")), &s(&p("b2")),
        "--metrics", "g/mel-l1,d/total", "--window", "20", "--chunk", "20", "--plot", &s(&png),
    ]);
    println!("{text}");
    assert!(text.contains("steps 21-40"), "window is the last 20 common steps:\n{text}");
    // A mean 2.1, B mean 2.5: gap -16.00%; A's spread 0.2/2.1 = 9.52%, B's 1.0/2.5 = 40.00%; 2.1 is inside [2.0, 3.0]
    let mel = text.lines().find(|l| l.starts_with("| g/mel-l1 |")).expect("mel row");
    for want in ["| 2.1000 |", "| 2.5000 |", "9.52% (2.0000-2.2000)", "40.00% (2.0000-3.0000)", "-16.00%", "| yes |"] {
        assert!(mel.contains(want), "mel row lacks `{want}`: {mel}");
    }
    let d = text.lines().find(|l| l.starts_with("| d/total |")).expect("d row");
    assert!(d.contains("-50.00%") && d.ends_with("| no |"), "d row: {d}");
    // chunk 1-20: A 9.0 vs B 5.0 = +80%
    assert!(text.lines().any(|l| l.starts_with("| 1-20 | +80.00%")), "chunk table:\n{text}");
    let bytes = std::fs::read(&png).expect("png written");
    assert!(bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000, "not a drawn PNG ({} bytes)", bytes.len());

    // two positional runs: one against the other
    let text = compare(&[&s(&p("a1")), &s(&p("b1")), "--metrics", "g/mel-l1", "--window", "20"]);
    assert!(text.lines().any(|l| l.starts_with("| g/mel-l1 | 2.0000") && l.contains("+0.00%")), "{text}");
}
