package logreg

import (
	"context"
	"fmt"
	"log/slog"
	"math"

	"gonum.org/v1/gonum/optimize"
)

// Solution is how an L-BFGS minimisation ended.
type Solution struct {
	X               []float64
	Iterations      int
	FuncEvaluations int
	Status          string
	Loss            float64 // objective value at X
	GradNorm        float64 // ‖∇‖∞ at X
	Converged       bool
}

// Minimize minimises f (gradient g) from x0 with gonum's L-BFGS: it stops
// when ‖∇f‖∞ < gradTol, after maxIter major iterations, when f stops
// changing (absolute and relative 1e-15 over 50 iterations), or when ctx is
// cancelled (an error). A line-search failure at ‖∇f‖∞ ≤ 1e-6 counts as
// converged: function differences have fallen below floating-point
// resolution. Non-convergence is logged as a warning under name and a
// non-finite solution is an error. Logistic regression and the timing
// model's hazard regression both fit through it.
func Minimize(ctx context.Context, name string, f func(x []float64) float64, g func(grad, x []float64),
	x0 []float64, maxIter int, gradTol float64, lg *slog.Logger) (*Solution, error) {
	settings := &optimize.Settings{
		GradientThreshold: gradTol,
		MajorIterations:   maxIter,
		Converger:         &ctxConverger{ctx: ctx, inner: &optimize.FunctionConverge{Absolute: 1e-15, Relative: 1e-15, Iterations: 50}},
	}
	res, err := optimize.Minimize(optimize.Problem{Func: f, Grad: g}, x0, settings, &optimize.LBFGS{})
	if cerr := ctx.Err(); cerr != nil {
		return nil, fmt.Errorf("%s: fit cancelled: %w", name, cerr)
	}
	if err != nil && res == nil {
		return nil, fmt.Errorf("%s: optimiser failed: %w", name, err)
	}
	sol := &Solution{X: res.X, Iterations: res.MajorIterations, FuncEvaluations: res.FuncEvaluations,
		Status: res.Status.String(), Loss: res.F}
	for _, v := range res.Gradient {
		sol.GradNorm = math.Max(sol.GradNorm, math.Abs(v))
	}
	sol.Converged = res.Status == optimize.GradientThreshold || res.Status == optimize.FunctionConvergence ||
		(res.Status == optimize.Failure && sol.GradNorm <= 1e-6)
	switch {
	case !sol.Converged:
		lg.Warn(name+": optimiser stopped before convergence", "status", sol.Status, "iterations", sol.Iterations,
			"grad_norm", sol.GradNorm, "err", err)
	case err != nil:
		lg.Debug(name+": line search ended at a negligible gradient", "iterations", sol.Iterations, "grad_norm", sol.GradNorm)
	}
	for _, v := range res.X {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("%s: optimiser diverged (status %s); try a larger L2", name, sol.Status)
		}
	}
	return sol, nil
}

// ctxConverger stops the optimiser when ctx is cancelled.
type ctxConverger struct {
	ctx   context.Context
	inner optimize.Converger
}

func (c *ctxConverger) Init(dim int) { c.inner.Init(dim) }

func (c *ctxConverger) Converged(l *optimize.Location) optimize.Status {
	if c.ctx.Err() != nil {
		return optimize.RuntimeLimit
	}
	return c.inner.Converged(l)
}

// Softplus is ln(1 + eᶻ), computed without overflow.
func Softplus(z float64) float64 {
	if z > 0 {
		return z + math.Log1p(math.Exp(-z))
	}
	return math.Log1p(math.Exp(z))
}

// Sigmoid is 1 / (1 + e⁻ᶻ), computed without overflow.
func Sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}
