package eval

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"

	"github.com/duesight/duesight/model"
)

// ErrInvalid is wrapped by errors about malformed evaluation input.
var ErrInvalid = errors.New("eval: invalid input")

// SplitMethod selects how rows are assigned to train/validation/test.
type SplitMethod int

const (
	// ByTime (the default) orders rows by Dataset.Time: the earliest rows
	// train, later rows validate, the latest rows test. It is the honest
	// setting for late-payment models, which score future invoices.
	ByTime SplitMethod = iota
	// Random assigns rows (or whole groups) at random with a seeded PCG.
	Random
)

// Cuts are explicit time boundaries for a ByTime split: rows with
// Time < ValidFrom train, ValidFrom ≤ Time < TestFrom validate, and
// Time ≥ TestFrom test.
type Cuts struct {
	ValidFrom, TestFrom int64
}

// SplitSpec configures SplitRows. The zero value is a time-ordered 70/15/15
// split.
type SplitSpec struct {
	Method SplitMethod
	// ValidFrac and TestFrac are the target fractions of rows (defaults
	// 0.15 each; their sum must be < 1). Ignored when Cuts is set.
	ValidFrac, TestFrac float64
	// Cuts, when set, overrides the fractions of a ByTime split.
	Cuts *Cuts
	// Seed seeds a Random split.
	Seed uint64
	// ByGroup keeps all rows of one Dataset.Group on the same side of a
	// Random split (required Group).
	ByGroup bool
}

// Split holds row indices into the source dataset, each in ascending order.
type Split struct {
	Train, Valid, Test []int
}

// SplitRows partitions the rows of d.
//
// ByTime with fractions: rows are ordered by Time and the cut times are the
// Time values at positions ⌊n·(1−ValidFrac−TestFrac)⌋ and ⌊n·(1−TestFrac)⌋;
// rows sharing a cut time all go to the later set, so realised fractions can
// differ slightly from the targets, and no time value straddles two sets.
// Random: a PCG seeded with Seed shuffles the rows (or, with ByGroup, the
// sorted distinct groups, assigning each whole group to the set whose
// target row count is not yet met). Every set must end up non-empty.
func SplitRows(d *model.Dataset, s SplitSpec) (Split, error) {
	n := d.Rows()
	if n < 3 {
		return Split{}, fmt.Errorf("%w: need at least 3 rows to split, have %d", ErrInvalid, n)
	}
	vf, tf := s.ValidFrac, s.TestFrac
	if vf == 0 && tf == 0 {
		vf, tf = 0.15, 0.15
	}
	if s.Cuts == nil && (!(vf > 0) || !(tf > 0) || vf+tf >= 1) {
		return Split{}, fmt.Errorf("%w: ValidFrac %v and TestFrac %v must be > 0 with sum < 1", ErrInvalid, vf, tf)
	}
	var sp Split
	switch s.Method {
	case ByTime:
		if len(d.Time) != n {
			return Split{}, fmt.Errorf("%w: time split needs Dataset.Time for all %d rows (have %d)", ErrInvalid, n, len(d.Time))
		}
		var cuts Cuts
		if s.Cuts != nil {
			cuts = *s.Cuts
			if cuts.TestFrom < cuts.ValidFrom {
				return Split{}, fmt.Errorf("%w: Cuts.TestFrom %d is before Cuts.ValidFrom %d", ErrInvalid, cuts.TestFrom, cuts.ValidFrom)
			}
		} else {
			ts := slices.Clone(d.Time)
			slices.Sort(ts)
			cuts.ValidFrom = ts[int(math.Floor(float64(n)*(1-vf-tf)))]
			cuts.TestFrom = ts[min(n-1, int(math.Floor(float64(n)*(1-tf))))]
		}
		for i, t := range d.Time {
			switch {
			case t < cuts.ValidFrom:
				sp.Train = append(sp.Train, i)
			case t < cuts.TestFrom:
				sp.Valid = append(sp.Valid, i)
			default:
				sp.Test = append(sp.Test, i)
			}
		}
	case Random:
		r := rand.New(rand.NewPCG(s.Seed, s.Seed^0x9e3779b97f4a7c15))
		nTrain := int(math.Round(float64(n) * (1 - vf - tf)))
		nValid := int(math.Round(float64(n) * vf))
		if !s.ByGroup {
			perm := r.Perm(n)
			sp.Train = slices.Clone(perm[:nTrain])
			sp.Valid = slices.Clone(perm[nTrain : nTrain+nValid])
			sp.Test = slices.Clone(perm[nTrain+nValid:])
			break
		}
		if len(d.Group) != n {
			return Split{}, fmt.Errorf("%w: group-aware split needs Dataset.Group for all %d rows (have %d)", ErrInvalid, n, len(d.Group))
		}
		rows := map[string][]int{}
		for i, g := range d.Group {
			rows[g] = append(rows[g], i)
		}
		groups := make([]string, 0, len(rows))
		for g := range rows {
			groups = append(groups, g)
		}
		sort.Strings(groups)
		r.Shuffle(len(groups), func(i, j int) { groups[i], groups[j] = groups[j], groups[i] })
		for _, g := range groups {
			switch {
			case len(sp.Train) < nTrain:
				sp.Train = append(sp.Train, rows[g]...)
			case len(sp.Valid) < nValid:
				sp.Valid = append(sp.Valid, rows[g]...)
			default:
				sp.Test = append(sp.Test, rows[g]...)
			}
		}
	default:
		return Split{}, fmt.Errorf("%w: unknown split method %d", ErrInvalid, s.Method)
	}
	slices.Sort(sp.Train)
	slices.Sort(sp.Valid)
	slices.Sort(sp.Test)
	if len(sp.Train) == 0 || len(sp.Valid) == 0 || len(sp.Test) == 0 {
		return Split{}, fmt.Errorf("%w: split leaves an empty set (train %d, valid %d, test %d rows); adjust fractions, cuts or group sizes",
			ErrInvalid, len(sp.Train), len(sp.Valid), len(sp.Test))
	}
	return sp, nil
}
