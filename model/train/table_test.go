package train_test

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/duesight/duesight/features"
	"github.com/duesight/duesight/model"
	"github.com/duesight/duesight/model/train"
)

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadTableCSV(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.csv", "\ufeffx,when,y,id,flag,odd\r\n"+
		"1.5,2024-01-02,1,a,true,1\r\n"+
		",2024-01-03,0,b,false,n/a2\r\n"+
		"NaN,2024-01-04,,c,,3\r\n")
	tab, err := train.ReadTable(context.Background(), good, nil, []string{"y"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(tab.Names(), ",") != "x,when,y,id,flag,odd" || tab.Marks != "" {
		t.Fatalf("names %v, marks %q", tab.Names(), tab.Marks)
	}
	types := map[string]train.ColumnType{"x": train.Numeric, "when": train.Dates, "y": train.Numeric, "id": train.Text,
		"flag": train.Numeric, "odd": train.Numeric}
	for name, want := range types {
		if c := tab.Column(name); c.Type != want {
			t.Errorf("column %s: type %s, want %s", name, c.Type, want)
		}
	}
	x, when := tab.Column("x").Values, tab.Column("when").Values
	if x[0] != 1.5 || !math.IsNaN(x[1]) || !math.IsNaN(x[2]) || when[0] != 19724 {
		t.Fatalf("x %v when %v (2024-01-02 is day 19724)", x, when)
	}
	if tab.Column("id").Values != nil || tab.Column("id").Stray != `line 2: "a"` {
		t.Fatalf("text column: %+v", tab.Column("id"))
	}
	if s := tab.Column("odd").Stray; s != `line 3: "n/a2"` {
		t.Fatalf("stray cell of a numeric column: %q", s)
	}
	// Dropped columns are not read, but a needed one (the label) always is.
	tab, err = train.ReadTable(context.Background(), good, []string{"id", "odd", "y"}, []string{"y"})
	if err != nil || strings.Join(tab.Names(), ",") != "x,when,y,flag" {
		t.Fatalf("after --drop: %v, %v", tab.Names(), err)
	}

	tests := []struct {
		name, body string
		drop, need []string
		want       string
	}{
		{"empty", "", nil, nil, "empty file"},
		{"header only", "a,b\n", nil, nil, "no data rows"},
		{"duplicate column", "a,a\n1,2\n", nil, nil, `column "a" appears twice`},
		{"missing needed column", "a,b\n1,2\n", nil, []string{"label"}, `no column "label"`},
		{"unknown dropped column", "a,b\n1,2\n", []string{"c"}, nil, `--drop "c": no such column`},
		{"ragged row", "a,b\n1,2\n3\n", nil, nil, "bad.csv:3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, dir, "bad.csv", tc.body)
			_, err := train.ReadTable(context.Background(), p, tc.drop, tc.need)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v; want %q", err, tc.want)
			}
		})
	}
	if _, err := train.ReadTable(context.Background(), filepath.Join(dir, "x.xlsx"), nil, nil); err == nil {
		t.Fatal("an .xlsx file was accepted")
	}
}

func excludedMap(td *train.TableData) map[string]string {
	m := map[string]string{}
	for _, e := range td.Excluded {
		m[e.Column] = e.Why
	}
	return m
}

