//! `custom_vjp`: the hand-written backward replaces autodiff of the forward
//! (a deliberately wrong backward shows through), a correct hand-written
//! backward (the strided gather of conv_transpose1d's overlap-add) matches
//! autodiff of the plain formulation, and closure errors come back as errors.

use mlx_rs::ops::indexing::TryIndexOp;
use mlx_rs::transforms::{value_and_grad, vjp};
use mlx_rs::{Array, ops};
use sovits_core::error::Result;
use sovits_core::nn::custom_vjp::{custom_vjp, take_backward_failure};
use sovits_test_support::{values, pseudo_random};

/// f(x) = x^2 whose backward claims 3x (autodiff would give 2x).
fn wrong_square() -> sovits_core::nn::custom_vjp::CustomVjp {
    custom_vjp(
        |x: &[Array]| Ok(vec![x[0].square()?]),
        |p: &[Array], c: &[Array], _o: &[Array]| Ok(vec![p[0].multiply(&c[0])?.multiply(Array::from_f32(3.0))?]),
    )
    .unwrap()
}

#[test]
fn custom_backward_replaces_autodiff() {
    let f = wrong_square();
    let xs = [-1.5f32, 0.25, 2.0, 3.0];
    let x = Array::from_slice(&xs, &[4]);
    let y = f.call(std::slice::from_ref(&x)).unwrap();
    assert_eq!(values(&y[0]), xs.iter().map(|v| v * v).collect::<Vec<_>>());

    let mut vg = value_and_grad(move |p: &[Array]| {
        let y = f.call(p).unwrap();
        vec![ops::sum(&y[0], None).unwrap()]
    });
    let (v, g) = vg(&[x]).unwrap();
    assert!((values(&v[0])[0] - xs.iter().map(|v| v * v).sum::<f32>()).abs() < 1e-5);
    for (gi, xi) in values(&g[0]).iter().zip(xs) {
        assert!((gi - 3.0 * xi).abs() < 1e-6, "grad {gi} != 3 * {xi}");
    }
}

/// Overlap-add of conv_transpose1d_matmul: `y` `[b, t, m, s*co]` -> `[b, t+m-1, s*co]`,
/// frame `t` of tap block `j` landing on output row `t + j` (pad + sum).
fn overlap_add(y: &Array) -> Result<Array> {
    let m = y.shape()[2];
    let mut full: Option<Array> = None;
    for j in 0..m {
        let part = y.try_index((.., .., j, ..))?;
        let part = ops::pad(&part, &[(0, 0), (j, m - 1 - j), (0, 0)], None, None)?;
        full = Some(match full {
            None => part,
            Some(acc) => ops::add(&acc, &part)?,
        });
    }
    full.ok_or_else(|| mlx_rs::error::Exception::custom("m = 0").into())
}

/// The exact adjoint of [`overlap_add`]: tap block `j` of the gradient is the
/// cotangent rows `j..j+t` (a strided gather).
fn overlap_add_backward(p: &[Array], c: &[Array], _o: &[Array]) -> Result<Vec<Array>> {
    let (t, m) = (p[0].shape()[1], p[0].shape()[2]);
    let blocks: Vec<Array> = (0..m)
        .map(|j| Ok(c[0].try_index((.., j..j + t, ..))?))
        .collect::<Result<_>>()?;
    Ok(vec![ops::stack(&blocks, 2)?])
}

#[test]
fn gather_backward_matches_autodiff_of_overlap_add() {
    let (b, t, m, sco) = (2, 7, 3, 10);
    let y = Array::from_slice(&pseudo_random(b * t * m * sco, 5), &[b as i32, t as i32, m as i32, sco as i32]);
    let weight = Array::from_slice(&pseudo_random(b * (t + m - 1) * sco, 6), &[b as i32, (t + m - 1) as i32, sco as i32]);

    let f = custom_vjp(|y: &[Array]| Ok(vec![overlap_add(&y[0])?]), overlap_add_backward).unwrap();
    let w1 = weight.clone();
    let mut vg_custom = value_and_grad(move |p: &[Array]| {
        let o = f.call(p).unwrap();
        vec![ops::sum(o[0].multiply(&w1).unwrap(), None).unwrap()]
    });
    let w2 = weight.clone();
    let mut vg_plain = value_and_grad(move |p: &[Array]| {
        let o = overlap_add(&p[0]).unwrap();
        vec![ops::sum(o.multiply(&w2).unwrap(), None).unwrap()]
    });
    let (vc, gc) = vg_custom(std::slice::from_ref(&y)).unwrap();
    let (vp, gp) = vg_plain(std::slice::from_ref(&y)).unwrap();
    assert_eq!(gc[0].shape(), y.shape());
    assert!((values(&vc[0])[0] - values(&vp[0])[0]).abs() < 1e-5);
    let (hc, hp) = (values(&gc[0]), values(&gp[0]));
    assert_eq!(hc.len(), hp.len());
    let max = hc.iter().zip(&hp).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(max <= 1e-6, "custom vs autodiff gradient differ by {max}");
    assert!(hp.iter().any(|v| v.abs() > 1e-3), "gradient is degenerate");
}

#[test]
fn closure_errors_are_returned() {
    let f = custom_vjp(
        |_x: &[Array]| Err(mlx_rs::error::Exception::custom("forward says no").into()),
        |p: &[Array], _c: &[Array], _o: &[Array]| Ok(p.to_vec()),
    )
    .unwrap();
    let err = f.call(&[Array::from_f32(1.0)]).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("forward says no"), "unexpected error: {err}");

    let g = custom_vjp(
        |x: &[Array]| Ok(vec![x[0].square()?]),
        |_p: &[Array], _c: &[Array], _o: &[Array]| Err(mlx_rs::error::Exception::custom("backward says no").into()),
    )
    .unwrap();
    let r = vjp(move |p: &[Array]| g.call(p).unwrap(), &[Array::from_f32(2.0)], &[Array::from_f32(1.0)]);
    assert!(r.is_err(), "a failing backward must fail the vjp");
    let cause = take_backward_failure().map(|e| e.to_string()).unwrap_or_default();
    assert!(cause.contains("backward says no"), "unexpected cause: {cause}");
}

#[test]
fn closures_are_freed_with_the_function() {
    let token = std::rc::Rc::new(());
    let (t1, t2) = (token.clone(), token.clone());
    let f = custom_vjp(
        move |x: &[Array]| {
            let _ = &t1;
            Ok(vec![x[0].square()?])
        },
        move |p: &[Array], _c: &[Array], _o: &[Array]| {
            let _ = &t2;
            Ok(p.to_vec())
        },
    )
    .unwrap();
    let y = f.call(&[Array::from_f32(2.0)]).unwrap();
    assert_eq!(values(&y[0]), vec![4.0]);
    assert_eq!(std::rc::Rc::strong_count(&token), 3);
    drop(y);
    drop(f);
    assert_eq!(std::rc::Rc::strong_count(&token), 1, "closure payloads leaked");
}
