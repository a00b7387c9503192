package parquet

import (
	"fmt"
	"math/bits"
	"testing"
)

func segsOf(rows ...int64) []Segment {
	out := make([]Segment, len(rows))
	for i, r := range rows {
		out[i] = Segment{File: fmt.Sprintf("segments/invoices-%010d-00000.parquet", i+1), Seq: uint64(i + 1), Rows: r}
	}
	return out
}

func TestAutoMergeFrom(t *testing.T) {
	const fanout, maxRows = 4, 1000
	for _, tc := range []struct {
		name string
		rows []int64
		want int
	}{
		{"empty", nil, -1},
		{"fewer than fanout", []int64{1, 1, 1}, -1},
		{"fanout small ones", []int64{1, 1, 1, 1}, 0},
		{"a larger older segment stays", []int64{50, 1, 1, 1, 1}, 1},
		{"an older segment joins when the newer ones outweigh it", []int64{4, 1, 1, 1, 1}, 0},
		{"run stops at the first too-large segment", []int64{1, 9, 2, 1, 1, 1}, 2},
		{"large segments are never merged", []int64{1, 1, 1, 1000, 1, 1, 1}, -1},
		{"large segment ends the run", []int64{1, 1, 1, 1000, 1, 1, 1, 1}, 4},
		{"the newest joins even if larger", []int64{1, 1, 1, 500}, 0},
		{"the newest alone if large", []int64{1, 1, 1, 1, 1000}, -1},
		{"binary counter state", []int64{16, 8, 1, 1, 1}, -1},
		{"binary counter: partial carry", []int64{16, 8, 2, 1, 1, 1, 1}, 2},
		{"binary counter: full carry", []int64{16, 8, 4, 1, 1, 1, 1}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := autoMergeFrom(segsOf(tc.rows...), fanout, maxRows); got != tc.want {
				t.Errorf("autoMergeFrom(%v) = %d; want %d", tc.rows, got, tc.want)
			}
		})
	}
	if got := autoMergeFrom(segsOf(1, 1, 1, 1), 1, maxRows); got != -1 {
		t.Errorf("fanout 1 merged from %d; want never", got)
	}
}

// TestAutoMergeBounds simulates the policy over a long stream of one-row
// commits and checks the documented bounds: at most fanout-1 +
// ⌈log2(rows/fanout)⌉+1 small segments at any time, and each row rewritten
// at most 1 + log2(maxRows) times.
func TestAutoMergeBounds(t *testing.T) {
	const fanout, maxRows, commits = 8, 1 << 12, 20000
	var segs []Segment
	var rewritten int64
	maxSmall := 0
	for c := 1; c <= commits; c++ {
		segs = append(segs, Segment{Rows: 1})
		for {
			from := autoMergeFrom(segs, fanout, maxRows)
			if from < 0 {
				break
			}
			var rows int64
			for _, sg := range segs[from:] {
				rows += sg.Rows
			}
			rewritten += rows
			segs = append(segs[:from], Segment{Rows: rows})
		}
		small := 0
		for _, sg := range segs {
			if sg.Rows < maxRows {
				small++
			}
		}
		maxSmall = max(maxSmall, small)
		if bound := fanout - 1 + bits.Len(uint(c/fanout)) + 1; small > bound {
			t.Fatalf("after %d commits: %d small segments; bound %d", c, small, bound)
		}
	}
	if amp, bound := float64(rewritten)/commits, float64(1+bits.Len(maxRows)); amp > bound {
		t.Errorf("each row rewritten %.1f times on average; bound %.0f", amp, bound)
	}
	t.Logf("%d one-row commits: %d segments, at most %d small at once, %.1f rewrites per row",
		commits, len(segs), maxSmall, float64(rewritten)/commits)
}
