//go:build !unix

package model

import (
	"fmt"
	"os"
	"runtime"
)

func tryLock(f *os.File, exclusive bool) (bool, error) {
	return false, fmt.Errorf("model registry: file locking is not implemented on %s", runtime.GOOS)
}

func unlock(f *os.File) {}