func TestTableDatasetRoles(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	// A foreign table: numeric features, an id, a date, a label.
	foreign := writeFile(t, dir, "foreign.csv", "cust,opened,score,n,churned\n"+
		"c1,2024-01-01,0.5,3,1\n"+
		"c2,2024-01-02,0.1,,0\n"+
		"c3,2024-01-03,0.7,1,\n"+
		"c4,2024-01-04,0.2,2,0\n")
	tab, err := train.ReadTable(ctx, foreign, nil, []string{"churned"})
	if err != nil {
		t.Fatal(err)
	}
	td, err := train.TableDataset(tab, "churned", "", true)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(td.Names, ",") != "score,n" || td.Unlabeled != 1 || td.Rows() != 3 || td.Time != "" {
		t.Fatalf("features %v, %d unlabeled, %d rows, time %q", td.Names, td.Unlabeled, td.Rows(), td.Time)
	}
	if ex := excludedMap(td); ex["cust"] != "text" || ex["opened"] != "date" || len(ex) != 2 {
		t.Fatalf("excluded %v", ex)
	}
	if td.Positive != "churned=1" || td.Negative != "churned=0" {
		t.Fatalf("class names %q/%q; a foreign label is not 'late'", td.Positive, td.Negative)
	}
	// A date column orders a time split; --time with --drop of the same
	// column works (the time column is never a feature anyway).
	tab, err = train.ReadTable(ctx, foreign, []string{"opened", "cust"}, []string{"churned", "opened"})
	if err != nil {
		t.Fatal(err)
	}
	if td, err = train.TableDataset(tab, "churned", "opened", true); err != nil || td.Time != "opened" || td.Dataset.Time[2] != 19726 {
		t.Fatalf("time split on a date column: %+v, %v", td, err)
	}

	// A pandas round trip of duesight's export: no marks, but the export's
	// names are recognised; days_late and settled_date never become features.
	export := writeFile(t, dir, "export.csv", "invoice_id,issue_date,late,days_late,settled_date,label_status,hist_late_ratio\n"+
		"i1,2024-01-01,1,12,2024-02-12,paid,0.5\n"+
		"i2,2024-01-02,0,-3,2024-01-29,paid,0.1\n")
	tab, err = train.ReadTable(ctx, export, nil, []string{"late"})
	if err != nil {
		t.Fatal(err)
	}
	td, err = train.TableDataset(tab, "late", "issue_date", true)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(td.Names, ",") != "hist_late_ratio" {
		t.Fatalf("features %v: outcomes must stay out", td.Names)
	}
	ex := excludedMap(td)
	if ex["days_late"] != "outcome" || ex["settled_date"] != "outcome" || ex["label_status"] != "outcome" || ex["invoice_id"] != "key" {
		t.Fatalf("excluded %v", ex)
	}
	if !td.Excluded[0].ByName {
		t.Fatal("exclusion by name is not flagged as such")
	}
	if _, err := train.TableDataset(tab, "late", "settled_date", true); err == nil || !strings.Contains(err.Error(), "cannot order the split") {
		t.Fatalf("an outcome as the time column: %v", err)
	}

	// A sidecar marks columns of any table, and names the label and time.
	marked := writeFile(t, dir, "marked.csv", "ref,when,amount,paid_in_days,y\n"+
		"7,2024-01-01,10,3,1\n8,2024-01-02,20,1,0\n")
	writeFile(t, dir, "marked.csv"+features.ColumnsSuffix, `{"format":"duesight-columns/1","label":"y","time":"when","columns":[
		{"name":"ref","role":"key"},{"name":"when","role":"time"},{"name":"amount","role":"feature"},
		{"name":"paid_in_days","role":"outcome"},{"name":"y","role":"label"}]}`)
	tab, err = train.ReadTable(ctx, marked, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	td, err = train.TableDataset(tab, "", "", true)
	if err != nil {
		t.Fatal(err)
	}
	if tab.Marks == "" || td.Label != "y" || td.Time != "when" || strings.Join(td.Names, ",") != "amount" {
		t.Fatalf("marked table: marks %q label %q time %q features %v", tab.Marks, td.Label, td.Time, td.Names)
	}
	if td, err = train.TableDataset(tab, "", "", false); err != nil || td.Time != "" {
		t.Fatalf("a random split must not take the marked time column: %+v, %v", td, err)
	}
	writeFile(t, dir, "marked.csv"+features.ColumnsSuffix, `{"format":"duesight-columns/1","columns":[{"name":"ref","role":"identifier"}]}`)
	if _, err := train.ReadTable(ctx, marked, nil, nil); err == nil || !strings.Contains(err.Error(), "identifier") {
		t.Fatalf("a bad sidecar: %v", err)
	}

	bad := []struct {
		body, label, time, want string
	}{
		{"x,y\n1,2\n", "y", "", "want 0 or 1"},
		{"x,y\n1,a\n2,1\n", "y", "", `label column "y": line 2: "a" is not 0 or 1`},
		{"x,y\n1,1\nz,0\n3,0\n", "y", "", `column "x": line 3: "z" is not a number`},
		{"x,y,t\n1,1,\n2,0,3\n", "y", "t", "time column \"t\": data row 1 is missing"},
		{"x,y\n1,1\n", "", "", "name the label column"},
		{"x,y\n1,2024-01-01\n", "y", "", `label column "y": a date is not 0 or 1`},
		{"id,y\na,1\n", "y", "", "no feature columns left (left out: text id)"},
	}
	for _, c := range bad {
		p := writeFile(t, dir, "bad.csv", c.body)
		tab, err := train.ReadTable(ctx, p, nil, nil)
		if err == nil {
			_, err = train.TableDataset(tab, c.label, c.time, true)
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: err = %v, want %q", c.body, err, c.want)
		}
	}
}

// TestCheckLeaks: a column equal to the label up to noise-free monotone
// transforms, or present exactly for one class, is flagged; honest
// features, however useful, are not; small classes are not judged.
func TestCheckLeaks(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	n := 2000
	d := &model.Dataset{Names: []string{"honest", "days_late", "neg_days_late", "settled_if_paid", "noise"}}
	d.X = make([][]float64, len(d.Names))
	for i := range n {
		risk := r.Float64()
		y := 0.0
		if r.Float64() < risk {
			y = 1
		}
		d.Y = append(d.Y, y)
		days := -5 + 5*r.Float64() // paid in time: up to the due date
		if y == 1 {
			days = 1 + 30*r.Float64()
		}
		settled := math.NaN()
		if y == 0 {
			settled = float64(i % 7)
		}
		d.X[0] = append(d.X[0], risk+0.2*r.NormFloat64()) // strong but honest
		d.X[1] = append(d.X[1], days)
		d.X[2] = append(d.X[2], -days)
		d.X[3] = append(d.X[3], settled)
		d.X[4] = append(d.X[4], r.NormFloat64())
	}
	leaks, ok := train.CheckLeaks(d)
	if !ok {
		t.Fatal("not checked")
	}
	var names []string
	for _, l := range leaks {
		names = append(names, l.Feature)
		if l.AUC < train.LeakAUC || l.AUC > 1 {
			t.Errorf("%s: AUC %v", l.Feature, l.AUC)
		}
	}
	if strings.Join(names, ",") != "days_late,neg_days_late,settled_if_paid" {
		t.Fatalf("suspects %v, want days_late, neg_days_late, settled_if_paid", names)
	}
	if leaks[2].MissingRows == 0 {
		t.Fatal("settled_if_paid: missing rows not counted")
	}
	small := d.Subset([]int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	if _, ok := train.CheckLeaks(small); ok {
		t.Fatal("10 rows were judged")
	}
}
