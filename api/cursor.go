package api

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"time"
)

// cursor is the position of a worklist client in a ranking snapshot.
//
// Stability: the backend ranks once into an immutable snapshot (first
// page) and the cursor carries (snapshot id, offset), so later pages are
// cut from the same ranking: no account repeats or is skipped while live
// scores change. The first page's segment and as_of ride along so that a
// cursor cannot be combined with a different filter. When the backend has
// dropped the snapshot the API answers 410 and the client starts over.
//
// Wire form: base64url (no padding) of
//
//	version byte (1) | uvarint offset | uvarint len + snapshot |
//	uvarint len + segment | varint as_of unix seconds | uvarint as_of nanos |
//	CRC-32 (IEEE, big endian) of everything before
//
// The checksum catches truncation and hand-editing; the cursor is opaque,
// not secret (it names no account and no amount).
type cursor struct {
	snapshot string
	offset   int
	segment  string
	asOf     time.Time // zero when the first page used the backend's clock
}

const (
	cursorVersion = 1
	// maxCursorLen bounds the encoded cursor (snapshot ≤ 128 bytes and
	// segment ≤ data.MaxTextLen fit).
	maxCursorLen = 2048
	// maxSnapshotLen bounds the backend's snapshot ids.
	maxSnapshotLen = 128
)

var errBadCursor = errors.New("is not a cursor issued by this API (malformed or altered)")

func (c *cursor) encode() string {
	b := make([]byte, 0, 32+len(c.snapshot)+len(c.segment))
	b = append(b, cursorVersion)
	b = binary.AppendUvarint(b, uint64(c.offset))
	b = binary.AppendUvarint(b, uint64(len(c.snapshot)))
	b = append(b, c.snapshot...)
	b = binary.AppendUvarint(b, uint64(len(c.segment)))
	b = append(b, c.segment...)
	var sec int64
	var nsec uint64
	if !c.asOf.IsZero() {
		sec, nsec = c.asOf.Unix(), uint64(c.asOf.Nanosecond())
	}
	b = binary.AppendVarint(b, sec)
	b = binary.AppendUvarint(b, nsec)
	b = binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (*cursor, error) {
	if len(s) == 0 || len(s) > maxCursorLen {
		return nil, errBadCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 5 {
		return nil, errBadCursor
	}
	body, sum := b[:len(b)-4], binary.BigEndian.Uint32(b[len(b)-4:])
	if crc32.ChecksumIEEE(body) != sum || body[0] != cursorVersion {
		return nil, errBadCursor
	}
	rd := body[1:]
	uv := func() (uint64, bool) {
		v, n := binary.Uvarint(rd)
		if n <= 0 {
			return 0, false
		}
		rd = rd[n:]
		return v, true
	}
	str := func() (string, bool) {
		n, ok := uv()
		if !ok || n > uint64(len(rd)) {
			return "", false
		}
		s := string(rd[:n])
		rd = rd[n:]
		return s, true
	}
	c := &cursor{}
	off, ok1 := uv()
	snap, ok2 := str()
	seg, ok3 := str()
	if !ok1 || !ok2 || !ok3 || off > 1<<31-1 || snap == "" || len(snap) > maxSnapshotLen || checkText(seg) != "" {
		return nil, errBadCursor
	}
	sec, n := binary.Varint(rd)
	if n <= 0 {
		return nil, errBadCursor
	}
	rd = rd[n:]
	nsec, ok := uv()
	if !ok || len(rd) != 0 || nsec >= 1e9 {
		return nil, errBadCursor
	}
	c.offset, c.snapshot, c.segment = int(off), snap, seg
	if sec != 0 || nsec != 0 {
		c.asOf = time.Unix(sec, int64(nsec)).UTC()
	}
	return c, nil
}
