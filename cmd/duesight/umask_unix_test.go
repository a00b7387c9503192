//go:build unix

package main

import (
	"syscall"
	"testing"
)

// withUmask sets the process umask to m for the test and reports that file
// modes can be checked.
func withUmask(t *testing.T, m int) bool {
	old := syscall.Umask(m)
	t.Cleanup(func() { syscall.Umask(old) })
	return true
}
