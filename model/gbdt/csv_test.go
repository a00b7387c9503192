package gbdt_test

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

// writeCSV writes column-major X and labels y as CSV with a header; NaN is
// an empty field and numbers use the shortest exact representation.
func writeCSV(path string, names []string, label string, X [][]float64, y []float64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString(strings.Join(append(slices.Clone(names), label), ",") + "\n")
	buf := make([]byte, 0, 64)
	for i := range y {
		for j := range X {
			if v := X[j][i]; !math.IsNaN(v) {
				buf = strconv.AppendFloat(buf[:0], v, 'g', -1, 64)
				w.Write(buf)
			}
			w.WriteByte(',')
		}
		buf = strconv.AppendFloat(buf[:0], y[i], 'g', -1, 64)
		w.Write(buf)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// readCSV reads a numeric CSV with a header into column-major features and
// the label column. Empty, "NA", "NaN" and "null" fields are missing.
func readCSV(path, label string) (names []string, X [][]float64, y []float64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, nil, err
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReaderSize(f, 1<<20))
	r.ReuseRecord = true
	header, err := r.Read()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: header: %w", path, err)
	}
	li := slices.Index(header, label)
	if li < 0 {
		return nil, nil, nil, fmt.Errorf("%s: no label column %q in header", path, label)
	}
	for j, h := range header {
		if j != li {
			names = append(names, h)
		}
	}
	X = make([][]float64, len(names))
	line := 1
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		line++
		if err != nil {
			return nil, nil, nil, fmt.Errorf("%s: line %d: %w", path, line, err)
		}
		j := 0
		for k, field := range rec {
			v := math.NaN()
			switch strings.ToLower(strings.TrimSpace(field)) {
			case "", "na", "nan", "null":
			default:
				v, err = strconv.ParseFloat(strings.TrimSpace(field), 64)
				if err != nil {
					return nil, nil, nil, fmt.Errorf("%s: line %d column %q: %w", path, line, header[k], err)
				}
			}
			if k == li {
				y = append(y, v)
				continue
			}
			X[j] = append(X[j], v)
			j++
		}
	}
	return names, X, y, nil
}
