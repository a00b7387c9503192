package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
)

// writeFileAtomic writes path through a synced temporary file in the same
// directory renamed into place, so a failed write leaves the old file (or
// none), never a torn one. The file gets mode 0666 less the umask (0644
// usually), like a file written by any other tool: exports and artifacts
// are meant to be shared (os.CreateTemp would make them 0600).
func writeFileAtomic(path string, write func(w io.Writer) error) error {
	tmp, err := createTemp(filepath.Dir(path), "."+filepath.Base(path)+".")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	err = write(tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// createTemp creates a new file prefix+random+".tmp" in dir with mode 0666
// before the umask.
func createTemp(dir, prefix string) (*os.File, error) {
	for range 100 {
		name := filepath.Join(dir, prefix+strconv.FormatUint(rand.Uint64(), 36)+".tmp")
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, err
	}
	return nil, fmt.Errorf("create a temporary file in %s: too many name collisions", dir)
}

// writeBytes adapts a byte producer to writeFileAtomic.
func writeBytes(gen func() ([]byte, error)) func(io.Writer) error {
	return func(w io.Writer) error {
		b, err := gen()
		if err == nil {
			_, err = w.Write(b)
		}
		return err
	}
}
