//! The refusal risk of an order, from history: each component is a refusal rate smoothed toward the overall
//! rate (so three orders from one region do not make it "100% risky"), and the components combine in log-odds
//! around that prior. Every component is kept so the score can be explained on the order.

use serde::{Deserialize, Serialize};

use super::facts::Counts;

/// Pseudo-outcomes pulling a component toward the prior: a key needs about this many outcomes before its
/// own rate counts as much as the prior.
const SMOOTHING: f64 = 20.0;
/// The prior with no history at all: a typical refusal rate for cross-border COD.
const DEFAULT_PRIOR: f64 = 0.15;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RiskComponent {
    pub name: String,
    pub key: String,
    pub samples: i64,
    pub refusals: i64,
    /// The smoothed refusal rate of this key.
    pub rate: f64,
    pub weight: f64,
    /// What this component added to the log-odds of the score (negative lowers the risk).
    pub contribution: f64,
}

/// Stored with each order in a compact form (the counts behind each component); rates and contributions
/// are recomputed from them when read, so the explanation costs a few bytes per order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(into = "StoredRisk", from = "StoredRisk")]
pub struct RiskScore {
    pub score: f64,
    pub prior: f64,
    pub components: Vec<RiskComponent>,
}

/// How much each kind of evidence counts; the buyer's own history most.
pub fn weight_of(name: &str) -> f64 {
    match name {
        "buyer_phone" => 1.0,
        "region" | "sku_region" => 0.6,
        _ => 0.4,
    }
}

#[derive(Serialize, Deserialize)]
struct StoredRisk {
    s: f64,
    p: f64,
    /// (name, key, samples, refusals)
    c: Vec<(String, String, i64, i64)>,
}

impl From<RiskScore> for StoredRisk {
    fn from(r: RiskScore) -> Self {
        StoredRisk {
            s: r.score,
            p: r.prior,
            c: r.components.into_iter().map(|c| (c.name, c.key, c.samples, c.refusals)).collect(),
        }
    }
}

impl From<StoredRisk> for RiskScore {
    fn from(s: StoredRisk) -> Self {
        let base = logit(s.p);
        let components =
            s.c.into_iter()
                .map(|(name, key, samples, refusals)| {
                    let rate = (refusals as f64 + s.p * SMOOTHING) / (samples as f64 + SMOOTHING);
                    let weight = weight_of(&name);
                    RiskComponent {
                        contribution: weight * (logit(rate) - base),
                        name,
                        key,
                        samples,
                        refusals,
                        rate,
                        weight,
                    }
                })
                .collect();
        RiskScore { score: s.s, prior: s.p, components }
    }
}

/// One component's history: its name, weight, the key it was counted under and the counts.
pub struct Evidence<'a> {
    pub name: &'static str,
    pub weight: f64,
    pub key: &'a str,
    pub counts: Counts,
}

fn logit(p: f64) -> f64 {
    let p = p.clamp(1e-6, 1.0 - 1e-6);
    (p / (1.0 - p)).ln()
}

/// The score of an order given the overall outcomes and each component's evidence.
pub fn score(all: Counts, evidence: &[Evidence<'_>]) -> RiskScore {
    let prior = (all.refused as f64 + DEFAULT_PRIOR * SMOOTHING) / (all.samples() as f64 + SMOOTHING);
    let base = logit(prior);
    let mut z = base;
    let components = evidence
        .iter()
        .map(|e| {
            let rate = (e.counts.refused as f64 + prior * SMOOTHING) / (e.counts.samples() as f64 + SMOOTHING);
            let contribution = e.weight * (logit(rate) - base);
            z += contribution;
            RiskComponent {
                name: e.name.to_owned(),
                key: e.key.to_owned(),
                samples: e.counts.samples(),
                refusals: e.counts.refused,
                rate,
                weight: e.weight,
                contribution,
            }
        })
        .collect();
    let score = 1.0 / (1.0 + (-z).exp());
    RiskScore { score: if score.is_finite() { score.clamp(0.0, 1.0) } else { prior }, prior, components }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ev(key: &str, delivered: i64, refused: i64) -> Evidence<'_> {
        Evidence { name: "buyer_phone", weight: 1.0, key, counts: Counts { delivered, refused } }
    }

    #[test]
    fn the_stored_form_round_trips_to_the_same_explanation() {
        let all = Counts { delivered: 800, refused: 200 };
        let r = score(
            all,
            &[
                ev("bad", 1, 6),
                Evidence { name: "region", weight: 0.6, key: "r", counts: Counts { delivered: 9, refused: 3 } },
            ],
        );
        let back: RiskScore = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back.score, r.score);
        for (a, b) in back.components.iter().zip(&r.components) {
            assert_eq!((&a.name, &a.key, a.samples, a.refusals), (&b.name, &b.key, b.samples, b.refusals));
            assert!((a.rate - b.rate).abs() < 1e-12 && (a.contribution - b.contribution).abs() < 1e-12);
        }
    }

    #[test]
    fn with_no_history_the_score_is_the_default_prior() {
        let r = score(Counts::default(), &[ev("p", 0, 0)]);
        assert!((r.score - DEFAULT_PRIOR).abs() < 1e-9);
        assert_eq!(r.components[0].contribution, 0.0);
    }

    #[test]
    fn a_phone_that_refused_often_scores_higher_than_one_that_always_paid() {
        let all = Counts { delivered: 800, refused: 200 };
        let bad = score(all, &[ev("bad", 1, 6)]);
        let good = score(all, &[ev("good", 7, 0)]);
        assert!(bad.score > bad.prior + 0.1, "{bad:?}");
        assert!(good.score < good.prior, "{good:?}");
        assert!(bad.components[0].contribution > 0.0 && good.components[0].contribution < 0.0);
    }

    proptest! {
        #[test]
        fn the_score_is_a_probability(d in 0i64..10_000, r in 0i64..10_000, pd in 0i64..100, pr in 0i64..100) {
            let s = score(Counts { delivered: d, refused: r }, &[ev("k", pd, pr), ev("j", pr, pd)]);
            prop_assert!((0.0..=1.0).contains(&s.score));
        }

        #[test]
        fn more_refusals_never_lower_the_score(d in 0i64..50, r in 0i64..50) {
            let all = Counts { delivered: 500, refused: 100 };
            let a = score(all, &[ev("k", d, r)]).score;
            let b = score(all, &[ev("k", d, r + 1)]).score;
            prop_assert!(b >= a);
        }
    }
}
