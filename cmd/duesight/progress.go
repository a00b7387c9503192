package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// progress draws a one-line progress bar on a terminal and nothing
// elsewhere: with a known total, the bar, the percentage, the amount done
// of the total, an optional count (rows while the bar measures bytes) and
// the estimated time left; without one, the amount done and the rate.
// Updates are throttled to 10 per second. Not safe for concurrent use.
type progress struct {
	w         io.Writer // nil when disabled
	label     string
	unit      string
	total     int64 // 0 = unknown
	now       func() time.Time
	start     time.Time
	drawn     time.Time
	done      int64
	count     int64 // shown when countUnit is set
	countUnit string
	started   bool
}

func (a *app) newProgress(label, unit string, total int64) *progress {
	p := &progress{label: label, unit: unit, total: total, now: a.now}
	if a.isTerminal(a.io.err) {
		p.w = a.io.err
	}
	return p
}

// Set records done units of work and redraws if due.
func (p *progress) Set(done int64) {
	if p == nil || p.w == nil {
		return
	}
	now := p.now()
	if !p.started {
		p.start, p.started = now, true
	}
	p.done = done
	if now.Sub(p.drawn) < 100*time.Millisecond {
		return
	}
	p.drawn = now
	p.draw(now)
}

// SetCount records a count shown beside the bar, e.g. rows read while the
// bar measures bytes; it is drawn with the next Set.
func (p *progress) SetCount(n int64, unit string) {
	if p != nil {
		p.count, p.countUnit = n, unit
	}
}

func (p *progress) draw(now time.Time) {
	fmt.Fprintf(p.w, "\r%s   ", p.line(now))
}

// line renders the progress line as of now.
func (p *progress) line(now time.Time) string {
	el := now.Sub(p.start).Seconds()
	count := ""
	if p.countUnit != "" {
		count = fmt.Sprintf("  %s %s", human(float64(p.count)), p.countUnit)
	}
	if p.total > 0 {
		frac := min(1, float64(p.done)/float64(p.total))
		const width = 30
		n := int(frac * width)
		eta := ""
		if el >= 1 && p.done > 0 && p.done < p.total {
			left := time.Duration(el * float64(p.total-p.done) / float64(p.done) * float64(time.Second))
			eta = "  ETA " + clock(left)
		}
		return fmt.Sprintf("%s [%s%s] %3.0f%%%s  %s/%s %s%s", p.label, strings.Repeat("=", n), strings.Repeat(" ", width-n), 100*frac,
			count, human(float64(p.done)), human(float64(p.total)), p.unit, eta)
	}
	rate := ""
	if el > 0.2 {
		rate = fmt.Sprintf("  %s %s/s", human(float64(p.done)/el), p.unit)
	}
	return fmt.Sprintf("%s %s %s%s%s", p.label, human(float64(p.done)), p.unit, count, rate)
}

// clock formats d as m:ss or h:mm:ss.
func clock(d time.Duration) string {
	s := int(d.Round(time.Second).Seconds())
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// Finish draws the final state and ends the line.
func (p *progress) Finish() {
	if p == nil || p.w == nil || !p.started {
		return
	}
	p.draw(p.now())
	fmt.Fprintln(p.w)
}

// human formats n with a k/M/G suffix.
func human(n float64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2fG", n/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.2fM", n/1e6)
	case n >= 1e4:
		return fmt.Sprintf("%.1fk", n/1e3)
	}
	return fmt.Sprintf("%.0f", n)
}
