//! GPT-SoVITS v2Pro / v2ProPlus from the CLI on a tiny tone corpus with a
//! (synthetic) `sv/` folder: one training step of each variant, `infer` with
//! the refer item's sv embedding, and the errors a Pro model gives without
//! `sv/` or with a malformed sv file. The generator is the tiny spec switched
//! to each version (its MRTE 16 wide against gin 32, as v2Pro's 512 vs 1024;
//! v2ProPlus with the kernel sizes [20, 16, 8, 2, 2]); the discriminator keeps
//! the two periods v2Pro adds (17, 23) to stay cheap.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sovits_core::data::Folder;
use sovits_core::{Spec, registry};
use sovits_test_support::train_fixtures::{write_sv_folder, write_tone_corpus};

fn tiny() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/tiny.json")
}

const SETS: [&str; 5] = [
    r#"discriminators=[{"name":"mpd","params":{"periods":[17,23]}}]"#,
    "trainer.segment_size=2560",
    "trainer.batch_size=2",
    "trainer.checkpoint_every=1",
    "generator.params.mrte_hidden=16",
];

fn variant(version: &str) -> Vec<String> {
    let mut sets: Vec<String> = SETS.iter().map(|s| s.to_string()).collect();
    sets.push(format!("generator.params.version=\"{version}\""));
    if version == "v2ProPlus" {
        sets.push("generator.params.upsample_kernel_sizes=[20,16,8,2,2]".into());
        sets.push("generator.params.upsample_initial_channel=48".into());
    }
    sets
}

fn sovits(sets: &[String], args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sovits"));
    for s in sets {
        cmd.arg("--set").arg(s);
    }
    cmd.arg("--spec").arg(tiny());
    cmd.args(args).output().expect("run sovits")
}

fn ok(out: Output, what: &str) -> String {
    let text = format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{what} failed:\n{text}");
    text
}

fn corpus(dir: &Path, with_sv: bool) -> PathBuf {
    sovits_plugins::link_all();
    let spec = Spec::load(&tiny(), &[]).expect("tiny spec");
    let frontend = registry::build_frontend(&spec.frontend, "frontend", &spec.build_context()).expect("frontend");
    let data = dir.join(if with_sv { "data_sv" } else { "data" });
    let meta = write_tone_corpus(&data, 2, 32, &*frontend);
    if with_sv {
        write_sv_folder(&data, &meta);
    }
    data
}

#[test]
fn one_training_step_and_infer_of_each_pro_variant() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = corpus(dir.path(), true);
    let d = data.to_str().expect("utf-8");
    for version in ["v2Pro", "v2ProPlus"] {
        let sets = variant(version);
        let run = dir.path().join(version);
        let r = run.to_str().expect("utf-8");
        ok(sovits(&sets, &["train", "--data", d, "--out", r, "--steps", "1"]), &format!("{version} train"));
        let metrics = std::fs::read_to_string(run.join("metrics.jsonl")).expect("metrics.jsonl");
        let step: serde_json::Value = metrics
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|v| v.get("step").and_then(|s| s.as_u64()) == Some(1))
            .unwrap_or_else(|| panic!("{version}: no step-1 row in {metrics}"));
        let losses: Vec<f64> = step.as_object().expect("row").iter().filter(|(k, _)| k.starts_with("g/") || k.starts_with("d/")).filter_map(|(_, v)| v.as_f64()).collect();
        assert!(losses.len() >= 2 && losses.iter().all(|v| v.is_finite()), "{version}: {step}");
        let ckpt = sovits_core::train::checkpoint::latest(&run).expect("checkpoint");
        let g = sovits_core::nn::read_safetensors(&ckpt.join("G.safetensors")).expect("G");
        assert_eq!(g["sv_emb.weight"].shape(), &[32, 20480], "{version}");
        assert_eq!(g["ge_to512.weight"].shape(), &[16, 32], "{version}");
        assert_eq!(g["prelu.weight"].shape(), &[32], "{version}");
        let d_keys = sovits_core::nn::read_safetensors(&ckpt.join("D.safetensors")).expect("D");
        assert!(d_keys.keys().any(|k| k.starts_with("discriminators.2.")), "{version}: two period discriminators");
        let wav = dir.path().join(format!("{version}.wav"));
        let c = ckpt.to_str().expect("utf-8");
        ok(sovits(&sets, &["infer", "--ckpt", c, "--data", d, "--item", "tone_00", "--refer", "tone_01", "--out", wav.to_str().expect("utf-8")]), "infer");
        assert!(hound::WavReader::open(&wav).expect("wav").duration() > 16000);
        // Export writes my_save2's version tag over `PK`; import restores it.
        let pth = dir.path().join(format!("{version}.pth"));
        ok(sovits(&sets, &["export", "--ckpt", c, "--out", pth.to_str().expect("utf-8"), "--format", "gpt-sovits"]), "export");
        let head = std::fs::read(&pth).expect("pth")[..2].to_vec();
        assert_eq!(head, if version == "v2Pro" { b"05" } else { b"06" }, "{version}: header");
        let imported = dir.path().join(format!("{version}-imported"));
        ok(sovits(&sets, &["import", "--pth", pth.to_str().expect("utf-8"), "--out", imported.to_str().expect("utf-8")]), "import");
        let back = sovits_core::nn::read_safetensors(&imported.join("G.safetensors")).expect("imported G");
        let want: Vec<&String> = g.keys().filter(|k| !k.contains("enc_q")).collect();
        assert_eq!(back.keys().collect::<Vec<_>>(), want, "{version}: imported keys");
    }
}

#[test]
fn pro_model_needs_sv_and_bad_sv_files_are_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = corpus(dir.path(), false);
    let run = dir.path().join("run");
    let out = sovits(&variant("v2Pro"), &["train", "--data", data.to_str().expect("utf-8"), "--out", run.to_str().expect("utf-8"), "--steps", "1"]);
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && text.contains("sv/"), "{text}");

    let data = corpus(dir.path(), true);
    let bad = Folder::Sv.file(&data, "tone_01");
    sovits_core::data::npy::write_f32(&bad, &[1, 20480], &vec![0.0; 20480]).expect("write");
    let out = sovits(&variant("v2Pro"), &["data", "check", data.to_str().expect("utf-8")]);
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("sv/tone_01.npy") && text.contains("[20480]"), "{text}");
}
