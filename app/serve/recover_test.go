package serve

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fix-status/fix-status/app/ghapi"
)

func TestToRedeliver(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	attempts := []ghapi.DeliveryAttempt{
		// Newest first, as GitHub lists them.
		{ID: 9, GUID: "c", DeliveredAt: at(9), StatusCode: 503},
		{ID: 8, GUID: "b", DeliveredAt: at(8), StatusCode: 200, Redelivery: true}, // b was redelivered and accepted
		{ID: 7, GUID: "e", DeliveredAt: at(7), StatusCode: 503, Redelivery: true}, // e was redelivered once and failed again
		{ID: 6, GUID: "d", DeliveredAt: at(6), StatusCode: 0},                     // the app was down
		{ID: 5, GUID: "a", DeliveredAt: at(5), StatusCode: 200},
		{ID: 4, GUID: "b", DeliveredAt: at(4), StatusCode: 500},
		{ID: 3, GUID: "e", DeliveredAt: at(3), StatusCode: 0},
		{ID: 2, GUID: "c", DeliveredAt: at(2), StatusCode: 0},
	}
	var got []int64
	for _, a := range toRedeliver(attempts) {
		got = append(got, a.ID)
	}
	// c (its newest attempt) and d, by their first attempts (c at 2, d at
	// 6); a and b were accepted, e was redelivered once already.
	if diff := cmp.Diff([]int64{9, 6}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
