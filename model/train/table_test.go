package train_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/duesight/duesight/model/train"
)

func TestReadNumericTableCSV(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.csv", "\ufeffx,when,y,id\r\n1.5,2024-01-02,1,a\r\n,2024-01-03,0,b\r\nNaN,2024-01-04,,c\r\n")
	tab, err := train.ReadNumericTable(context.Background(), good, []string{"id"}, []string{"y"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(tab.Names, ",") != "x,when,y" {
		t.Fatalf("names %v", tab.Names)
	}
	x, when := tab.Column("x"), tab.Column("when")
	if x[0] != 1.5 || !math.IsNaN(x[1]) || !math.IsNaN(x[2]) || when[0] != 19724 {
		t.Fatalf("x %v when %v (2024-01-02 is day 19724)", x, when)
	}
	d, unlabeled, err := train.TableDataset(tab, "y", "when")
	if err != nil || unlabeled != 1 || d.Rows() != 2 || len(d.Names) != 1 || d.Time[1] != 19725 {
		t.Fatalf("dataset %+v, %d unlabeled, %v", d, unlabeled, err)
	}

	tests := []struct {
		name, body string
		need       []string
		want       string
	}{
		{"empty", "", nil, "empty file"},
		{"header only", "a,b\n", nil, "no data rows"},
		{"text cell", "a,b\n1,2\n3,x\n", nil, `bad.csv:3: column "b": "x" is not a number`},
		{"duplicate column", "a,a\n1,2\n", nil, `column "a" appears twice`},
		{"missing needed column", "a,b\n1,2\n", []string{"label"}, `no column "label"`},
		{"ragged row", "a,b\n1,2\n3\n", nil, "bad.csv:3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := write("bad.csv", tc.body)
			_, err := train.ReadNumericTable(context.Background(), p, nil, tc.need)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v; want %q", err, tc.want)
			}
		})
	}
	if _, err := train.ReadNumericTable(context.Background(), filepath.Join(dir, "x.xlsx"), nil, nil); err == nil {
		t.Fatal("an .xlsx file was accepted")
	}
	bad := write("label.csv", "x,y\n1,2\n")
	tab, _ = train.ReadNumericTable(context.Background(), bad, nil, nil)
	if _, _, err := train.TableDataset(tab, "y", ""); err == nil || !strings.Contains(err.Error(), "want 0 or 1") {
		t.Fatalf("label 2: %v", err)
	}
}
