package clickhouse

import (
	"context"
	"slices"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/ext"

	"github.com/duesight/duesight/data"
)

// keysTable is the name of the external table that carries Lookup keys.
const keysTable = "lookup_keys"

// uniqueKeys returns the distinct non-empty keys, sorted.
func uniqueKeys(keys []string) []string {
	out := slices.DeleteFunc(slices.Clone(keys), func(k string) bool { return k == "" })
	slices.Sort(out)
	return slices.Compact(out)
}

// Lookup returns the stored rows named by keys from one snapshot. Keys are
// sent as an external table (lookup_keys, LookupChunk keys per query), so
// one query per kind and chunk scans the id column once however many keys
// are asked for. Versioned kinds return their newest committed version.
func (s *Store) Lookup(ctx context.Context, keys data.Keys) (*data.Batch, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	out := &data.Batch{}
	snap, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	if out.Accounts, err = lookupKind(ctx, s, snap, accountKind, "account_id", keys.Accounts, nil); err != nil {
		return nil, err
	}
	if out.Invoices, err = lookupKind(ctx, s, snap, invoiceKind, "id", keys.Invoices, nil); err != nil {
		return nil, err
	}
	if out.Payments, err = lookupKind(ctx, s, snap, paymentKind, "id", keys.Payments, nil); err != nil {
		return nil, err
	}
	byID := len(out.Payments)
	if out.Payments, err = lookupKind(ctx, s, snap, paymentKind, "invoice_id", keys.PaymentsOfInvoices, out.Payments); err != nil {
		return nil, err
	}
	if byID > 0 && len(out.Payments) > byID {
		// A payment named by id and by its invoice is returned once.
		seen := make(map[string]bool, byID)
		for _, p := range out.Payments[:byID] {
			seen[p.ID] = true
		}
		kept := out.Payments[:byID] // filtered in place: writes never pass reads
		for _, p := range out.Payments[byID:] {
			if !seen[p.ID] {
				kept = append(kept, p)
			}
		}
		out.Payments = kept
	}
	if out.Contacts, err = lookupKind(ctx, s, snap, contactKind, "id", keys.Contacts, nil); err != nil {
		return nil, err
	}
	if out.Disputes, err = lookupKind(ctx, s, snap, disputeKind, "id", keys.Disputes, nil); err != nil {
		return nil, err
	}
	return out, nil
}

// lookupKind appends to dst the rows of k whose column col is one of keys.
func lookupKind[T any](ctx context.Context, s *Store, snap snapshot, k kind[T], col string, keys []string, dst []T) ([]T, error) {
	keys = uniqueKeys(keys)
	for start := 0; start < len(keys); start += s.opt.LookupChunk {
		chunk := keys[start:min(len(keys), start+s.opt.LookupChunk)]
		tbl, err := ext.NewTable(keysTable, ext.Column("k", "String"))
		if err != nil {
			return nil, errorf(data.Internal, err, "clickhouse: lookup %s: build key table", k.table)
		}
		for _, key := range chunk {
			if err := tbl.Append(key); err != nil {
				return nil, errorf(data.Internal, err, "clickhouse: lookup %s: build key table", k.table)
			}
		}
		order := "id, seq"
		if k.table == "accounts" {
			order = "account_id, seq"
		}
		q := "SELECT " + k.cols + " FROM " + s.d.table(k.table) + " WHERE " +
			where(s.filter(snap), col+" "+s.d.in()+" (SELECT k FROM "+keysTable+")") + " ORDER BY " + order
		rows, err := s.conn.Query(ch.Context(ctx, ch.WithExternalTable(tbl)), q)
		if err != nil {
			return nil, fail(err, "lookup %s by %s", k.table, col)
		}
		var last string
		first := len(dst)
		scan := k.scanner()
		for rows.Next() {
			r, err := scan(rows)
			if err != nil {
				rows.Close()
				return nil, fail(err, "lookup %s by %s", k.table, col)
			}
			// Rows come ordered by id, seq: the last of equal ids is the
			// newest version.
			if id := k.id(&r); k.versioned && len(dst) > first && id == last {
				dst[len(dst)-1] = r
			} else {
				dst = append(dst, r)
				last = id
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fail(err, "lookup %s by %s", k.table, col)
		}
	}
	return dst, nil
}
