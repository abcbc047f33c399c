//! `sovits --spec F infer --ckpt DIR --data DIR --item ID [--refer ID] --out FILE.wav`:
//! synthesises one dataset item's semantic ids and phonemes in the voice of a
//! reference item (itself by default) and writes a 16-bit wav.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use mlx_rs::Array;
use sovits_core::data::dataset::Dataset;
use sovits_core::data::layout::Folder;
use sovits_core::data::npy;
use sovits_core::nn::noise::SeededNoise;
use sovits_core::nn::torch_layout::read_safetensors;
use sovits_core::{InferInput, Spec, registry};

/// Arguments of `infer`.
#[derive(Debug, clap::Args)]
pub struct InferArgs {
    /// Checkpoint directory (G.safetensors), a directory made by `sovits import`,
    /// or a GPT-SoVITS s2G `.pth` (inference weights lack `enc_q.*`, which inference does not use).
    #[arg(long)]
    pub ckpt: PathBuf,
    /// Dataset holding the item to speak.
    #[arg(long)]
    pub data: PathBuf,
    /// Id of the item whose semantic ids and phonemes are spoken.
    #[arg(long)]
    pub item: String,
    /// Id of the item whose spectrogram gives the voice (default: --item).
    #[arg(long)]
    pub refer: Option<String>,
    /// Prior noise scale (GPT-SoVITS default 0.5).
    #[arg(long, default_value_t = 0.5)]
    pub noise_scale: f32,
    /// Output wav file.
    #[arg(long)]
    pub out: PathBuf,
}

fn index_of(ds: &Dataset, id: &str) -> Result<usize> {
    ds.items().iter().position(|i| i.id == id).with_context(|| {
        let known: Vec<&str> = ds.items().iter().take(5).map(|i| i.id.as_str()).collect();
        format!("no item `{id}` in {} (first ids: {})", ds.dir().display(), known.join(", "))
    })
}

/// Runs `infer`.
pub fn run_infer(spec: &Spec, args: &InferArgs) -> Result<()> {
    let ds = Dataset::open(&args.data, &spec.data, spec.trainer.segment_size, true)?;
    let item_index = index_of(&ds, &args.item)?;
    let item = ds.read(item_index)?;
    let refer = ds.read(index_of(&ds, args.refer.as_deref().unwrap_or(&args.item))?)?;
    // a dataset with ssl/ trains on the features; inference speaks its semantic_ids/ when present
    let sem_file = Folder::SemanticIds.file(ds.dir(), &ds.items()[item_index].stem);
    let semantic = match item.semantic.clone() {
        Some(s) => s,
        None if sem_file.is_file() => npy::read_i32(&sem_file)?.1,
        None => bail!("item `{}` has SSL features but no semantic ids ({} is missing); inference needs semantic ids", args.item, sem_file.display()),
    };
    let mut generator = registry::build_generator(&spec.generator, "generator", &spec.build_context())?;
    let weights = if args.ckpt.extension().is_some_and(|e| e == "pth") {
        sovits_interop::import_pth(&args.ckpt).with_context(|| format!("reading {}", args.ckpt.display()))?.weights
    } else {
        read_safetensors(&args.ckpt.join("G.safetensors"))?
    };
    sovits_interop::load_inference_weights(&mut *generator, &weights).with_context(|| format!("loading {}", args.ckpt.display()))?;
    generator.set_training(false);
    let f = 1025;
    let refer_spec = Array::from_slice(&refer.spec, &[f, refer.frames as i32]).transpose_axes(&[1, 0])?.reshape(&[1, refer.frames as i32, f])?;
    let input = InferInput {
        semantic: Array::from_slice(&semantic, &[1, semantic.len() as i32]),
        text: Array::from_slice(&item.text, &[1, item.text.len() as i32]),
        text_lengths: Array::from_slice(&[item.text.len() as i32], &[1]),
        refer: refer_spec,
        refer_lengths: Array::from_slice(&[refer.frames as i32], &[1]),
        noise_scale: args.noise_scale,
        speed: 1.0,
        // v2Pro/v2ProPlus: the refer item's speaker-verification embedding (sv/).
        sv: refer.sv.as_ref().map(|v| Array::from_slice(v, &[1, v.len() as i32])),
    };
    let mut noise = SeededNoise::new(spec.trainer.seed)?;
    let audio = generator.infer(&input, &mut noise)?.reshape(&[-1])?;
    audio.eval()?;
    let samples = audio.as_slice::<f32>();
    let wav = hound::WavSpec { channels: 1, sample_rate: spec.data.sampling_rate as u32, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut writer = hound::WavWriter::create(&args.out, wav).with_context(|| format!("creating {}", args.out.display()))?;
    for s in samples {
        writer.write_sample((s.clamp(-1.0, 1.0) * 32767.0) as i16)?;
    }
    writer.finalize()?;
    println!("wrote {} ({:.2} s) to {}", args.item, samples.len() as f32 / spec.data.sampling_rate as f32, args.out.display());
    Ok(())
}
