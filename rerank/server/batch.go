package server

import (
	"context"
	"time"
)

// batcher gathers queued jobs into micro-batches and runs them.
func (s *Server) batcher() {
	for {
		var first *job
		select {
		case first = <-s.queue:
		case <-s.done:
			return
		}
		jobs := []*job{first}
		n := size(first)
		if s.cfg.MaxWait > 0 && n < s.cfg.MaxBatch {
			timer := time.NewTimer(s.cfg.MaxWait)
		gather:
			for n < s.cfg.MaxBatch {
				select {
				case j := <-s.queue:
					jobs = append(jobs, j)
					n += size(j)
				case <-timer.C:
					break gather
				}
			}
			timer.Stop()
		}
		// Take whatever is queued already, up to the batch size.
	more:
		for n < s.cfg.MaxBatch {
			select {
			case j := <-s.queue:
				jobs = append(jobs, j)
				n += size(j)
			default:
				break more
			}
		}
		s.run(jobs)
	}
}

func size(j *job) int { return max(len(j.pairs), len(j.texts)) }

// run executes jobs grouped by compatible options, one library call per
// group.
func (s *Server) run(jobs []*job) {
	groups := map[string][]*job{}
	var keys []string
	for _, j := range jobs {
		if err := j.ctx.Err(); err != nil {
			j.result <- jobResult{err: err}
			s.wg.Done()
			continue
		}
		if _, ok := groups[j.key]; !ok {
			keys = append(keys, j.key)
		}
		groups[j.key] = append(groups[j.key], j)
	}
	for _, k := range keys {
		g := groups[k]
		s.m.batch(sumSize(g))
		ctx := context.Background()
		if g[0].embed {
			var texts []string
			for _, j := range g {
				texts = append(texts, j.texts...)
			}
			o := g[0].eopts
			o.BatchSize = s.cfg.MaxBatch
			v, err := s.enc.Encode(ctx, texts, o)
			off := 0
			for _, j := range g {
				r := jobResult{err: err}
				if err == nil {
					r.vecs = v[off : off+len(j.texts)]
				}
				off += len(j.texts)
				j.result <- r
				s.wg.Done()
			}
			continue
		}
		var pairs = g[0].pairs
		if len(g) > 1 {
			pairs = nil
			for _, j := range g {
				pairs = append(pairs, j.pairs...)
			}
		}
		o := g[0].ropts
		o.BatchSize = s.cfg.MaxBatch
		sc, err := s.rr.ComputeScore(ctx, pairs, o)
		if err != nil && len(g) > 1 {
			// One request's bad input must not fail the others: rerun alone.
			for _, j := range g {
				sc1, err1 := s.rr.ComputeScore(j.ctx, j.pairs, o)
				j.result <- jobResult{scores: sc1, err: err1}
				s.wg.Done()
			}
			continue
		}
		off := 0
		for _, j := range g {
			r := jobResult{err: err}
			if err == nil {
				r.scores = sc[off : off+len(j.pairs)]
			}
			off += len(j.pairs)
			j.result <- r
			s.wg.Done()
		}
	}
}

func sumSize(g []*job) int {
	n := 0
	for _, j := range g {
		n += size(j)
	}
	return n
}
