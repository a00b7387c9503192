//go:build !unix

package api

import "context"

// lockFile is a no-op without flock: KeyStore still serialises its own
// writers, but two processes changing the key file at once may lose one
// change. duesight supports key management on Unix systems only.
func lockFile(ctx context.Context, _ string) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return func() {}, nil
}
