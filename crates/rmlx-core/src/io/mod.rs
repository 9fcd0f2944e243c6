//! File formats. For now the small `.npy`/`.npz` reader the golden tests use; the file-format
//! issue hardens it and adds the writers, safetensors and gguf.

pub mod npy;
