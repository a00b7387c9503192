package clickhouse

import (
	"context"
	"fmt"
	"math"
	"strconv"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/ext"

	"github.com/duesight/duesight/data"
)

const actionCols = "id, version, account_id, account_hash, invoice_id, policy, step, channel, due_at, status, attempt, updated_at, provider_ref, detail"

type actionKey struct {
	id      string
	version uint64
}

// AppendActions validates and normalises the records (data.PrepareActions),
// reads the stored records of their ids, ignores records whose (ID,
// Version) is stored with identical content, rejects the call with Conflict
// if one is stored with different content, and inserts the rest as one
// block (one part of the unpartitioned actions table: all or nothing).
//
// Race: the check and the insert are two statements. Calls within one
// Store are serialised; two processes appending the same (ID, Version)
// with different content at the same instant can both succeed, and
// readers then see either record (argMax picks one). The dunning executor
// derives versions from its own claim, so this needs two executors
// claiming the same action concurrently.
func (s *Store) AppendActions(ctx context.Context, actions []data.Action) error {
	if err := s.check(); err != nil {
		return err
	}
	norm, err := data.PrepareActions(actions)
	if err != nil {
		return err
	}
	for i, a := range norm {
		if a.Attempt > math.MaxUint32 {
			return rowError(data.KindAction, i, a.ID, "attempt", fmt.Sprintf("%d does not fit in UInt32", a.Attempt))
		}
	}
	if len(norm) == 0 {
		return nil
	}
	s.ledgerMu.Lock()
	defer s.ledgerMu.Unlock()
	ids := make([]string, len(norm))
	for i, a := range norm {
		ids[i] = a.ID
	}
	stored := map[actionKey]data.Action{}
	ids = uniqueKeys(ids)
	for start := 0; start < len(ids); start += s.opt.LookupChunk {
		if err := s.storedActions(ctx, ids[start:min(len(ids), start+s.opt.LookupChunk)], stored); err != nil {
			return err
		}
	}
	var add []data.Action
	for _, a := range norm {
		k := actionKey{a.ID, a.Version}
		if old, ok := stored[k]; ok {
			if !old.Equal(a) {
				return errorf(data.Conflict, nil, "clickhouse: action %q version %d is already stored with different content", a.ID, a.Version)
			}
			continue // stored, or repeated within this call
		}
		stored[k] = a
		add = append(add, a)
	}
	if len(add) == 0 {
		return nil
	}
	b, err := s.prepareBatch(ctx, "INSERT INTO "+s.d.table("actions")+" ("+actionCols+")")
	if err != nil {
		return fail(err, "append actions")
	}
	for _, a := range add {
		if err := b.Append(a.ID, a.Version, a.AccountID, data.AccountHash(a.AccountID), a.InvoiceID, a.Policy, a.Step,
			uint8(a.Channel), a.DueAt.Unix(), uint8(a.Status), uint32(a.Attempt), a.UpdatedAt.Unix(), a.ProviderRef, a.Detail); err != nil {
			_ = b.Abort()
			return fail(err, "append actions")
		}
	}
	if err := b.Send(); err != nil {
		return fail(err, "append actions")
	}
	return nil
}

// storedActions adds the stored records of ids to m.
func (s *Store) storedActions(ctx context.Context, ids []string, m map[actionKey]data.Action) error {
	tbl, err := ext.NewTable(keysTable, ext.Column("k", "String"))
	if err != nil {
		return errorf(data.Internal, err, "clickhouse: read stored actions: build key table")
	}
	for _, id := range ids {
		if err := tbl.Append(id); err != nil {
			return errorf(data.Internal, err, "clickhouse: read stored actions: build key table")
		}
	}
	q := "SELECT id, account_id, invoice_id, policy, step, channel, toUInt32(due_at), status, attempt, version, " +
		"toUInt32(updated_at), provider_ref, detail FROM " + s.d.table("actions") +
		" WHERE id " + s.d.in() + " (SELECT k FROM " + keysTable + ")"
	rows, err := s.conn.Query(ch.Context(ctx, ch.WithExternalTable(tbl)), q)
	if err != nil {
		return fail(err, "read stored actions")
	}
	defer rows.Close()
	for rows.Next() {
		a, err := scanAction(rows)
		if err != nil {
			return fail(err, "read stored actions")
		}
		m[actionKey{a.ID, a.Version}] = a
	}
	if err := rows.Err(); err != nil {
		return fail(err, "read stored actions")
	}
	return nil
}

type scanner interface{ Scan(dest ...any) error }

func scanAction(rows scanner) (data.Action, error) {
	var a data.Action
	var channel, status uint8
	var due, updated, attempt uint32
	err := rows.Scan(&a.ID, &a.AccountID, &a.InvoiceID, &a.Policy, &a.Step, &channel, &due, &status, &attempt,
		&a.Version, &updated, &a.ProviderRef, &a.Detail)
	a.Channel, a.DueAt, a.Status, a.Attempt, a.UpdatedAt = data.Channel(channel), timeOf(due), data.ActionStatus(status),
		int(attempt), timeOf(updated)
	return a, err
}

// Actions returns the current state (the record with the highest Version)
// of each action matching q, ordered by DueAt then ID. The current state
// is computed by argMax(column, version) per id, and q filters it (HAVING),
// so an action that moved away from q's status is not returned.
func (s *Store) Actions(ctx context.Context, q data.ActionQuery) ([]data.Action, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	t := s.d.table("actions")
	sql := "SELECT id, argMax(account_id, version) AS cur_account, argMax(invoice_id, version), argMax(policy, version), " +
		"argMax(step, version), argMax(channel, version), toUInt32(argMax(due_at, version)) AS cur_due, " +
		"argMax(status, version) AS cur_status, argMax(attempt, version), max(version), " +
		"toUInt32(argMax(updated_at, version)), argMax(provider_ref, version), argMax(detail, version) FROM " + t
	var args []any
	var having []string
	if q.AccountID != "" {
		// Prefilter on the ids that ever had this account, then check the
		// current state's account.
		sql += " WHERE id " + s.d.in() + " (SELECT id FROM " + t + " WHERE account_id = ?)"
		args = append(args, q.AccountID)
		having = append(having, "cur_account = ?")
		args = append(args, q.AccountID)
	}
	if q.Status != 0 {
		having = append(having, "cur_status = "+strconv.Itoa(int(q.Status)))
	}
	if !q.DueBefore.IsZero() {
		// DueAt < DueBefore ⇔ due (whole seconds) < ⌈DueBefore⌉s.
		lim := ceilUnix(q.DueBefore)
		switch {
		case lim <= 0:
			return nil, nil
		case lim <= math.MaxUint32:
			having = append(having, "cur_due < "+strconv.FormatInt(lim, 10))
		}
	}
	sql += " GROUP BY id"
	if len(having) > 0 {
		sql += " HAVING " + where(having...)
	}
	sql += " ORDER BY cur_due, id"
	rows, err := s.conn.Query(ctx, sql, args...)
	if err != nil {
		return nil, fail(err, "read actions")
	}
	defer rows.Close()
	var out []data.Action
	for rows.Next() {
		a, err := scanAction(rows)
		if err != nil {
			return nil, fail(err, "read actions")
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fail(err, "read actions")
	}
	data.SortActions(out) // ClickHouse sorts strings bytewise too; this pins the contract
	return out, nil
}
