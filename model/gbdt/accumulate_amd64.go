package gbdt

import "unsafe"

// accumulateSSE2 is the amd64 histogram kernel (accumulate_amd64.s): for
// each of the nrows indices r in rows and each feature f < nf,
// hist[off[f]+bins[r*nf+f]] += gp[r].
//
//go:noescape
func accumulateSSE2(hist *gradPair, bins *uint8, nf int, off *int32, rows *int32, nrows int, gp *gradPair)

// accumulateKernel runs the assembly kernel; accumulate has checked the
// shapes and that rows is not empty.
func accumulateKernel(hist []gradPair, bins []uint8, nf int, off []int32, rows []int32, gp []gradPair) {
	accumulateSSE2(unsafe.SliceData(hist), unsafe.SliceData(bins), nf, unsafe.SliceData(off),
		unsafe.SliceData(rows), len(rows), unsafe.SliceData(gp))
}
