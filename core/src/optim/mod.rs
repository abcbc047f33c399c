//! Optimizer building blocks shared by the optimizer plugins (which register
//! them under their names): torch-exact AdamW, used by `adamw` (f32) and
//! `adamw-bf16` (f32 masters, bf16 compute copies).

pub mod adamw;
