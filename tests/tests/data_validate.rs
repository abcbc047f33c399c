//! Validation: each kind of bad input (one generated fixture per kind) gives its
//! specific error text, all problems land in one report, and nothing is dropped
//! without being counted.

use std::path::Path;

use sovits_core::data::metadata::Metadata;
use sovits_core::data::{npy, Dataset, Folder, Report};
use sovits_core::spec::DataSpec;
use sovits_test_support::data_fixtures::{varied_items, write_corpus, FixtureItem, HOP};

const SEGMENT: usize = 8 * HOP;

fn spec() -> DataSpec {
    DataSpec::default()
}

/// A clean 4-item corpus (with ssl unless `ssl` is false), then `corrupt` applied.
fn corpus(ssl: bool, corrupt: impl FnOnce(&Path)) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    write_corpus(dir.path(), &varied_items(4), ssl);
    corrupt(dir.path());
    dir
}

fn check(dir: &Path) -> Report {
    Dataset::check(dir, &spec(), SEGMENT).expect("check runs")
}

/// Asserts the report has exactly one problem, on `file`, whose text contains `want`.
fn one_problem(report: &Report, file: &str, want: &str) {
    let text = report.to_string();
    assert_eq!(report.problems.len(), 1, "expected one problem:\n{text}");
    let p = report.problems[0].to_string();
    assert!(p.contains(file), "problem names `{file}`: {p}");
    assert!(p.contains(want), "problem says `{want}`: {p}");
    assert!(text.contains(&p), "the report lists it:\n{text}");
    assert_eq!(report.bad_items.len(), 1);
    assert_eq!(report.usable() + report.bad_items.len(), report.items);
}

fn f(dir: &Path, folder: Folder, stem: &str) -> std::path::PathBuf {
    folder.file(dir, stem)
}

#[test]
fn clean_corpus_has_no_problems() {
    let d = corpus(true, |_| {});
    let r = check(d.path());
    assert!(r.is_ok(), "{r}");
    assert_eq!((r.items, r.usable(), r.skipped), (4, 4, 0));
    assert!(r.to_string().starts_with(&format!("dataset {}: 4 items, 4 usable, 0 bad (0 problems), 0 warnings", d.path().display())));
}

#[test]
fn missing_file() {
    let d = corpus(true, |p| std::fs::remove_file(f(p, Folder::Spec, "item_01")).unwrap());
    one_problem(&check(d.path()), "spec/item_01.npy", "missing file: expected spec/item_01.npy, found no such file");
}

#[test]
fn extra_file_is_a_counted_warning() {
    let d = corpus(true, |p| npy::write_f32(&f(p, Folder::Audio, "stray"), &[3], &[0.0; 3]).unwrap());
    let r = check(d.path());
    assert!(r.is_ok(), "{r}");
    assert_eq!(r.warnings.len(), 1);
    let w = r.warnings[0].to_string();
    assert!(w.contains("audio/stray.npy: extra file: expected a metadata.json item with this stem"), "{w}");
    assert_eq!(r.counts().get("extra file"), Some(&1));
}

#[test]
fn wrong_dtype() {
    let d = corpus(true, |p| {
        let n = 40 * HOP + 17;
        npy::write_f64(&f(p, Folder::Audio, "item_00"), &[n], &vec![0.1; n]).unwrap()
    });
    one_problem(&check(d.path()), "audio/item_00.npy", "dtype: expected <f4 (float32), found <f8");
}

#[test]
fn phoneme_ids_in_int64_are_a_dtype_error() {
    let d = corpus(true, |p| npy::write_i64(&f(p, Folder::PhonemeIds, "item_02"), &[13], &[5; 13]).unwrap());
    one_problem(&check(d.path()), "phoneme_ids/item_02.npy", "dtype: expected <i4 (int32), found <i8");
}

#[test]
fn wrong_rank() {
    let d = corpus(true, |p| npy::write_f32(&f(p, Folder::Spec, "item_03"), &[1025 * 4], &vec![0.0; 1025 * 4]).unwrap());
    one_problem(&check(d.path()), "spec/item_03.npy", "shape: expected rank 2 [1025, T], found [4100]");
}

#[test]
fn wrong_channel_count() {
    let d = corpus(true, |p| npy::write_f32(&f(p, Folder::Ssl, "item_00"), &[769, 40], &vec![0.0; 769 * 40]).unwrap());
    one_problem(&check(d.path()), "ssl/item_00.npy", "shape: expected [768, T] (HuBERT features), found [769, 40]");
}

