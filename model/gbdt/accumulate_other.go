//go:build !amd64

package gbdt

// accumulateKernel is the portable Go kernel on non-amd64 platforms.
func accumulateKernel(hist []gradPair, bins []uint8, nf int, off []int32, rows []int32, gp []gradPair) {
	accumulateGo(hist, bins, nf, off, rows, gp)
}
