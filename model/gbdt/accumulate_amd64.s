#include "textflag.h"

// func accumulateSSE2(hist *gradPair, bins *uint8, nf int, off *int32, rows *int32, nrows int, gp *gradPair)
//
// For each of the nrows row indices r in rows, and each feature f < nf:
// hist[off[f] + bins[r*nf+f]] += gp[r], adding the (g, h) pair with one
// ADDPD. nf ≥ 1. See accumulate for the invariants that keep every access
// in range.
TEXT ·accumulateSSE2(SB), NOSPLIT, $0-56
	MOVQ hist+0(FP), DI
	MOVQ bins+8(FP), SI
	MOVQ nf+16(FP), CX
	MOVQ off+24(FP), R8
	MOVQ rows+32(FP), R9
	MOVQ nrows+40(FP), R10
	MOVQ gp+48(FP), R11
	TESTQ R10, R10
	JEQ done

rowloop:
	MOVLQSX (R9), AX
	MOVQ AX, BX
	SHLQ $4, BX
	MOVUPD (R11)(BX*1), X0
	IMULQ CX, AX
	LEAQ (SI)(AX*1), R12
	XORQ R13, R13
	MOVQ CX, R14
	ANDQ $-2, R14
	JEQ tail

pairloop:
	MOVBQZX (R12)(R13*1), AX
	MOVLQSX (R8)(R13*4), DX
	ADDQ DX, AX
	SHLQ $4, AX
	MOVBQZX 1(R12)(R13*1), BX
	MOVLQSX 4(R8)(R13*4), DX
	ADDQ DX, BX
	SHLQ $4, BX
	MOVUPD (DI)(AX*1), X1
	ADDPD X0, X1
	MOVUPD X1, (DI)(AX*1)
	MOVUPD (DI)(BX*1), X2
	ADDPD X0, X2
	MOVUPD X2, (DI)(BX*1)
	ADDQ $2, R13
	CMPQ R13, R14
	JLT pairloop

tail:
	CMPQ R13, CX
	JGE nextrow
	MOVBQZX (R12)(R13*1), AX
	MOVLQSX (R8)(R13*4), DX
	ADDQ DX, AX
	SHLQ $4, AX
	MOVUPD (DI)(AX*1), X1
	ADDPD X0, X1
	MOVUPD X1, (DI)(AX*1)

nextrow:
	ADDQ $4, R9
	DECQ R10
	JNZ rowloop

done:
	RET
