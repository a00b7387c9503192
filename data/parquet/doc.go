// Package parquet is duesight's embedded, server-less data.Store: a
// directory of immutable Parquet segment files plus a JSON manifest.
// (Full design notes follow in this file once finalised.)
//
// It imports data, the standard library and github.com/apache/arrow-go/v18
// only; it must not import data/datatest (outside tests), data/clickhouse or
// any application package.
package parquet
