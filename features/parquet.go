package features

import (
	"context"
	"fmt"
	"io"
	"iter"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// ParquetOptions tune WriteParquet. The zero value is the default.
type ParquetOptions struct {
	// RowGroupRows bounds the rows per row group (default 131072).
	RowGroupRows int
	// BatchRows is the size of the Arrow batches written (default 65536);
	// it bounds the extra memory of string columns during the write.
	BatchRows int
	// Compression defaults to zstd.
	Compression *compress.Compression
}

// dictionaryColumns are the low-cardinality string columns; only they are
// dictionary-encoded.
var dictionaryColumns = []string{ColAccountID, ColSnapshot, ColCurrency, ColStatus, ColBucket}

// parquetProperties chooses the encodings: no dictionary by default
// (dictionary-encoding float columns is slow to write and does not pay off
// for continuous values), dictionary for the low-cardinality strings, and
// BYTE_STREAM_SPLIT for every float64 column (features, late, days_late),
// which splits the 8 bytes of each value into separate streams so that the
// compressor sees the slowly varying exponent bytes together.
func parquetProperties(t *Table, o ParquetOptions) *parquet.WriterProperties {
	codec := compress.Codecs.Zstd
	if o.Compression != nil {
		codec = *o.Compression
	}
	props := []parquet.WriterProperty{
		parquet.WithDictionaryDefault(false),
		parquet.WithCompression(codec),
		parquet.WithMaxRowGroupLength(int64(o.RowGroupRows)),
		parquet.WithCreatedBy("duesight features schema " + t.SchemaHash),
	}
	for _, c := range dictionaryColumns {
		props = append(props, parquet.WithDictionaryFor(c, true))
	}
	for _, c := range append([]string{ColLate, ColDaysLate}, t.Names...) {
		props = append(props, parquet.WithEncodingFor(c, parquet.Encodings.ByteStreamSplit))
	}
	return parquet.NewWriterProperties(props...)
}

// WriteParquet writes t to w as one Parquet file (the Arrow schema of
// ArrowSchema is stored in the file, so readers recover date32 types and the
// metadata). It checks ctx between batches.
func (t *Table) WriteParquet(ctx context.Context, w io.Writer, o ParquetOptions) error {
	if o.RowGroupRows <= 0 {
		o.RowGroupRows = 1 << 17
	}
	if o.BatchRows <= 0 {
		o.BatchRows = 1 << 16
	}
	mem := memory.DefaultAllocator
	fw, err := pqarrow.NewFileWriter(t.ArrowSchema(), w, parquetProperties(t, o),
		pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema(), pqarrow.WithAllocator(mem)))
	if err != nil {
		return fmt.Errorf("features: parquet writer: %w", err)
	}
	for rec, err := range t.Records(mem, o.BatchRows) {
		if err == nil {
			err = ctx.Err()
		}
		if err == nil {
			err = fw.WriteBuffered(rec)
			rec.Release()
		}
		if err != nil {
			_ = fw.Close()
			return fmt.Errorf("features: write parquet: %w", err)
		}
	}
	if err := fw.Close(); err != nil {
		return fmt.Errorf("features: close parquet writer: %w", err)
	}
	return nil
}

// ReadParquet reads a file written by WriteParquet back into a Table,
// checking the schema against the current Catalog (see FromArrow).
func ReadParquet(ctx context.Context, r parquet.ReaderAtSeeker) (*Table, error) {
	pr, err := file.NewParquetReader(r)
	if err != nil {
		return nil, fmt.Errorf("features: open parquet: %w", err)
	}
	defer pr.Close()
	fr, err := pqarrow.NewFileReader(pr, pqarrow.ArrowReadProperties{BatchSize: 1 << 16}, memory.DefaultAllocator)
	if err != nil {
		return nil, fmt.Errorf("features: parquet schema: %w", err)
	}
	schema, err := fr.Schema()
	if err != nil {
		return nil, fmt.Errorf("features: parquet schema: %w", err)
	}
	rr, err := fr.GetRecordReader(ctx, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("features: parquet reader: %w", err)
	}
	defer rr.Release()
	recs := func(yield func(arrow.RecordBatch, error) bool) {
		for rr.Next() {
			if !yield(rr.RecordBatch(), nil) {
				return
			}
		}
		if err := rr.Err(); err != nil && err != io.EOF {
			yield(nil, err)
		}
	}
	t, err := FromArrow(schema, iter.Seq2[arrow.RecordBatch, error](recs))
	if err != nil {
		return nil, fmt.Errorf("features: read parquet: %w", err)
	}
	return t, nil
}
