package api

import (
	"math"
	"sync"
	"time"
)

// RateLimit configures the per-key token bucket: each API key may make
// Burst requests at once and PerSecond requests per second on average.
// The zero value means 50 requests/s with a burst of 100.
type RateLimit struct {
	// PerSecond is the refill rate; 0 means 50; negative disables limits.
	PerSecond float64
	// Burst is the bucket size; 0 means 2×PerSecond (at least 1).
	Burst int
}

func (r RateLimit) withDefaults() RateLimit {
	if r.PerSecond == 0 {
		r.PerSecond = 50
	}
	if r.Burst <= 0 {
		r.Burst = max(1, int(math.Ceil(2*r.PerSecond)))
	}
	return r
}

// limiter holds one token bucket per key id. Buckets exist only for
// authenticated keys, so the map is bounded by the number of keys; buckets
// idle long enough to be full again are dropped when it grows.
type limiter struct {
	rate    float64 // tokens per second
	burst   float64
	clock   func() time.Time
	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// maxIdleBuckets is the map size above which full buckets are swept.
const maxIdleBuckets = 4096

func newLimiter(r RateLimit, clock func() time.Time) *limiter {
	if r.PerSecond < 0 {
		return nil
	}
	r = r.withDefaults()
	return &limiter{rate: r.PerSecond, burst: float64(r.Burst), clock: clock, buckets: map[string]*bucket{}}
}

// allow takes a token from id's bucket. When none is left it returns false
// and how long until one is.
func (l *limiter) allow(id string) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	now := l.clock()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[id]
	if b == nil {
		if len(l.buckets) >= maxIdleBuckets {
			l.sweep(now)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[id] = b
	}
	if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.tokens = min(l.burst, b.tokens+dt*l.rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	return false, wait
}

// sweep drops buckets that have refilled completely (callers hold mu).
func (l *limiter) sweep(now time.Time) {
	full := time.Duration(l.burst / l.rate * float64(time.Second))
	for id, b := range l.buckets {
		if now.Sub(b.last) >= full {
			delete(l.buckets, id)
		}
	}
}
