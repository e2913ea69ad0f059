package data

// loader.go: batches of one rank's shard of each epoch, with a position a
// checkpoint can store and a resumed run can seek to.

import "fmt"

// Position is where a Loader stands: the epoch and the number of this
// rank's examples of that epoch already handed out. It is what a
// checkpoint stores to resume the data stream.
type Position struct {
	// Epoch is the 0-based epoch.
	Epoch int `json:"epoch"`
	// Index is the number of this rank's examples of Epoch already handed
	// out (a multiple of the batch size except after a KeepLast batch).
	Index int `json:"index"`
}

// LoaderConfig configures a Loader.
type LoaderConfig struct {
	// Seed is the training seed.
	Seed uint64
	// BatchSize is the number of examples per batch (per rank).
	BatchSize int
	// Rank and World are the data-parallel rank and world size (World 0
	// means 1).
	Rank, World int
	// KeepLast hands out a last, smaller batch of an epoch; by default it
	// is dropped (RAG-Retrieval's DataLoader uses drop_last=True).
	KeepLast bool
}

// Loader hands out the batches of one rank, epoch after epoch. It is not
// safe for concurrent use.
type Loader[T any] struct {
	epochFn func(seed uint64, epoch int) []T
	cfg     LoaderConfig
	pos     Position
	shard   []T
	shardOf int
}

// NewLoader returns a loader at {Epoch 0, Index 0} over the examples that
// epochFn (Sampler.Epoch or EmbedSampler.Epoch) gives for each epoch.
func NewLoader[T any](epochFn func(seed uint64, epoch int) []T, cfg LoaderConfig) (*Loader[T], error) {
	if cfg.World == 0 {
		cfg.World = 1
	}
	if cfg.BatchSize < 1 {
		return nil, fmt.Errorf("data: batch size %d: want at least 1", cfg.BatchSize)
	}
	if cfg.World < 1 || cfg.Rank < 0 || cfg.Rank >= cfg.World {
		return nil, fmt.Errorf("data: rank %d of world size %d is invalid", cfg.Rank, cfg.World)
	}
	return &Loader[T]{epochFn: epochFn, cfg: cfg, shardOf: -1}, nil
}

// Position returns the position of the next batch.
func (l *Loader[T]) Position() Position { return l.pos }

// Seek moves to p (a Position saved by a checkpoint): the next batch is the
// one the original run handed out after reaching p. It panics on a
// negative position.
func (l *Loader[T]) Seek(p Position) {
	if p.Epoch < 0 || p.Index < 0 {
		panic(fmt.Sprintf("data: Loader.Seek: negative position %+v", p))
	}
	l.pos = p
}

func (l *Loader[T]) load(epoch int) []T {
	if l.shardOf != epoch {
		l.shard = Shard(l.epochFn(l.cfg.Seed, epoch), l.cfg.Rank, l.cfg.World)
		l.shardOf = epoch
	}
	return l.shard
}

// Epoch returns this rank's examples of an epoch in order.
func (l *Loader[T]) Epoch(epoch int) []T { return l.load(epoch) }

// Batches returns the number of batches of an epoch for this rank.
func (l *Loader[T]) Batches(epoch int) int {
	n := len(l.load(epoch))
	if l.cfg.KeepLast {
		return (n + l.cfg.BatchSize - 1) / l.cfg.BatchSize
	}
	return n / l.cfg.BatchSize
}

// Next returns the next batch of the current epoch and advances. At the
// end of an epoch it returns false and moves to the start of the next
// epoch, so a loop `for b, ok := l.Next(); ok; b, ok = l.Next()` walks one
// epoch.
func (l *Loader[T]) Next() ([]T, bool) {
	sh := l.load(l.pos.Epoch)
	left := len(sh) - l.pos.Index
	if left <= 0 || (left < l.cfg.BatchSize && !l.cfg.KeepLast) {
		l.pos = Position{Epoch: l.pos.Epoch + 1}
		return nil, false
	}
	n := min(left, l.cfg.BatchSize)
	b := sh[l.pos.Index : l.pos.Index+n : l.pos.Index+n]
	l.pos.Index += n
	return b, true
}
