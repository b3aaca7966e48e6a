package quantify

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
)

// Threat is one threat's loss scenario.
type Threat struct {
	ID        string
	Frequency Range // loss events per year, inherent
	Magnitude Range // loss per event, inherent
	// The controls' effect, from the residual model: the share of events
	// that still happen and the share of each loss that remains (0..1).
	ResidualFrequency float64
	ResidualMagnitude float64
}

// Options tune a simulation.
type Options struct {
	Iterations int    // default 100,000
	Seed       uint64 // the same seed gives the same result
	Workers    int    // default GOMAXPROCS
}

// Stats summarise an annual loss distribution.
type Stats struct {
	Mean float64 `json:"mean"`
	P10  float64 `json:"p10"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
}

// ThreatResult is one threat's annualised loss, inherent and residual.
type ThreatResult struct {
	ID       string `json:"id"`
	Inherent Stats  `json:"inherent"`
	Residual Stats  `json:"residual"`
}

// Point is one point of a loss-exceedance curve: the probability that the
// annual loss exceeds Loss.
type Point struct {
	Loss        float64 `json:"loss"`
	Probability float64 `json:"probability"`
}

// Result is a simulation's outcome.
type Result struct {
	Iterations int            `json:"iterations"`
	Seed       uint64         `json:"seed"`
	Threats    []ThreatResult `json:"threats"`
	Inherent   Stats          `json:"inherent"`
	Residual   Stats          `json:"residual"`
	// Loss-exceedance curves of the whole system.
	InherentCurve []Point `json:"inherent_curve"`
	ResidualCurve []Point `json:"residual_curve"`
}

// maxLoss caps one year's loss so that sums never overflow to Inf.
const maxLoss = 1e300

// Simulate runs the Monte Carlo. Each threat has its own random stream,
// derived from the seed and its position, so the result does not depend on
// the number of workers. Inherent and residual share their draws, so the
// residual loss never exceeds the inherent one in any simulated year.
func Simulate(threats []Threat, opt Options) (*Result, error) {
	if opt.Iterations <= 0 {
		opt.Iterations = 100_000
	}
	if opt.Iterations > 10_000_000 {
		return nil, fmt.Errorf("%d iterations is over the limit of 10,000,000", opt.Iterations)
	}
	if opt.Workers <= 0 {
		opt.Workers = runtime.GOMAXPROCS(0)
	}
	for _, t := range threats {
		if err := t.Frequency.Validate(); err != nil {
			return nil, fmt.Errorf("%s: frequency: %v", t.ID, err)
		}
		if err := t.Magnitude.Validate(); err != nil {
			return nil, fmt.Errorf("%s: magnitude: %v", t.ID, err)
		}
		if !(t.ResidualFrequency >= 0 && t.ResidualFrequency <= 1) || !(t.ResidualMagnitude >= 0 && t.ResidualMagnitude <= 1) {
			return nil, fmt.Errorf("%s: control effects must be between 0 and 1", t.ID)
		}
	}
	buildExpNeg()
	n := opt.Iterations
	res := &Result{Iterations: n, Seed: opt.Seed, Threats: make([]ThreatResult, len(threats))}
	// Threat i adds its losses into shard i % shards, in threat order, and the
	// shards are added in order: the sums do not depend on the scheduling.
	shards := min(8, max(1, len(threats)))
	type shard struct {
		mu         sync.Mutex
		inh, resid []float64
		next       int // the next threat index this shard may add
		cond       *sync.Cond
	}
	sh := make([]*shard, shards)
	for s := range sh {
		sh[s] = &shard{inh: make([]float64, n), resid: make([]float64, n), next: s}
		sh[s].cond = sync.NewCond(&sh[s].mu)
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(opt.Workers, max(1, len(threats))) {
		wg.Go(func() {
			inh, resid := make([]float64, n), make([]float64, n)
			for i := range next {
				simulateOne(threats[i], opt.Seed, uint64(i), inh, resid)
				s := sh[i%shards]
				s.mu.Lock()
				for s.next != i {
					s.cond.Wait()
				}
				addCapped(s.inh, inh)
				addCapped(s.resid, resid)
				s.next += shards
				s.cond.Broadcast()
				s.mu.Unlock()
				res.Threats[i] = ThreatResult{ID: threats[i].ID, Inherent: quickStats(inh), Residual: quickStats(resid)}
			}
		})
	}
	for i := range threats {
		next <- i
	}
	close(next)
	wg.Wait()
	total, totalResid := make([]float64, n), make([]float64, n)
	for _, s := range sh {
		addCapped(total, s.inh)
		addCapped(totalResid, s.resid)
	}
	res.Inherent, res.Residual = summarize(total), summarize(totalResid)
	res.InherentCurve, res.ResidualCurve = curve(total), curve(totalResid)
	return res, nil
}

// addCapped adds src to dst element by element, capping each sum at maxLoss.
func addCapped(dst, src []float64) {
	src = src[:len(dst)]
	for k, v := range src {
		if v = dst[k] + v; v > maxLoss {
			v = maxLoss
		}
		dst[k] = v
	}
}

// simulateOne fills one threat's annual losses, inherent and residual.
func simulateOne(t Threat, seed, index uint64, inh, resid []float64) {
	rng := newSource(seed, 0x9e3779b97f4a7c15^index)
	freq, mag := newSampler(t.Frequency), newSampler(t.Magnitude)
	meanM := t.Magnitude.Mean()
	sdM := t.Magnitude.sd()
	rf, rm := t.ResidualFrequency, t.ResidualMagnitude
	for i := range inh {
		events := poisson(rng, freq.draw(rng))
		var a, b float64
		if events <= 64 {
			for range int(events) {
				m := mag.draw(rng)
				a += m
				if rng.float() < rf {
					b += m * rm
				}
			}
		} else {
			// Many events: the sum of their losses is close to normal, and the
			// events that get past the controls are a binomial share.
			a = math.Max(0, events*meanM+math.Sqrt(events)*sdM*rng.norm())
			kept := math.Max(0, math.Round(events*rf+math.Sqrt(events*rf*(1-rf))*rng.norm()))
			kept = math.Min(kept, events)
			b = math.Max(0, kept*meanM+math.Sqrt(kept)*sdM*rng.norm()) * rm
			b = math.Min(b, a)
		}
		if a > maxLoss {
			a = maxLoss
		}
		if b > maxLoss {
			b = maxLoss
		}
		inh[i], resid[i] = a, b
	}
}

// sd is the standard deviation of the range's distribution.
func (r Range) sd() float64 {
	if r.Shape == "lognormal" {
		mu, sigma := r.lognormal()
		return math.Sqrt((math.Exp(sigma*sigma) - 1) * math.Exp(2*mu+sigma*sigma))
	}
	m := r.Mean()
	return math.Sqrt(math.Max(0, (m-r.Min)*(r.Max-m)/7))
}

// summarize computes the mean and percentiles of xs; xs is reordered.
func summarize(xs []float64) Stats {
	if len(xs) == 0 {
		return Stats{}
	}
	sum := 0.0
	for _, x := range xs {
		sum += x
	}
	slices.Sort(xs)
	q := func(p float64) float64 { return xs[min(len(xs)-1, int(p*float64(len(xs))))] }
	return Stats{Mean: math.Min(sum/float64(len(xs)), maxLoss), P10: q(0.10), P50: q(0.50), P90: q(0.90), P99: q(0.99)}
}

// quickStats is summarize without a full sort: the percentiles come from a
// radix selection on the float bits, two linear passes. xs must hold
// non-negative numbers; it is not modified.
func quickStats(xs []float64) Stats {
	n := len(xs)
	if n == 0 {
		return Stats{}
	}
	sum := 0.0
	for _, x := range xs {
		sum += x
	}
	idx := func(p float64) int { return min(n-1, int(p*float64(n))) }
	q := radixSelect(xs, []int{idx(0.10), idx(0.50), idx(0.90), idx(0.99)})
	return Stats{Mean: math.Min(sum/float64(n), maxLoss), P10: q[0], P50: q[1], P90: q[2], P99: q[3]}
}

// radixSelect returns the values a sort would put at the given ranks. For
// non-negative floats the order of the bit patterns is the order of the
// numbers, so a histogram of the top 16 bits finds each rank's bucket, and
// only those buckets are sorted.
func radixSelect(xs []float64, ranks []int) []float64 {
	hist := make([]int32, 1<<16)
	for _, x := range xs {
		hist[math.Float64bits(x)>>48]++
	}
	bucket := make([]int, len(ranks))
	within := make([]int, len(ranks))
	for r, rank := range ranks {
		c := 0
		for b, h := range hist {
			if c+int(h) > rank {
				bucket[r], within[r] = b, rank-c
				break
			}
			c += int(h)
		}
	}
	// Ranks are ascending, so are their buckets; gather each distinct one.
	members := make([][]float64, len(ranks))
	lo, hi := bucket[0], bucket[len(bucket)-1]
	for _, x := range xs {
		b := int(math.Float64bits(x) >> 48)
		if b < lo || b > hi {
			continue
		}
		for r, want := range bucket {
			if b == want {
				members[r] = append(members[r], x)
				break
			}
		}
	}
	out := make([]float64, len(ranks))
	for r, b := range bucket {
		first := r
		for first > 0 && bucket[first-1] == b {
			first--
		}
		m := members[first]
		if first == r {
			slices.Sort(m)
		}
		out[r] = m[within[r]]
	}
	return out
}

// curve samples the exceedance probability at 40 losses spread on a log
// scale across the simulated range; xs must be sorted.
func curve(xs []float64) []Point {
	if len(xs) == 0 {
		return []Point{}
	}
	hi := xs[len(xs)-1]
	lo := xs[len(xs)/100]
	if lo <= 0 {
		lo = hi / 1e4
	}
	if hi <= 0 {
		return []Point{{Loss: 0, Probability: 0}}
	}
	const steps = 40
	out := make([]Point, 0, steps+1)
	ratio := math.Pow(hi/lo, 1.0/steps)
	for i, loss := 0, lo; i <= steps; i, loss = i+1, loss*ratio {
		// The share of simulated years with a loss above this one.
		idx, _ := slices.BinarySearch(xs, math.Nextafter(loss, math.Inf(1)))
		out = append(out, Point{Loss: loss, Probability: float64(len(xs)-idx) / float64(len(xs))})
	}
	return out
}
