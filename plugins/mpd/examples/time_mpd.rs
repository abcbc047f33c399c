//! Times one `mpd` forward+backward (generator side: lsgan + feature loss,
//! gradient w.r.t. the fake audio and every parameter) at `[B, S]`.
//!
//! `cargo run --release -p sovits-plugin-mpd --example time_mpd -- [B] [S] [reps]`

use std::time::Instant;

use mlx_rs::error::Exception;
use mlx_rs::{Array, ops};
use sovits_core::Discriminator;
use sovits_plugin_mpd::{Config, Mpd};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<i32> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let (b, s, reps) = (*args.first().unwrap_or(&1), *args.get(1).unwrap_or(&20480), *args.get(2).unwrap_or(&3));
    let mut mpd = Mpd::new(&Config::default())?;
    let y = mlx_rs::random::normal::<f32>(&[b, s], None, None, None)?;
    let y_hat = mlx_rs::random::normal::<f32>(&[b, s], None, None, None)?;
    let mut step = mlx_rs::nn::value_and_grad(|m: &mut Mpd, (y, y_hat): (Array, Array)| -> Result<Vec<Array>, Exception> {
        let o = m.forward(&y, &y_hat).map_err(|e| Exception::custom(e.to_string()))?;
        let mut total = Array::from_f32(0.0);
        for (dg, (fr, fg)) in o.y_d_fake.iter().zip(o.fmap_real.iter().zip(&o.fmap_fake)) {
            total = &total + ops::mean(&ops::square(&ops::subtract(Array::from_f32(1.0), dg)?)?, None)?;
            for (r, g) in fr.iter().zip(fg) {
                total = &total + ops::mean(&ops::abs(&ops::subtract(&mlx_rs::stop_gradient(r)?, g)?)?, None)?;
            }
        }
        Ok(vec![total])
    });
    for rep in 0..reps {
        let t = Instant::now();
        let (v, g) = step(&mut mpd, (y.clone(), y_hat.clone()))?;
        let mut outs: Vec<&Array> = g.values().collect();
        outs.push(&v[0]);
        mlx_rs::transforms::eval(outs)?;
        println!("rep {rep}: mpd fwd+bwd [{b}, {s}] {:.3} s", t.elapsed().as_secs_f64());
    }
    Ok(())
}