#[test]
fn phoneme_id_out_of_table() {
    let d = corpus(true, |p| npy::write_i32(&f(p, Folder::PhonemeIds, "item_01"), &[4], &[3, 9, 732, 800]).unwrap());
    // The metadata count (22) no longer matches 4 either: fix it so only the id is wrong.
    let mut m = Metadata::load(d.path()).unwrap();
    m.items[1].phonemes = Some(4);
    m.save(d.path()).unwrap();
    one_problem(
        &check(d.path()),
        "phoneme_ids/item_01.npy",
        "phoneme id: expected 0 <= id < 732 (GPT-SoVITS v2 symbol table), found 732 at index 2 (2 out of range)",
    );
}

#[test]
fn spec_frames_disagree_with_audio() {
    // item_00 has 40 frames of audio (25617 samples); a 39-frame spec is wrong.
    let d = corpus(true, |p| npy::write_f32(&f(p, Folder::Spec, "item_00"), &[1025, 39], &vec![0.0; 1025 * 39]).unwrap());
    let r = check(d.path());
    let text = r.to_string();
    assert!(text.contains("spec/item_00.npy: spec frames: expected 40 (= 25617 samples // 640), found 39"), "{text}");
    // The metadata's frame count disagrees too: both are reported, one bad item.
    assert!(text.contains("metadata.json: metadata frames: expected 39 (from spec/item_00.npy), found 40 for item `item_00`"), "{text}");
    assert_eq!(r.bad_items, vec!["item_00".to_string()]);
}

#[test]
fn ssl_frames_off_by_three() {
    let d = corpus(true, |p| npy::write_f32(&f(p, Folder::Ssl, "item_00"), &[768, 37], &vec![0.0; 768 * 37]).unwrap());
    one_problem(&check(d.path()), "ssl/item_00.npy", "ssl frames: expected |ssl frames - 40| < 3 (40 = 25617 samples // 640), found 37");
}

#[test]
fn ssl_two_short_is_accepted() {
    let d = corpus(true, |p| npy::write_f32(&f(p, Folder::Ssl, "item_00"), &[768, 38], &vec![0.0; 768 * 38]).unwrap());
    assert!(check(d.path()).is_ok());
}

#[test]
fn semantic_length_at_half_rate() {
    // Without ssl/, semantic ids are the input: 40 frames need 19..=21 ids.
    let d = corpus(false, |p| npy::write_i32(&f(p, Folder::SemanticIds, "item_00"), &[40], &[1; 40]).unwrap());
    one_problem(&check(d.path()), "semantic_ids/item_00.npy", "semantic length: expected 19..=21 (ssl frames // 2 with |ssl - 40| < 3), found 40");
}

#[test]
fn semantic_ids_required_without_ssl() {
    let d = corpus(false, |p| std::fs::remove_file(f(p, Folder::SemanticIds, "item_02")).unwrap());
    one_problem(&check(d.path()), "semantic_ids/item_02.npy", "missing file");
}

#[test]
fn semantic_id_beyond_codebook() {
    let d = corpus(false, |p| npy::write_i32(&f(p, Folder::SemanticIds, "item_00"), &[20], &[1024; 20]).unwrap());
    one_problem(&check(d.path()), "semantic_ids/item_00.npy", "semantic id: expected 0 <= id < 1024 (codebook size), found 1024 at index 0 (20 out of range)");
}

#[test]
fn nan_and_inf() {
    let d = corpus(true, |p| {
        let mut v = vec![0.5f32; 1025 * 40];
        v[7] = f32::NAN;
        v[9] = f32::INFINITY;
        npy::write_f32(&f(p, Folder::Spec, "item_00"), &[1025, 40], &v).unwrap()
    });
    one_problem(&check(d.path()), "spec/item_00.npy", "non-finite value: expected finite values, found NaN at index 7 (2 non-finite)");
}

#[test]
fn clip_too_short() {
    let dir = tempfile::tempdir().unwrap();
    // 15 frames = 0.3 s: below the reference's 0.6 s.
    write_corpus(dir.path(), &[FixtureItem::new("a", 40), FixtureItem::new("short", 15)], true);
    one_problem(&check(dir.path()), "audio/short.npy", "duration: expected 0.6 s < duration < 54 s, found 0.301 s (9617 samples at 32000 Hz)");
}

