package gbdt_test

import (
	"math"
	"math/rand/v2"
	"sort"
)

// synthNames are the columns of synthInvoices.
var synthNames = []string{
	"amount", "terms_days", "customer_age_days", "prior_invoices", "prior_late_rate",
	"avg_days_late_prior", "credit_score", "industry", "region", "open_balance",
	"open_balance_ratio", "credit_limit", "disputes_90d", "contacts_30d", "promise_kept_rate",
	"days_since_last_payment", "invoice_month", "invoice_dow", "is_recurring", "has_po",
	"discount_offered", "currency", "payment_method", "employee_count", "revenue",
	"dso_customer", "partial_payment_ratio", "reminders_sent", "portal_logins_30d", "avg_invoice_amount",
	"noise_normal", "noise_uniform", "noise_lognormal", "noise_pareto", "noise_int",
	"noise_binary", "noise_missing", "noise_corr_amount", "noise_count", "noise_cat",
}

// synthInvoices deterministically generates n rows of a realistic
// late-payment table: 40 columns with mixed scales (money, days, rates,
// counts, codes, flags), heavy tails (log-normal and Pareto), 10–20% missing
// values in several columns, interactions and thresholds in the true logit,
// 5% label noise and about 35% positives. Columns are returned
// column-major.
func synthInvoices(n int, seed uint64) (X [][]float64, y []float64) {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	F := len(synthNames)
	X = make([][]float64, F)
	for j := range X {
		X[j] = make([]float64, n)
	}
	nan := math.NaN()
	logn := func(mu, sigma float64) float64 { return math.Exp(mu + sigma*rng.NormFloat64()) }
	pareto := func(xm, a float64) float64 { return xm / math.Pow(1-rng.Float64(), 1/a) }
	poisson := func(lambda float64) float64 {
		l, k, p := math.Exp(-lambda), 0.0, 1.0
		for {
			p *= rng.Float64()
			if p <= l {
				return k
			}
			k++
		}
	}
	industryEffect := make([]float64, 20)
	for i := range industryEffect {
		industryEffect[i] = 0.5 * rng.NormFloat64()
	}
	terms := []float64{0, 15, 30, 30, 30, 45, 60, 90}
	z := make([]float64, n)
	for i := range n {
		amount := logn(7, 1.5)
		termsDays := terms[rng.IntN(len(terms))]
		age := math.Floor(rng.ExpFloat64() * 900)
		prior := math.Floor(rng.ExpFloat64() * math.Min(age/60, 40))
		lateRate, avgLate := nan, nan
		if prior > 0 {
			a := 1 + 3*rng.Float64()
			lateRate = math.Min(1, math.Max(0, rng.Float64()*rng.Float64()*a/2))
			avgLate = pareto(2, 1.6) * lateRate * 3
		}
		credit := nan
		if rng.Float64() >= 0.18 {
			credit = math.Round(650 + 80*rng.NormFloat64())
		}
		industry := float64(rng.IntN(20))
		region := float64(rng.IntN(8))
		limit := nan
		if rng.Float64() >= 0.12 {
			limit = logn(9, 1)
		}
		openBal := amount * (1 + poisson(1.5)) * rng.Float64()
		ratio := nan
		if !math.IsNaN(limit) {
			ratio = openBal / limit
		}
		disputes := poisson(0.2)
		contacts := poisson(1)
		promise := nan
		if rng.Float64() >= 0.2 {
			promise = rng.Float64()
		}
		sinceLast := nan
		if rng.Float64() >= 0.10 {
			sinceLast = math.Floor(rng.ExpFloat64() * 40)
		}
		month := float64(1 + rng.IntN(12))
		dow := float64(rng.IntN(7))
		recurring := float64(b2f(rng.Float64() < 0.3))
		hasPO := float64(b2f(rng.Float64() < 0.5))
		discount := float64(b2f(rng.Float64() < 0.1))
		currency := float64(rng.IntN(5))
		method := float64(rng.IntN(6))
		employees := math.Floor(pareto(3, 1.1))
		revenue := employees * logn(11, 0.7)
		dso := 45 + 20*rng.NormFloat64()
		partial := rng.Float64() * rng.Float64()
		reminders := poisson(0.8 + termsDays/60)
		logins := poisson(2)
		avgAmount := amount * logn(0, 0.5)

		row := []float64{
			amount, termsDays, age, prior, lateRate,
			avgLate, credit, industry, region, openBal,
			ratio, limit, disputes, contacts, promise,
			sinceLast, month, dow, recurring, hasPO,
			discount, currency, method, employees, revenue,
			dso, partial, reminders, logins, avgAmount,
			rng.NormFloat64(), rng.Float64(), logn(0, 2), pareto(1, 1.2), float64(rng.IntN(100)),
			float64(b2f(rng.Float64() < 0.5)), ifMissing(rng, 0.15, rng.NormFloat64()), amount * logn(0, 1), poisson(3), float64(rng.IntN(30)),
		}
		for j, v := range row {
			X[j][i] = v
		}

		// True logit: thresholds, saturations, interactions, missingness signal.
		s := 0.25 * (math.Log(amount) - 7)
		if math.IsNaN(lateRate) {
			s += 0.35
		} else {
			s += 2.2*(lateRate-0.25) + 0.03*math.Min(avgLate, 45)
		}
		if math.IsNaN(credit) {
			s += 0.3
		} else {
			s -= 0.006 * (credit - 650)
			if credit < 560 {
				s += 0.5
			}
		}
		if termsDays >= 60 && !math.IsNaN(ratio) && ratio > 0.5 {
			s += 0.7
		}
		s += 0.45 * disputes
		if !math.IsNaN(promise) {
			s -= 1.2 * (promise - 0.5)
		}
		if !math.IsNaN(sinceLast) {
			s += 0.012 * math.Min(sinceLast, 120)
		}
		s += industryEffect[int(industry)]
		if recurring == 1 {
			s -= 0.5
		}
		if region == 3 && amount > 5000 {
			s += 0.8
		}
		s += 0.3 * math.Sin(2*math.Pi*month/12)
		s += 0.2 * math.Tanh((dso-45)/20)
		s -= 0.15 * math.Log1p(employees)
		if discount == 1 && hasPO == 1 {
			s -= 0.6
		}
		s += 0.15 * math.Min(reminders, 4)
		z[i] = s
	}
	// Shift the logit so that the mean probability is 0.35.
	lo, hi := -10.0, 10.0
	for range 60 {
		mid := (lo + hi) / 2
		m := 0.0
		for _, s := range z {
			m += 1 / (1 + math.Exp(-(s + mid)))
		}
		if m/float64(n) < 0.35 {
			lo = mid
		} else {
			hi = mid
		}
	}
	y = make([]float64, n)
	for i, s := range z {
		p := 1 / (1 + math.Exp(-(s + lo)))
		if rng.Float64() < p {
			y[i] = 1
		}
		if rng.Float64() < 0.05 { // label noise
			y[i] = 1 - y[i]
		}
	}
	return X, y
}

