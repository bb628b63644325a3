//! Retrieval evaluation: nDCG@k, Recall@k and MRR@k over a question set with
//! judged relevant chunks.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Judgement {
    /// `stage-slug/lesson-slug`.
    pub lesson: String,
    /// The exact heading whose section answers the question.
    pub heading: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Question {
    pub id: String,
    pub question: String,
    pub relevant: Vec<Judgement>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Scores {
    pub ndcg: f64,
    pub recall: f64,
    pub mrr: f64,
}

/// Scores one ranking (chunk keys, best first) against the relevant keys.
pub fn score(ranked: &[String], relevant: &[String], k: usize) -> Scores {
    if relevant.is_empty() {
        return Scores::default();
    }
    let top = &ranked[..ranked.len().min(k)];
    let mut dcg = 0.0;
    let mut hits = 0usize;
    let mut mrr = 0.0;
    for (i, id) in top.iter().enumerate() {
        if relevant.contains(id) {
            dcg += 1.0 / ((i + 2) as f64).log2();
            hits += 1;
            if mrr == 0.0 {
                mrr = 1.0 / (i + 1) as f64;
            }
        }
    }
    let ideal: f64 = (0..relevant.len().min(k))
        .map(|i| 1.0 / ((i + 2) as f64).log2())
        .sum();
    Scores {
        ndcg: if ideal > 0.0 { dcg / ideal } else { 0.0 },
        recall: hits as f64 / relevant.len() as f64,
        mrr,
    }
}

/// Averages per-question scores.
pub fn mean(all: &[Scores]) -> Scores {
    if all.is_empty() {
        return Scores::default();
    }
    let n = all.len() as f64;
    Scores {
        ndcg: all.iter().map(|s| s.ndcg).sum::<f64>() / n,
        recall: all.iter().map(|s| s.recall).sum::<f64>() / n,
        mrr: all.iter().map(|s| s.mrr).sum::<f64>() / n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn metrics_match_hand_computation() {
        let s = score(&ids(&["x", "a", "y", "b"]), &ids(&["a", "b"]), 10);
        let dcg = 1.0 / 3f64.log2() + 1.0 / 5f64.log2();
        let idcg = 1.0 + 1.0 / 3f64.log2();
        assert!((s.ndcg - dcg / idcg).abs() < 1e-9);
        assert_eq!(s.recall, 1.0);
        assert_eq!(s.mrr, 0.5);
        let none = score(&ids(&["x"]), &ids(&["a"]), 10);
        assert_eq!(
            none,
            Scores {
                ndcg: 0.0,
                recall: 0.0,
                mrr: 0.0
            }
        );
        let cut = score(&ids(&["x", "a"]), &ids(&["a"]), 1);
        assert_eq!(cut.recall, 0.0, "only the top k count");
    }
}
