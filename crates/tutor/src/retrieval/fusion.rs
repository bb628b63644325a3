//! Reciprocal rank fusion: score(d) = Σ 1 / (k + rank(d)), ranks from 1.

use std::collections::HashMap;

pub const K: f32 = 60.0;

/// Fuses ranked lists of ids, best first.
pub fn rrf(lists: &[Vec<String>]) -> Vec<(String, f32)> {
    let mut scores: HashMap<&str, f32> = HashMap::new();
    let mut first_seen: HashMap<&str, usize> = HashMap::new();
    let mut order = 0;
    for list in lists {
        for (rank, id) in list.iter().enumerate() {
            *scores.entry(id).or_default() += 1.0 / (K + rank as f32 + 1.0);
            first_seen.entry(id).or_insert_with(|| {
                order += 1;
                order
            });
        }
    }
    let mut out: Vec<(String, f32)> = scores
        .into_iter()
        .map(|(id, s)| (id.to_string(), s))
        .collect();
    out.sort_by(|a, b| {
        b.1.total_cmp(&a.1)
            .then_with(|| first_seen[a.0.as_str()].cmp(&first_seen[b.0.as_str()]))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn agreement_wins() {
        let fused = rrf(&[ids(&["a", "b", "c"]), ids(&["b", "d", "a"])]);
        assert_eq!(fused[0].0, "b", "ranked 2nd and 1st beats 1st and 3rd");
        assert_eq!(fused[1].0, "a");
        assert!((fused[0].1 - (1.0 / 62.0 + 1.0 / 61.0)).abs() < 1e-6);
        assert_eq!(fused.len(), 4);
    }
}
