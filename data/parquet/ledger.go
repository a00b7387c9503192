package parquet

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/duesight/duesight/data"
)

// Ledger file format (DIR/ledger.log):
//
//	magic "DSLEDGR1"
//	frame*: u32 little-endian payload length | u32 CRC-32C of payload | payload
//	payload: uvarint record count, then each record:
//	  id, account_id, invoice_id, policy, step (uvarint length + bytes each),
//	  channel (1 byte code), due_at (varint unix seconds), status (1 byte code),
//	  attempt (uvarint), version (uvarint), updated_at (varint unix seconds),
//	  provider_ref, detail (uvarint length + bytes each)
//
// One AppendActions call is one frame, written with one pwrite and fsynced
// before the call returns, so a call is all-or-nothing. A frame that
// extends past the end of the file, or fails its CRC and is followed only by
// zero bytes or nothing, is a torn tail from a crash: readers ignore it and
// the next append truncates it. A bad frame followed by more data is
// corruption and is reported with the file and offset.
const (
	ledgerMagic     = "DSLEDGR1"
	frameHeader     = 8
	maxFramePayload = 1 << 30
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

type verKey struct {
	id string
	v  uint64
}

// ledger is the in-process view of the ledger file: records up to off are
// applied to cur (current state per id) and vers (content hash per id and
// version, for conflict checks).
type ledger struct {
	path string
	ro   bool
	mu   sync.Mutex // guards everything below
	f    *os.File
	off  int64
	cur  map[string]data.Action
	vers map[verKey]uint64
}

func (l *ledger) init(path string, ro bool) {
	l.path, l.ro = path, ro
	l.cur = map[string]data.Action{}
	l.vers = map[verKey]uint64{}
}

func (l *ledger) open() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	flag := os.O_RDWR | os.O_CREATE
	if l.ro {
		flag = os.O_RDONLY
	}
	f, err := os.OpenFile(l.path, flag, 0o644)
	if err != nil {
		if l.ro && errors.Is(err, os.ErrNotExist) {
			return nil // no ledger yet: empty
		}
		return errorf(data.Unavailable, "parquet store: open ledger %s: %w", l.path, err)
	}
	l.f = f
	if !l.ro {
		if err := syncDir(filepath.Dir(l.path)); err != nil {
			return errorf(data.Unavailable, "parquet store: %w", err)
		}
	}
	_, err = l.refresh()
	return err
}

