package eval

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Float is a float64 that encodes NaN and ±Inf as JSON null.
type Float float64

// MarshalJSON implements json.Marshaler.
func (f Float) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(v)
}

// UnmarshalJSON implements json.Unmarshaler (null becomes NaN).
func (f *Float) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = Float(math.NaN())
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*f = Float(v)
	return nil
}

// Options configure Binary.
type Options struct {
	// Bins for ECE and the reliability table (default 10).
	Bins int
	// Threshold for the confusion matrix (default 0.5).
	Threshold float64
	// Positive and Negative name the classes of labels 1 and 0 in the
	// confusion matrix (default ClassLate and ClassOnTime).
	Positive, Negative string
}

// Report gathers the binary metrics of one model on one evaluation set.
type Report struct {
	Name string `json:"name"`
	// Rows is the number of rows; LateWeight and BaseRate the total and
	// fraction of late (positive) weight.
	Rows       int     `json:"rows"`
	LateWeight float64 `json:"late_weight"`
	BaseRate   float64 `json:"base_rate"`

	AUC              float64 `json:"auc"`
	AveragePrecision float64 `json:"average_precision"`
	LogLoss          float64 `json:"log_loss"`
	Brier            float64 `json:"brier"`
	ECE              float64 `json:"ece"`
	Lift10           float64 `json:"lift_top10"`
	Capture10        float64 `json:"capture_top10"`
	Lift20           float64 `json:"lift_top20"`
	Capture20        float64 `json:"capture_top20"`

	Reliability []Bin      `json:"reliability"`
	Confusion   *Confusion `json:"confusion"`
}

// Binary computes every binary metric for labels y, scores p and optional
// weights w (the confusion matrix is unweighted). Both classes must be
// present.
func Binary(name string, y, p, w []float64, o Options) (*Report, error) {
	if o.Bins <= 0 {
		o.Bins = 10
	}
	if o.Threshold == 0 {
		o.Threshold = 0.5
	}
	if o.Positive == "" || o.Negative == "" {
		o.Positive, o.Negative = ClassLate, ClassOnTime
	}
	pos, neg, err := checkBinary(y, p, w)
	if err != nil {
		return nil, fmt.Errorf("eval %s: %w", name, err)
	}
	r := &Report{Name: name, Rows: len(y), LateWeight: pos, BaseRate: pos / (pos + neg)}
	steps := []struct {
		what string
		f    func() error
	}{
		{"auc", func() (err error) { r.AUC, err = AUC(y, p, w); return }},
		{"average precision", func() (err error) { r.AveragePrecision, err = AveragePrecision(y, p, w); return }},
		{"log loss", func() (err error) { r.LogLoss, err = LogLoss(y, p, w); return }},
		{"brier", func() (err error) { r.Brier, err = Brier(y, p, w); return }},
		{"ece", func() (err error) { r.ECE, err = ECE(y, p, w, o.Bins); return }},
		{"reliability", func() (err error) { r.Reliability, err = Reliability(y, p, w, o.Bins); return }},
		{"lift 10%", func() (err error) { r.Lift10, r.Capture10, err = Lift(y, p, w, 0.1); return }},
		{"lift 20%", func() (err error) { r.Lift20, r.Capture20, err = Lift(y, p, w, 0.2); return }},
		{"confusion", func() (err error) {
			r.Confusion, err = ConfusionNamed(y, p, o.Threshold, o.Positive, o.Negative)
			return
		}},
	}
	for _, s := range steps {
		if err := s.f(); err != nil {
			return nil, fmt.Errorf("eval %s: %s: %w", name, s.what, err)
		}
	}
	return r, nil
}

// Metrics returns the scalar metrics keyed as they are stored in an
// artifact header (prefix + "auc", …).
func (r *Report) Metrics(prefix string) map[string]float64 {
	return map[string]float64{
		prefix + "auc":               r.AUC,
		prefix + "average_precision": r.AveragePrecision,
		prefix + "log_loss":          r.LogLoss,
		prefix + "brier":             r.Brier,
		prefix + "ece":               r.ECE,
		prefix + "lift_top10":        r.Lift10,
		prefix + "capture_top10":     r.Capture10,
		prefix + "lift_top20":        r.Lift20,
		prefix + "capture_top20":     r.Capture20,
		prefix + "base_rate":         r.BaseRate,
	}
}

