//! A local sentence-embedding model (all-MiniLM-L6-v2, BERT) run with candle:
//! mean pooling over the attention mask, then L2 normalisation, as
//! sentence-transformers does. Built with the `local-embeddings` feature and
//! pointed at a folder holding `config.json`, `tokenizer.json` and
//! `model.safetensors`.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::{PaddingParams, Tokenizer, TruncationParams};

use super::dense::{DenseError, Embedder};

fn err(e: impl std::fmt::Display) -> DenseError {
    DenseError(e.to_string())
}

pub struct MiniLm {
    model: BertModel,
    tokenizer: Tokenizer,
    device: Device,
}

impl MiniLm {
    pub fn load(dir: &Path) -> Result<Self, DenseError> {
        let read = |name: &str| {
            std::fs::read_to_string(dir.join(name))
                .map_err(|e| DenseError(format!("cannot read {}: {e}", dir.join(name).display())))
        };
        let config: Config = serde_json::from_str(&read("config.json")?).map_err(err)?;
        let mut tokenizer = Tokenizer::from_file(dir.join("tokenizer.json")).map_err(err)?;
        tokenizer.with_padding(Some(PaddingParams::default()));
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: 256,
                ..Default::default()
            }))
            .map_err(err)?;
        let device = Device::Cpu;
        let weights = dir.join("model.safetensors");
        // Safety: the weights file is memory-mapped read-only and not modified while in use.
        let vb = unsafe {
            VarBuilder::from_mmaped_safetensors(&[weights], DType::F32, &device).map_err(err)?
        };
        let model = BertModel::load(vb, &config).map_err(err)?;
        Ok(MiniLm {
            model,
            tokenizer,
            device,
        })
    }

    pub fn embed_blocking(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, DenseError> {
        let mut out = Vec::with_capacity(texts.len());
        for batch in texts.chunks(16) {
            let enc = self
                .tokenizer
                .encode_batch(batch.to_vec(), true)
                .map_err(err)?;
            let ids: Vec<Tensor> = enc
                .iter()
                .map(|e| Tensor::new(e.get_ids(), &self.device))
                .collect::<Result<_, _>>()
                .map_err(err)?;
            let masks: Vec<Tensor> = enc
                .iter()
                .map(|e| Tensor::new(e.get_attention_mask(), &self.device))
                .collect::<Result<_, _>>()
                .map_err(err)?;
            let ids = Tensor::stack(&ids, 0).map_err(err)?;
            let mask = Tensor::stack(&masks, 0).map_err(err)?;
            let types = ids.zeros_like().map_err(err)?;
            let hidden = self.model.forward(&ids, &types, Some(&mask)).map_err(err)?;
            let m = mask
                .to_dtype(DType::F32)
                .and_then(|m| m.unsqueeze(2))
                .map_err(err)?;
            let summed = hidden
                .broadcast_mul(&m)
                .and_then(|x| x.sum(1))
                .map_err(err)?;
            let counts = m.sum(1).map_err(err)?;
            let mean = summed.broadcast_div(&counts).map_err(err)?;
            let norm = mean
                .sqr()
                .and_then(|x| x.sum_keepdim(1))
                .and_then(|x| x.sqrt())
                .map_err(err)?;
            let unit = mean.broadcast_div(&norm).map_err(err)?;
            out.extend(unit.to_vec2::<f32>().map_err(err)?);
        }
        Ok(out)
    }
}

/// The model behind the async [`Embedder`] interface (inference runs on the blocking pool).
#[derive(Clone)]
pub struct LocalEmbedder(pub Arc<MiniLm>);

#[async_trait]
impl Embedder for LocalEmbedder {
    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, DenseError> {
        let model = self.0.clone();
        let texts = texts.to_vec();
        tokio::task::spawn_blocking(move || model.embed_blocking(&texts))
            .await
            .map_err(err)?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Needs the model: scripts/test fetches it and sets EMBEDDINGS_LOCAL_MODEL.
    #[test]
    fn similar_sentences_are_closer_than_unrelated_ones() {
        let dir = std::env::var("EMBEDDINGS_LOCAL_MODEL")
            .expect("EMBEDDINGS_LOCAL_MODEL must name the all-MiniLM-L6-v2 folder when testing with local-embeddings");
        let m = MiniLm::load(Path::new(&dir)).unwrap();
        let v = m
            .embed_blocking(&[
                "A gyroscope measures angular velocity.".into(),
                "Gyros sense how fast something rotates.".into(),
                "The bakery sells fresh bread every morning.".into(),
            ])
            .unwrap();
        assert_eq!(v[0].len(), 384);
        let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
        assert!((dot(&v[0], &v[0]) - 1.0).abs() < 1e-3, "unit length");
        assert!(
            dot(&v[0], &v[1]) > dot(&v[0], &v[2]) + 0.2,
            "{} vs {}",
            dot(&v[0], &v[1]),
            dot(&v[0], &v[2])
        );
    }
}
