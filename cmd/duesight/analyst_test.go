package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/duesight/duesight/features"
)

type fitOutput struct {
	Rows      int      `json:"rows"`
	Features  int      `json:"features"`
	Label     string   `json:"label"`
	Time      string   `json:"time"`
	RolesFrom string   `json:"roles_from"`
	Warnings  []string `json:"warnings"`
	Excluded  []struct {
		Column, Why string
	} `json:"excluded"`
	LeakCheck struct {
		Checked  bool `json:"checked"`
		Suspects []struct {
			Feature string  `json:"feature"`
			AUC     float64 `json:"auc"`
		} `json:"suspects"`
	} `json:"leak_check"`
	Models []struct {
		Kind string `json:"kind"`
		Test struct {
			AUC       float64 `json:"auc"`
			Confusion struct {
				Classes []struct{ Class string } `json:"classes"`
			} `json:"confusion"`
		} `json:"test"`
	} `json:"models"`
}

func fit(t *testing.T, args ...string) fitOutput {
	t.Helper()
	out := mustCLI(t, nil, append([]string{"model", "fit", "--format", "json"}, args...)...)
	var f fitOutput
	if err := json.Unmarshal([]byte(out), &f); err != nil {
		t.Fatalf("model fit output: %v\n%s", err, out)
	}
	return f
}

// TestAnalystPath runs the README's analyst path: the exported feature
// table fits as it is, without --drop, and no outcome column becomes a
// feature; a table that lost its marks and renamed an outcome column gets
// a loud leakage warning instead of a silent AUC of 1.
func TestAnalystPath(t *testing.T) {
	chdir(t)
	modes := withUmask(t, 0o022)
	mustCLI(t, nil, "gen", "--accounts", "80", "--to", "2025-06-01", "--truth", "")
	mustCLI(t, nil, "features", "export", "table.csv")
	for _, f := range []string{"table.csv", "table.csv" + features.ColumnsSuffix} {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if modes && st.Mode().Perm() != 0o644 {
			t.Errorf("%s has mode %v, want 0644 (0666 less the umask 022)", f, st.Mode().Perm())
		}
	}

	f := fit(t, "--table", "table.csv", "--label", "late", "--time", "issue_date", "--kind", "gbdt,logreg", "--param", "max_depth=4")
	if f.Features != len(features.Names()) || f.Time != "issue_date" || len(f.Warnings) != 0 || !f.LeakCheck.Checked {
		t.Fatalf("exported table: %d features (want %d), time %q, warnings %v, leak check %v",
			f.Features, len(features.Names()), f.Time, f.Warnings, f.LeakCheck.Checked)
	}
	why := map[string]string{}
	for _, e := range f.Excluded {
		why[e.Column] = e.Why
	}
	for _, c := range []string{features.ColDaysLate, features.ColSettled, features.ColStatus, features.ColCensored} {
		if why[c] != "outcome" {
			t.Errorf("outcome column %s: excluded as %q", c, why[c])
		}
	}
	if len(f.Models) != 2 || f.Models[0].Test.AUC > 0.98 || f.Models[0].Test.AUC < 0.6 {
		t.Fatalf("models %+v", f.Models)
	}
	if c := f.Models[0].Test.Confusion.Classes; len(c) != 2 || c[0].Class != "late" || c[1].Class != "on_time" {
		t.Fatalf("classes %+v", c)
	}
	// The marked label and time are the defaults; --time X --drop X works.
	if g := fit(t, "--table", "table.csv"); g.Label != "late" || g.Time != "issue_date" || g.Features != f.Features {
		t.Fatalf("defaults from the marks: %+v", g)
	}
	if g := fit(t, "--table", "table.csv", "--time", "issue_date", "--drop", "issue_date,invoice_id"); g.Time != "issue_date" {
		t.Fatalf("--time issue_date --drop issue_date: %+v", g)
	}

	// Parquet keeps the roles in its field metadata.
	mustCLI(t, nil, "features", "export", "table.parquet")
	if g := fit(t, "--table", "table.parquet", "--label", "late", "--time", "issue_date"); g.Features != f.Features || g.RolesFrom != "parquet field metadata" {
		t.Fatalf("parquet: %+v", g)
	}

	// A pandas user keeps the numeric columns, renames two outcome columns
	// and saves without the sidecar: the renamed days_late alone separates
	// the label and is reported; the model's perfect AUC too.
	in, err := os.Open("table.csv")
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(in).ReadAll()
	in.Close()
	if err != nil {
		t.Fatal(err)
	}
	drop := []string{features.ColInvoiceID, features.ColAccountID, features.ColSnapshot, features.ColCurrency, features.ColStatus, features.ColBucket}
	var keep []int
	for i, h := range recs[0] {
		if !slices.Contains(drop, h) {
			keep = append(keep, i)
		}
	}
	rename := map[string]string{features.ColDaysLate: "dl", features.ColSettled: "paid_on"}
	out, err := os.Create("foreign.csv")
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(out)
	for r, rec := range recs {
		var row []string
		for _, i := range keep {
			v := rec[i]
			if r == 0 && rename[v] != "" {
				v = rename[v]
			}
			row = append(row, v)
		}
		_ = w.Write(row)
	}
	w.Flush()
	if err := out.Close(); err != nil || w.Error() != nil {
		t.Fatal(err, w.Error())
	}
	g := fit(t, "--table", "foreign.csv", "--label", "late", "--time", "issue_date")
	if len(g.LeakCheck.Suspects) != 1 || g.LeakCheck.Suspects[0].Feature != "dl" {
		t.Fatalf("suspects %+v; want dl only", g.LeakCheck.Suspects)
	}
	all := strings.Join(g.Warnings, "\n")
	if !strings.Contains(all, "column dl alone separates late") || !strings.Contains(all, "implausibly perfect") {
		t.Fatalf("warnings:\n%s", all)
	}

	// Bare parameters go to the kinds that have them.
	if _, err := cli(t, nil, "model", "fit", "--table", "table.csv", "--kind", "gbdt,logreg", "--param", "nope=1"); err == nil ||
		!strings.Contains(err.Error(), `none of the kinds fitted (gbdt, logreg) has a parameter "nope"`) {
		t.Fatalf("unknown parameter: %v", err)
	}
	if _, err := cli(t, nil, "model", "fit", "--table", "table.csv", "--kind", "gbdt,logreg", "--param", "max_depth=x"); err == nil ||
		!strings.Contains(err.Error(), "max_depth") {
		t.Fatalf("bad value: %v", err)
	}
}
