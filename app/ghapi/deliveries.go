package ghapi

import (
	"context"
	"fmt"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/githubapp"
)

// DeliveryAttempt is one attempt of GitHub to deliver a webhook to the app.
type DeliveryAttempt struct {
	ID          int64
	GUID        string // X-GitHub-Delivery, the same for every attempt
	DeliveredAt time.Time
	Redelivery  bool
	StatusCode  int
	Event       string
}

// OK reports whether the app accepted the attempt.
func (d DeliveryAttempt) OK() bool { return d.StatusCode >= 200 && d.StatusCode < 300 }

// ListDeliveries lists the app's delivery attempts since, newest first
// (GitHub keeps 3 days of them, 7 on GitHub Enterprise Server). It pages by
// GitHub's cursor and stops at the first attempt older than since.
func ListDeliveries(ctx context.Context, cc githubapp.ClientCreator, since time.Time) ([]DeliveryAttempt, error) {
	c, err := cc.NewAppClient()
	if err != nil {
		return nil, fmt.Errorf("failed to create the app client: %w", err)
	}
	var out []DeliveryAttempt
	opt := &github.ListCursorOptions{PerPage: PerPage}
	for {
		ds, resp, err := c.Apps.ListHookDeliveries(ctx, opt)
		if err != nil {
			return nil, fmt.Errorf("failed to list the app's webhook deliveries: %w", err)
		}
		for _, d := range ds {
			at := d.GetDeliveredAt().Time
			if at.Before(since) {
				return out, nil
			}
			out = append(out, DeliveryAttempt{ID: d.GetID(), GUID: d.GetGUID(), DeliveredAt: at,
				Redelivery: d.GetRedelivery(), StatusCode: d.GetStatusCode(), Event: d.GetEvent()})
		}
		if resp.Cursor == "" {
			return out, nil
		}
		opt.Cursor = resp.Cursor
	}
}

// Redeliver asks GitHub to send a delivery attempt's payload again; it
// arrives with its original X-GitHub-Delivery.
func Redeliver(ctx context.Context, cc githubapp.ClientCreator, id int64) error {
	c, err := cc.NewAppClient()
	if err != nil {
		return fmt.Errorf("failed to create the app client: %w", err)
	}
	if _, _, err := c.Apps.RedeliverHookDelivery(ctx, id); err != nil {
		// GitHub answers 202 Accepted, which go-github reports as an
		// AcceptedError: the redelivery is on its way.
		if _, ok := err.(*github.AcceptedError); ok {
			return nil
		}
		return fmt.Errorf("failed to redeliver webhook delivery %d: %w", id, err)
	}
	return nil
}