func (l *ledger) close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// refresh applies frames appended since off. It returns the file size; a
// size beyond off after refresh is a torn tail.
func (l *ledger) refresh() (int64, error) {
	if l.f == nil {
		return 0, nil
	}
	fi, err := l.f.Stat()
	if err != nil {
		return 0, errorf(data.Unavailable, "parquet store: stat ledger %s: %w", l.path, err)
	}
	size := fi.Size()
	if size < l.off {
		return 0, errorf(data.Internal, "parquet store: ledger %s shrank from %d to %d bytes: %w", l.path, l.off, size, ErrCorrupt)
	}
	if size == l.off {
		return size, nil
	}
	buf := make([]byte, size-l.off)
	if _, err := l.f.ReadAt(buf, l.off); err != nil && !errors.Is(err, io.EOF) {
		return 0, errorf(data.Unavailable, "parquet store: read ledger %s: %w", l.path, err)
	}
	pos := 0
	if l.off == 0 {
		if len(buf) < len(ledgerMagic) {
			if bytes.HasPrefix([]byte(ledgerMagic), buf) {
				return size, nil // torn header of a new ledger
			}
			return 0, errorf(data.Internal, "parquet store: ledger %s: bad header: %w", l.path, ErrCorrupt)
		}
		if string(buf[:len(ledgerMagic)]) != ledgerMagic {
			return 0, errorf(data.Internal, "parquet store: ledger %s: bad magic %q: %w", l.path, buf[:len(ledgerMagic)], ErrCorrupt)
		}
		pos = len(ledgerMagic)
		l.off = int64(pos)
	}
	for pos < len(buf) {
		rest := buf[pos:]
		at := l.off
		if len(rest) < frameHeader {
			return size, nil // torn frame header
		}
		n := int(binary.LittleEndian.Uint32(rest[0:4]))
		sum := binary.LittleEndian.Uint32(rest[4:8])
		if n > maxFramePayload || frameHeader+n > len(rest) {
			return size, nil // the frame runs past the end: torn tail
		}
		payload := rest[frameHeader : frameHeader+n]
		if n == 0 || crc32.Checksum(payload, castagnoli) != sum {
			if allZero(rest[frameHeader+n:]) {
				return size, nil // a torn last frame
			}
			return 0, errorf(data.Internal, "parquet store: ledger %s: bad frame at offset %d (checksum mismatch followed by more data): %w",
				l.path, at, ErrCorrupt)
		}
		recs, err := decodeActions(payload)
		if err != nil {
			return 0, errorf(data.Internal, "parquet store: ledger %s: frame at offset %d: %w: %w", l.path, at, ErrCorrupt, err)
		}
		for _, r := range recs {
			l.apply(r.a, r.sum)
		}
		pos += frameHeader + n
		l.off += int64(frameHeader + n)
	}
	return size, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func (l *ledger) apply(a data.Action, sum uint64) {
	k := verKey{a.ID, a.Version}
	if _, ok := l.vers[k]; ok {
		return
	}
	l.vers[k] = sum
	if c, ok := l.cur[a.ID]; !ok || a.Version > c.Version {
		l.cur[a.ID] = a
	}
}

// AppendActions implements data.Ledger. Records are validated with
// data.PrepareActions; a record whose (ID, Version) is stored with other
// content is a data.Conflict and nothing of the call is written. The call's
// new records are one frame, fsynced before returning.
func (s *Store) AppendActions(ctx context.Context, actions []data.Action) error {
	if s.opts.ReadOnly {
		return errorf(data.Invalid, "parquet store %s: opened read-only", s.dir)
	}
	prep, err := data.PrepareActions(actions)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	l := &s.ledger
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return errorf(data.Unavailable, "parquet store %s: closed", s.dir)
	}
	// Exclusive flock on the ledger file against other processes.
	for {
		err := syscall.Flock(int(l.f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return errorf(data.Unavailable, "parquet store: lock ledger %s: %w", l.path, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
	defer syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	size, err := l.refresh()
	if err != nil {
		return err
	}
	var recs []encoded
	seen := map[verKey]bool{}
	for _, a := range prep {
		raw := encodeAction(nil, a)
		sum := hashOf(raw)
		k := verKey{a.ID, a.Version}
		if old, ok := l.vers[k]; ok {
			if old != sum {
				return errorf(data.Conflict, "action %q version %d already stored with different content", a.ID, a.Version)
			}
			continue
		}
		if seen[k] {
			continue
		}
		seen[k] = true
		recs = append(recs, encoded{a: a, raw: raw, sum: sum})
	}
	if len(recs) == 0 {
		return nil
	}
	if size > l.off { // a torn tail from a crashed append
		if err := l.f.Truncate(l.off); err != nil {
			return errorf(data.Unavailable, "parquet store: truncate torn tail of ledger %s: %w", l.path, err)
		}
		s.log.Warn("ledger: dropped a torn tail", "offset", l.off, "bytes", size-l.off)
	}
	var frame []byte
	if l.off == 0 {
		frame = append(frame, ledgerMagic...)
	}
	hdr := len(frame)
	frame = append(frame, make([]byte, frameHeader)...)
	frame = binary.AppendUvarint(frame, uint64(len(recs)))
	for _, r := range recs {
		frame = append(frame, r.raw...)
	}
	payload := frame[hdr+frameHeader:]
	if len(payload) > maxFramePayload {
		return errorf(data.Invalid, "parquet store: %d actions encode to %d bytes, over the %d-byte frame limit", len(recs), len(payload), maxFramePayload)
	}
	binary.LittleEndian.PutUint32(frame[hdr:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(frame[hdr+4:], crc32.Checksum(payload, castagnoli))
	if _, err := l.f.WriteAt(frame, l.off); err != nil {
		return errorf(data.Unavailable, "parquet store: append to ledger %s: %w", l.path, err)
	}
	if err := l.f.Sync(); err != nil {
		return errorf(data.Unavailable, "parquet store: sync ledger %s: %w", l.path, err)
	}
	l.off += int64(len(frame))
	for _, r := range recs {
		l.apply(r.a, r.sum)
	}
	return nil
}

// Actions implements data.Ledger.
func (s *Store) Actions(ctx context.Context, q data.ActionQuery) ([]data.Action, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	l := &s.ledger
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.refresh(); err != nil {
		return nil, err
	}
	var out []data.Action
	for _, a := range l.cur {
		if q.Match(a) {
			out = append(out, a)
		}
	}
	data.SortActions(out)
	return out, nil
}

type encoded struct {
	a   data.Action
	raw []byte
	sum uint64
}

func hashOf(b []byte) uint64 {
	h := fnv.New64a()
	_, _ = h.Write(b)
	return h.Sum64()
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// encodeAction appends the record encoding of a to b.
func encodeAction(b []byte, a data.Action) []byte {
	b = appendString(b, a.ID)
	b = appendString(b, a.AccountID)
	b = appendString(b, a.InvoiceID)
	b = appendString(b, a.Policy)
	b = appendString(b, a.Step)
	b = append(b, byte(a.Channel))
	b = binary.AppendVarint(b, secondsOf(a.DueAt))
	b = append(b, byte(a.Status))
	b = binary.AppendUvarint(b, uint64(a.Attempt))
	b = binary.AppendUvarint(b, a.Version)
	b = binary.AppendVarint(b, secondsOf(a.UpdatedAt))
	b = appendString(b, a.ProviderRef)
	return appendString(b, a.Detail)
}

type decodedAction struct {
	a   data.Action
	sum uint64
}

// decoder reads the record encoding; the first error sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errors.New("bad uvarint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errors.New("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte1() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.err = io.ErrUnexpectedEOF
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) str() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.b)) {
		d.err = fmt.Errorf("string of %d bytes past the end of the frame", n)
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func decodeActions(payload []byte) ([]decodedAction, error) {
	d := &decoder{b: payload}
	n := d.uvarint()
	if d.err != nil {
		return nil, d.err
	}
	if n > uint64(len(payload)) {
		return nil, fmt.Errorf("record count %d exceeds the frame size", n)
	}
	out := make([]decodedAction, 0, n)
	for i := uint64(0); i < n; i++ {
		start := d.b
		var a data.Action
		a.ID = d.str()
		a.AccountID = d.str()
		a.InvoiceID = d.str()
		a.Policy = d.str()
		a.Step = d.str()
		a.Channel = data.Channel(d.byte1())
		a.DueAt = unixOrZero(d.varint())
		a.Status = data.ActionStatus(d.byte1())
		a.Attempt = int(d.uvarint())
		a.Version = d.uvarint()
		a.UpdatedAt = unixOrZero(d.varint())
		a.ProviderRef = d.str()
		a.Detail = d.str()
		if d.err != nil {
			return nil, fmt.Errorf("record %d: %w", i, d.err)
		}
		out = append(out, decodedAction{a: a, sum: hashOf(start[:len(start)-len(d.b)])})
	}
	if len(d.b) != 0 {
		return nil, fmt.Errorf("%d bytes after the last record", len(d.b))
	}
	return out, nil
}
