package data

// AccountHash is the 32-bit FNV-1a hash of an account id. Both stores persist
// it (ClickHouse uses it as the sharding key) so that shard membership is
// identical everywhere and never depends on an engine's hash functions.
func AccountHash(accountID string) uint32 {
	const (
		offset32 = 2166136261
		prime32  = 16777619
	)
	h := uint32(offset32)
	for i := 0; i < len(accountID); i++ {
		h ^= uint32(accountID[i])
		h *= prime32
	}
	return h
}

// Shard selects the accounts whose AccountHash % Of == Index. The zero value
// (Of == 0) selects every account.
type Shard struct {
	Index int // k, 0 ≤ k < Of
	Of    int // n
}

// Contains reports whether the account belongs to the shard.
func (s Shard) Contains(accountID string) bool {
	return s.Of <= 1 || int(AccountHash(accountID)%uint32(s.Of)) == s.Index
}

// ContainsHash is Contains for a precomputed AccountHash.
func (s Shard) ContainsHash(h uint32) bool {
	return s.Of <= 1 || int(h%uint32(s.Of)) == s.Index
}

// Validate checks 0 ≤ Index < Of (or the zero value).
func (s Shard) Validate() error {
	if s.Of == 0 && s.Index == 0 {
		return nil
	}
	if s.Of < 1 || s.Index < 0 || s.Index >= s.Of {
		return Errorf(Invalid, "shard %d of %d: want 0 ≤ k < n", s.Index, s.Of)
	}
	return nil
}
