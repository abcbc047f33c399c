//! Whole-model parity with the reference on the tiny model: the training
//! forward (`SynthesizerTrn.forward`, eval mode, with the recorded
//! `randn_like` draw of enc_q and the `rand_slice_segments` uniform injected
//! through a RecordedNoise) and inference `decode` (noise_scale 0 and 0.5).
//! Tolerances from the fixture README: ids/masks exact, prior/posterior
//! statistics atol 2e-4 + rtol 1e-4, audio atol 1e-4, KL rtol 1e-5.

mod common;

use common::{assert_close, assert_exact, cl, f32_npy, i32_npy};
use mlx_rs::Dtype;
use sovits_core::batch::VitsTrainOutput;
use sovits_core::components::Generator;
use sovits_core::nn::noise::RecordedNoise;

fn check_forward(o: &VitsTrainOutput, tag: &str) {
    assert_exact(&format!("{tag}.ids_slice"), &o.ids_slice, &i32_npy("forward.out.ids_slice"));
    assert_eq!(o.ids_slice.dtype(), Dtype::Int32);
    assert_exact(&format!("{tag}.y_mask"), &o.z_mask, &cl("forward.out.y_mask"));
    // forward.out.{m_p, logs_p, m_q, logs_q} are stored once as enc_p/enc_q outputs (same_as).
    let pairs = [
        ("z", &o.z, "forward.out.z"),
        ("z_p", &o.z_p, "forward.out.z_p"),
        ("m_p", &o.m_p, "enc_p.out.m_p"),
        ("logs_p", &o.logs_p, "enc_p.out.logs_p"),
        ("m_q", &o.m_q, "enc_q.out.m_q"),
        ("logs_q", &o.logs_q, "enc_q.out.logs_q"),
    ];
    for (name, got, file) in pairs {
        assert_close(&format!("{tag}.{name}"), got, &cl(file), 2e-4, 1e-4);
    }
    let want_o = f32_npy("forward.out.o").reshape(&[2, 20480]).unwrap();
    assert_close(&format!("{tag}.o"), &o.y_hat, &want_o, 1e-4, 0.0);
    let want_kl = f32_npy("forward.out.loss_kl").item_cast::<f32>();
    let got_kl = common::kl(o);
    println!("{tag}.loss_kl: {got_kl} vs {want_kl} (rel {:.2e})", ((got_kl - want_kl) / want_kl).abs());
    assert!(((got_kl - want_kl) / want_kl).abs() <= 1e-5, "kl {got_kl} vs {want_kl}");
    assert_eq!(o.kl_ssl.item_cast::<f32>(), f32_npy("forward.out.commit_loss").item_cast::<f32>());
}

#[test]
fn forward_train_matches_reference() {
    let mut m = common::tiny_model();
    m.set_training(false);
    let mut noise = common::fixture_noise();
    let o = m.forward_train(&common::forward_batch(true), &mut noise).unwrap();
    assert!(noise.remaining().is_empty(), "unused draws: {:?}", noise.remaining());
    check_forward(&o, "forward");
}

#[test]
fn forward_train_from_semantic_ids_matches_reference() {
    let mut m = common::tiny_model();
    m.set_training(false);
    let mut noise = common::fixture_noise();
    let o = m.forward_train(&common::forward_batch(false), &mut noise).unwrap();
    check_forward(&o, "forward(semantic)");
}

#[test]
fn decode_matches_reference() {
    let mut m = common::tiny_model();
    m.set_training(false);
    for (ns, out) in [(0.0f32, "decode.out.o_ns0"), (0.5, "decode.out.o_ns05")] {
        let input = common::decode_input(ns, 1.0);
        let mut noise = RecordedNoise::new();
        noise.push("infer.noise", cl("decode.in.noise"));
        let o = m.infer(&input, &mut noise).unwrap();
        let want = common::squeeze_first(f32_npy(out));
        assert_close(out, &o, &want, 1e-4, 0.0);
    }
}

#[test]
fn training_mode_draws_dropout_and_changes_the_output() {
    let mut m = common::tiny_model();
    m.set_training(true);
    let fallback = sovits_core::nn::noise::SeededNoise::new(7).unwrap();
    let mut noise = common::fixture_noise().with_fallback(fallback);
    let o = m.forward_train(&common::forward_batch(true), &mut noise).unwrap();
    // Dropout moves the prior; the posterior (no dropout in enc_q/flow) is
    // unchanged except through ge (ref_enc dropout), so compare m_p.
    let d = common::max_abs(&o.m_p, &cl("enc_p.out.m_p"));
    println!("train-mode m_p differs from eval by {d:.3e}");
    assert!(d > 1e-3, "dropout had no effect in training mode");
}