#[test]
fn clip_too_long() {
    let dir = tempfile::tempdir().unwrap();
    // 2720 frames = 54.4 s.
    write_corpus(dir.path(), &[FixtureItem::new("a", 40), FixtureItem::new("long", 2720)], true);
    one_problem(&check(dir.path()), "audio/long.npy", "duration: expected 0.6 s < duration < 54 s, found 54.401 s");
}

#[test]
fn clip_shorter_than_segment() {
    let d = corpus(true, |_| {});
    // With a 64-frame segment, the 40-frame item_00 is too short (the reference
    // sampler drops items with <= segment frames).
    let r = Dataset::check(d.path(), &spec(), 64 * HOP).unwrap();
    let text = r.to_string();
    assert!(text.contains("spec/item_00.npy: segment: expected more than 64 frames (segment 40960 samples / 640), found 40 frames"), "{text}");
}

#[test]
fn metadata_lengths_disagree() {
    let d = corpus(true, |_| {});
    let mut m = Metadata::load(d.path()).unwrap();
    m.items[3].samples = Some(1);
    m.save(d.path()).unwrap();
    one_problem(&check(d.path()), "metadata.json", "metadata samples: expected");
}

#[test]
fn duplicate_ids() {
    let d = corpus(true, |_| {});
    let mut m = Metadata::load(d.path()).unwrap();
    m.items[1].id = "item_00".into();
    m.items[1].stem = Some("item_01".into());
    m.save(d.path()).unwrap();
    let r = check(d.path());
    assert_eq!(r.bad_items.len(), 2, "{r}");
    assert!(r.to_string().contains("duplicate id: expected unique item ids, found `item_00` more than once"), "{r}");
}

#[test]
fn bert_features_shape_checked_when_present() {
    let d = corpus(true, |p| npy::write_f32(&f(p, Folder::BertFeatures, "item_00"), &[1024, 3], &vec![0.0; 3072]).unwrap());
    one_problem(&check(d.path()), "bert_features/item_00.npy", "shape: expected [1024, 13] (one column per phoneme id), found [1024, 3]");
}

#[test]
fn metadata_errors_name_the_field() {
    let d = corpus(true, |p| std::fs::write(p.join("metadata.json"), r#"{"items": [{"speaker": "x"}]}"#).unwrap());
    let e = Dataset::check(d.path(), &spec(), SEGMENT).unwrap_err().to_string();
    assert!(e.contains("metadata.json: field `items[0]`: missing field `id`"), "{e}");
    let d = corpus(true, |p| {
        let mut m = Metadata::load(p).unwrap();
        m.sampling_rate = 16000;
        m.save(p).unwrap();
    });
    let e = Dataset::check(d.path(), &spec(), SEGMENT).unwrap_err().to_string();
    assert!(e.contains("field `sampling_rate`: expected 32000 (spec data.sampling_rate), found 16000"), "{e}");
}

#[test]
fn one_report_lists_every_problem_and_refuses() {
    let d = corpus(true, |p| {
        std::fs::remove_file(f(p, Folder::Spec, "item_01")).unwrap();
        npy::write_i32(&f(p, Folder::PhonemeIds, "item_02"), &[31], &[999; 31]).unwrap();
        let mut v = vec![0.0f32; 768 * 40];
        v[0] = f32::NAN;
        npy::write_f32(&f(p, Folder::Ssl, "item_00"), &[768, 40], &v).unwrap();
    });
    let err = Dataset::open(d.path(), &spec(), SEGMENT, false).unwrap_err().to_string();
    for want in ["dataset refused", "missing file", "phoneme id", "non-finite value", "4 items, 1 usable, 3 bad (3 problems)"] {
        assert!(err.contains(want), "`{want}` missing from:\n{err}");
    }
    // Skipping keeps the good item and counts every bad one.
    let ds = Dataset::open(d.path(), &spec(), SEGMENT, true).unwrap();
    assert_eq!(ds.len(), 1);
    assert_eq!(ds.items()[0].id, "item_03");
    assert_eq!(ds.report().skipped, 3);
    assert_eq!(ds.len() + ds.report().skipped, ds.report().items);
    assert!(ds.report().to_string().contains("skipped 3 bad items"));
}

#[test]
fn nothing_usable_is_an_error_even_when_skipping() {
    let d = corpus(true, |p| std::fs::remove_dir_all(p.join("spec")).unwrap());
    let e = Dataset::open(d.path(), &spec(), SEGMENT, true).unwrap_err().to_string();
    assert!(e.contains("no usable items: expected at least 1, found 0"), "{e}");
    assert!(e.contains("4 bad (4 problems)"), "{e}");
}