func b2f(b bool) int {
	if b {
		return 1
	}
	return 0
}

func ifMissing(rng *rand.Rand, rate, v float64) float64 {
	if rng.Float64() < rate {
		return math.NaN()
	}
	return v
}

// sliceRows returns rows [lo,hi) of column-major X.
func sliceRows(X [][]float64, lo, hi int) [][]float64 {
	out := make([][]float64, len(X))
	for j, col := range X {
		out[j] = col[lo:hi]
	}
	return out
}

// refAUC is an independent O(n log n) ROC AUC (Mann–Whitney U with
// mid-ranks), used to check the package's own metrics and the comparison.
func refAUC(y, score []float64) float64 {
	idx := make([]int, len(y))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return score[idx[a]] < score[idx[b]] })
	rankSumPos, pos := 0.0, 0.0
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && score[idx[j]] == score[idx[i]] {
			j++
		}
		mid := float64(i+j+1) / 2 // average 1-based rank of the tie group
		for k := i; k < j; k++ {
			if y[idx[k]] == 1 {
				rankSumPos += mid
				pos++
			}
		}
		i = j
	}
	neg := float64(len(y)) - pos
	return (rankSumPos - pos*(pos+1)/2) / (pos * neg)
}

// refLogLoss is the mean binary log loss of probabilities p, clipped to
// [1e-15, 1-1e-15].
func refLogLoss(y, p []float64) float64 {
	s := 0.0
	for i := range y {
		q := math.Min(math.Max(p[i], 1e-15), 1-1e-15)
		if y[i] == 1 {
			s -= math.Log(q)
		} else {
			s -= math.Log(1 - q)
		}
	}
	return s / float64(len(y))
}
