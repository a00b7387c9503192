//go:build !unix

package main

import "testing"

// withUmask reports that file modes cannot be checked here.
func withUmask(t *testing.T, m int) bool { return false }