// TimingReport gathers payment-timing metrics of one model.
type TimingReport struct {
	Name string `json:"name"`
	Rows int    `json:"rows"`
	// MAE is the mean absolute error of the point prediction of days late.
	MAE float64 `json:"mae_days"`
	// Coverage is the fraction of actual days late inside the predicted
	// interval; Nominal is the interval's intended coverage (e.g. 0.8 for
	// [p10, p90]).
	Coverage float64 `json:"coverage"`
	Nominal  float64 `json:"nominal_coverage"`
}

// Timing computes a TimingReport from observed days late, point predictions
// and interval bounds. Only invoices whose payment was observed should be
// passed (censored actuals would bias both metrics).
func Timing(name string, actual, point, lo, hi []float64, nominal float64) (*TimingReport, error) {
	mae, err := MAE(actual, point)
	if err != nil {
		return nil, fmt.Errorf("eval %s: %w", name, err)
	}
	cov, err := Coverage(actual, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("eval %s: %w", name, err)
	}
	return &TimingReport{Name: name, Rows: len(actual), MAE: mae, Coverage: cov, Nominal: nominal}, nil
}

// WriteComparison writes an aligned text table with one column per report
// and one row per metric, followed by each model's per-class
// precision/recall/F1 at its threshold.
func WriteComparison(w io.Writer, reports ...*Report) error {
	if len(reports) == 0 {
		return fmt.Errorf("%w: no reports to compare", ErrInvalid)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := []string{"metric"}
	for _, r := range reports {
		head = append(head, r.Name)
	}
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
	rows := []struct {
		name string
		get  func(*Report) string
	}{
		{"rows", func(r *Report) string { return strconv.Itoa(r.Rows) }},
		{"base rate", func(r *Report) string { return f4(r.BaseRate) }},
		{"AUC", func(r *Report) string { return f4(r.AUC) }},
		{"avg precision", func(r *Report) string { return f4(r.AveragePrecision) }},
		{"log loss", func(r *Report) string { return f4(r.LogLoss) }},
		{"Brier", func(r *Report) string { return f4(r.Brier) }},
		{"ECE", func(r *Report) string { return f4(r.ECE) }},
		{"lift@10%", func(r *Report) string { return f4(r.Lift10) }},
		{"capture@10%", func(r *Report) string { return f4(r.Capture10) }},
		{"lift@20%", func(r *Report) string { return f4(r.Lift20) }},
		{"capture@20%", func(r *Report) string { return f4(r.Capture20) }},
		{"threshold", func(r *Report) string { return f4(r.Confusion.Threshold) }},
		{"TP/FP/TN/FN", func(r *Report) string {
			c := r.Confusion
			return fmt.Sprintf("%d/%d/%d/%d", c.TP, c.FP, c.TN, c.FN)
		}},
		{"accuracy", func(r *Report) string { return f4(r.Confusion.Accuracy) }},
	}
	// The class rows follow the first report's class names (positive
	// first); reports are compared by position.
	classes := []string{ClassLate, ClassOnTime}
	for _, r := range reports {
		if r.Confusion != nil && len(r.Confusion.Classes) == 2 {
			classes = []string{r.Confusion.Classes[0].Class, r.Confusion.Classes[1].Class}
			break
		}
	}
	for k, cl := range classes {
		for _, m := range []string{"precision", "recall", "F1"} {
			rows = append(rows, struct {
				name string
				get  func(*Report) string
			}{cl + " " + m, func(r *Report) string {
				for i, s := range r.Confusion.Classes {
					if i == k {
						switch m {
						case "precision":
							return f4(float64(s.Precision))
						case "recall":
							return f4(float64(s.Recall))
						default:
							return f4(float64(s.F1))
						}
					}
				}
				return "-"
			}})
		}
	}
	for _, row := range rows {
		cells := []string{row.name}
		for _, r := range reports {
			if r.Confusion == nil && (strings.Contains(row.name, "/") || row.name == "threshold" || row.name == "accuracy" ||
				strings.HasPrefix(row.name, classes[0]+" ") || strings.HasPrefix(row.name, classes[1]+" ")) {
				cells = append(cells, "-")
				continue
			}
			cells = append(cells, row.get(r))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("eval: writing comparison: %w", err)
	}
	return nil
}

// WriteComparisonJSON writes the reports as an indented JSON array.
func WriteComparisonJSON(w io.Writer, reports ...*Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(reports); err != nil {
		return fmt.Errorf("eval: writing comparison JSON: %w", err)
	}
	return nil
}

func f4(v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return strconv.FormatFloat(v, 'f', 4, 64)
}
