// Package timing predicts when an open invoice will be paid: a discrete-time
// weekly hazard model. Time after the due date is cut into periods — period
// 0 is "on or before the due date", period k ≥ 1 is days 7(k−1)+1 … 7k late,
// up to a horizon of Weeks weeks — and the probability of payment in period k
// given the invoice is still unpaid at its start is a logistic regression on
// week-since-due dummies plus the invoice's features. Fitting maximises the
// person-period likelihood: every invoice contributes one Bernoulli row per
// period it was observed at risk (1 in the period it was paid, 0 before);
// a right-censored invoice (still unpaid when the data were cut) contributes
// only the periods it was observed to survive completely, which keeps the
// estimates unbiased under independent censoring. The person-period table is
// never materialised (see [Expand] for the explicit form).
//
// Predictions are [model.Distribution] values: weekly hazards, the survival
// curve, P(paid in each week), expected days late and quantiles such as the
// p10/p50/p90 payment day. [Buckets] turns a fitted model into a
// multiclass late-bucket model (on time, 1–30, 31–60, … days late). The kinds
// "weekly-hazard" and "weekly-hazard-buckets" are registered with package
// model.
//
// Import rules: standard library, gonum, and duesight's model, model/logreg
// (for its Scaler) and model/eval packages only. It must not import data,
// features or golearn.
package timing
