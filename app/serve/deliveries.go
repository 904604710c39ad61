package serve

import (
	"context"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
)

// Deliveries remembers the webhook deliveries accepted lately: a redelivered
// or replayed delivery keeps its X-GitHub-Delivery, and is done once.
type Deliveries interface {
	// Claim records id and reports whether it is new.
	Claim(ctx context.Context, id string) (bool, error)
	// Release forgets id: its delivery was not accepted after all.
	Release(ctx context.Context, id string) error
}

// DeliveriesTTL is how long a delivery id is remembered: GitHub keeps
// deliveries for 3 days (7 on GitHub Enterprise Server).
const DeliveriesTTL = 8 * 24 * time.Hour

// memDeliveriesSize bounds the ids one replica remembers.
const memDeliveriesSize = 200000

// MemDeliveries is Deliveries of one replica, bounded in count and in time.
type MemDeliveries struct {
	mu  sync.Mutex
	ids *expirable.LRU[string, struct{}]
}

// NewMemDeliveries remembers up to 200,000 deliveries for DeliveriesTTL.
func NewMemDeliveries() *MemDeliveries {
	return &MemDeliveries{ids: expirable.NewLRU[string, struct{}](memDeliveriesSize, nil, DeliveriesTTL)}
}

// Claim implements Deliveries; a delivery without an id is always new.
func (m *MemDeliveries) Claim(_ context.Context, id string) (bool, error) {
	if id == "" {
		return true, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ids.Contains(id) {
		return false, nil
	}
	m.ids.Add(id, struct{}{})
	return true, nil
}

// Release implements Deliveries.
func (m *MemDeliveries) Release(_ context.Context, id string) error {
	m.ids.Remove(id)
	return nil
}
