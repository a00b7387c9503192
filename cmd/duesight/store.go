package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/data/clickhouse"
	"github.com/duesight/duesight/data/parquet"
)

// openStore opens a history store named by a URL:
//
//	file://DIR or a bare path   the embedded Parquet store in DIR (the default)
//	clickhouse://HOST:PORT/DB   a ClickHouse server (native protocol)
func openStore(ctx context.Context, url string, readOnly bool, logger *slog.Logger) (data.Store, error) {
	scheme, rest, ok := strings.Cut(url, "://")
	if !ok {
		scheme, rest = "file", url
	}
	switch scheme {
	case "file":
		if rest == "" {
			return nil, usagef("--store %q: empty directory", url)
		}
		s, err := parquet.Open(ctx, rest, parquet.Options{ReadOnly: readOnly, Logger: logger})
		if err != nil {
			return nil, fmt.Errorf("open embedded store %s: %w%s", rest, err, createHint(err, url))
		}
		return s, nil
	case "clickhouse":
		// Readers never create the database: a typo in the URL must not
		// leave an empty database behind.
		s, err := clickhouse.Open(ctx, url, clickhouse.Options{Logger: logger, MustExist: readOnly})
		if err != nil {
			return nil, fmt.Errorf("open clickhouse store %s: %w%s", redactURL(url), err, createHint(err, url))
		}
		return s, nil
	}
	return nil, usagef("--store %q: unknown scheme %q (want file:// or clickhouse://)", url, scheme)
}

// redactURL drops a password from a URL before it is printed.
func redactURL(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		if user, _, hasPw := strings.Cut(rest[:at], ":"); hasPw {
			return scheme + "://" + user + ":***" + rest[at:]
		}
	}
	return u
}

// createHint tells how to fill a store that does not exist yet.
func createHint(err error, url string) string {
	if data.ErrorCode(err) != data.NotFound {
		return ""
	}
	store := ""
	if url != DefaultStore {
		store = " --store " + redactURL(url)
	}
	return fmt.Sprintf("\nno history there yet: create it with 'duesight%s gen' (synthetic) or 'duesight%s import' (your files, see duesight help import)",
		store, store)
}
