package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// progress draws a one-line progress bar on a terminal and nothing
// elsewhere. Updates are throttled to 10 per second. Not safe for
// concurrent use.
type progress struct {
	w       io.Writer // nil when disabled
	label   string
	unit    string
	total   int64 // 0 = unknown
	now     func() time.Time
	start   time.Time
	drawn   time.Time
	done    int64
	started bool
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

func (p *progress) draw(now time.Time) {
	rate := ""
	if el := now.Sub(p.start).Seconds(); el > 0.2 {
		rate = fmt.Sprintf(" %s %s/s", human(float64(p.done)/el), p.unit)
	}
	if p.total > 0 {
		frac := min(1, float64(p.done)/float64(p.total))
		const width = 30
		n := int(frac * width)
		fmt.Fprintf(p.w, "\r%s [%s%s] %3.0f%%%s   ", p.label, strings.Repeat("=", n), strings.Repeat(" ", width-n), 100*frac, rate)
		return
	}
	fmt.Fprintf(p.w, "\r%s %s %s%s   ", p.label, human(float64(p.done)), p.unit, rate)
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
